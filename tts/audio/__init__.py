"""Sori's audio stage: configuration, file I/O, spectrograms and batched Griffin-Lim.

Knows nothing of the model or of Korean; waves are float arrays [T] in [-1, 1]. The configuration
and encoding need no torch (a slim install uses them); spectrograms, Griffin-Lim and reading audio
files are imported on first use (PEP 562).
"""

import importlib
from typing import TYPE_CHECKING, Any

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

_MODULE_OF = {
    "griffin_lim": "tts.audio.griffin_lim",
    "SpectrogramExtractor": "tts.audio.spectrogram",
    "denormalize": "tts.audio.spectrogram",
    "normalize": "tts.audio.spectrogram",
    "load_audio": "tts.audio.waves",
    "silence_bounds": "tts.audio.waves",
    "trim_silence": "tts.audio.waves",
}
"""The public names that need torch (or torchaudio), with their modules."""


def __getattr__(name: str) -> Any:
    """A public name whose module needs torch, imported on its first use."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, including those not imported yet."""
    return sorted({*globals(), *__all__})
