"""Sori's audio stage: configuration, file I/O, spectrograms and batched Griffin-Lim.

Knows nothing of the model or of Korean; waves are float tensors [T] in [-1, 1].
"""

from tts.audio.config import AudioConfig
from tts.audio.errors import AudioConfigError, AudioError
from tts.audio.griffin_lim import griffin_lim
from tts.audio.io import (
    AUDIO_FORMATS,
    AudioFormat,
    encode_audio,
    load_audio,
    save_wav,
    silence_bounds,
    streaming_wav_header,
    trim_silence,
    wav_bytes,
)
from tts.audio.spectrogram import SpectrogramExtractor, denormalize, normalize

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
