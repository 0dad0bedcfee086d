"""Sori's audio stage: configuration, file I/O, spectrograms and batched Griffin-Lim.

Knows nothing of the model or of Korean; waves are float arrays [T] in [-1, 1]. The configuration
and encoding need no torch (a slim install uses them); spectrograms, Griffin-Lim and reading audio
files are imported on first use (PEP 562).
"""

from typing import TYPE_CHECKING

from tts.audio.config import AudioConfig
from tts.audio.errors import AudioConfigError, AudioError
from tts.audio.io import (
    AUDIO_FORMATS,
    AudioFormat,
    encode_audio,
    save_wav,
    streaming_wav_header,
    wav_bytes,
)
from tts.lazy import LazyNames

if TYPE_CHECKING:
    from tts.audio.griffin_lim import griffin_lim
    from tts.audio.spectrogram import SpectrogramExtractor, denormalize, normalize
    from tts.audio.waves import load_audio, silence_bounds, trim_silence

__all__ = [
    "AUDIO_FORMATS",
    "AudioConfig",
    "AudioConfigError",
    "AudioError",
    "AudioFormat",
    "SpectrogramExtractor",
    "denormalize",
    "encode_audio",
    "griffin_lim",
    "load_audio",
    "normalize",
    "save_wav",
    "silence_bounds",
    "streaming_wav_header",
    "trim_silence",
    "wav_bytes",
]

_LAZY = LazyNames(__name__, globals(), {
    "tts.audio.griffin_lim": ("griffin_lim",),
    "tts.audio.spectrogram": ("SpectrogramExtractor", "denormalize", "normalize"),
    "tts.audio.waves": ("load_audio", "silence_bounds", "trim_silence"),
}, __all__)
"""The public names that need torch (or torchaudio), by module."""
__getattr__ = _LAZY.getattr
__dir__ = _LAZY.dir
