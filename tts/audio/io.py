"""Writing and encoding audio: 16-bit PCM mono out (WAV, raw PCM, FLAC). No torch here: a slim
install encodes with it; reading and trimming audio live in `tts.audio.waves`.

Waves inside Sori are 1-D float arrays [T] (numpy, or torch tensors on the torch path) in [-1, 1]
at the voice's sample rate.
"""

from __future__ import annotations

import io
import numbers
import os
import wave as wave_module
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import soundfile

from tts.atomic import write_bytes_atomic
from tts.audio.errors import AudioError

if TYPE_CHECKING:
    import torch

AudioFormat = Literal["wav", "pcm", "flac"]
"""Encodings of `encode_audio`: WAV (16-bit PCM mono), raw s16le PCM, or FLAC (16-bit)."""

AUDIO_FORMATS: tuple[AudioFormat, ...] = ("wav", "pcm", "flac")


def encode_audio(wave: torch.Tensor | np.ndarray, sample_rate: int, fmt: AudioFormat) -> bytes:
    """Encode a mono wave [T] as 16-bit WAV, raw s16le PCM or FLAC bytes (clipped to [-1, 1])."""
    _check_sample_rate(sample_rate)
    samples = _quantize(wave)
    if fmt == "wav":
        buffer = io.BytesIO()
        with wave_module.open(buffer, "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(int(sample_rate))
            writer.writeframes(samples.tobytes())
        return buffer.getvalue()
    if fmt == "pcm":
        return samples.tobytes()
    if fmt == "flac":
        buffer = io.BytesIO()
        soundfile.write(buffer, samples, int(sample_rate), format="FLAC", subtype="PCM_16")
        return buffer.getvalue()
    raise AudioError(f"unknown audio format {fmt!r}; expected one of {', '.join(AUDIO_FORMATS)}")


UNKNOWN_LENGTH = 0xFFFFFFFF
"""The RIFF and data sizes of a WAV whose length is not known when its header is sent: the
largest a 32-bit field holds, which players reading a stream take as "until the end"."""


def streaming_wav_header(sample_rate: int) -> bytes:
    """The 44-byte header of a 16-bit PCM mono WAV of unknown length, for audio sent as it is made;
    the s16le samples (encode_audio(..., "pcm")) follow it."""
    _check_sample_rate(sample_rate)
    byte_rate = int(sample_rate) * 2
    return (
        b"RIFF" + UNKNOWN_LENGTH.to_bytes(4, "little") + b"WAVE"
        + b"fmt " + (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
        + int(sample_rate).to_bytes(4, "little") + byte_rate.to_bytes(4, "little")
        + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
        + b"data" + UNKNOWN_LENGTH.to_bytes(4, "little")
    )


def wav_bytes(wave: torch.Tensor | np.ndarray, sample_rate: int) -> bytes:
    """A complete 16-bit PCM mono WAV file in memory (for HTTP responses)."""
    return encode_audio(wave, sample_rate, "wav")


def save_wav(
    path: str | os.PathLike[str], wave: torch.Tensor | np.ndarray, sample_rate: int
) -> Path:
    """Write a mono wave [T] as a 16-bit PCM WAV file, atomically; returns the path."""
    return write_bytes_atomic(path, wav_bytes(wave, sample_rate))


def _quantize(wave: torch.Tensor | np.ndarray) -> np.ndarray:
    """Clip a mono float wave [T] to [-1, 1] and round it to little-endian int16 samples."""
    if hasattr(wave, "detach"):  # a torch tensor (torch itself is not imported: a slim install has none)
        array = wave.detach().cpu().float().numpy()
    elif isinstance(wave, np.ndarray):
        array = wave.astype(np.float32, copy=False)
    else:
        raise AudioError(f"expected a torch.Tensor or numpy array, got {type(wave).__name__}")
    if array.ndim != 1:
        raise AudioError(f"expected a mono wave [T], got shape {array.shape}")
    if not np.isfinite(array).all():
        raise AudioError("wave contains NaN or infinite samples")
    scaled = np.clip(array, -1.0, 1.0) * 32767.0
    return np.round(scaled).astype("<i2")


def _check_sample_rate(sample_rate: int) -> None:
    """Reject sample rates that are not positive integers."""
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, numbers.Integral)
        or sample_rate <= 0
    ):
        raise AudioError(f"sample rate must be a positive integer, got {sample_rate!r}")
