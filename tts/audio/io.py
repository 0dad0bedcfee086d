"""Reading, writing and encoding audio: any WAV/FLAC in, 16-bit PCM mono out.

Waves inside Sori are 1-D float tensors [T] in [-1, 1] at the voice's sample rate.
"""

from __future__ import annotations

import io
import numbers
import os
import wave as wave_module
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile
import torch
import torch.nn.functional as F
import torchaudio.functional as AF

from tts.atomic import write_bytes_atomic
from tts.audio.config import AudioConfig
from tts.audio.errors import AudioError

AudioFormat = Literal["wav", "pcm", "flac"]
"""Encodings of `encode_audio`: WAV (16-bit PCM mono), raw s16le PCM, or FLAC (16-bit)."""

AUDIO_FORMATS: tuple[AudioFormat, ...] = ("wav", "pcm", "flac")


def load_audio(path: str | os.PathLike[str], sample_rate: int) -> torch.Tensor:
    """Read a WAV/FLAC file as mono float32 [T] at sample_rate (channels averaged, resampled)."""
    _check_sample_rate(sample_rate)
    source = Path(path)
    if not source.exists():
        raise AudioError(f"{source}: no such file")
    if not source.is_file():
        raise AudioError(f"{source}: not a regular file")
    try:
        data, file_rate = soundfile.read(str(source), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        raise AudioError(f"{source}: cannot read audio ({error})") from error
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise AudioError(f"{source}: contains no samples")
    if not np.isfinite(data).all():
        raise AudioError(f"{source}: contains NaN or infinite samples")
    mono = torch.from_numpy(np.ascontiguousarray(data.mean(axis=1, dtype=np.float32)))  # [T]
    if file_rate != sample_rate:
        mono = AF.resample(mono, orig_freq=int(file_rate), new_freq=int(sample_rate))
    return mono.contiguous()


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


def trim_silence(wave: torch.Tensor, config: AudioConfig) -> torch.Tensor:
    """Cut leading and trailing audio more than config.trim_top_db below the loudest frame.

    Returns wave[start:end] with the bounds of `silence_bounds`; an all-silent wave comes back
    empty, for the caller to report.
    """
    start, end = silence_bounds(wave, config)
    return wave[start:end]


def silence_bounds(wave: torch.Tensor, config: AudioConfig) -> tuple[int, int]:
    """Sample span (start, end) of a mono wave [T] that is not leading or trailing silence.

    Frames are win_length long and centred every hop_length samples; a frame is silent when its
    RMS is more than trim_top_db below the loudest frame's. The span runs from the centre of the
    first loud frame to the end of the hop after the last one; (0, 0) when everything is silent.
    """
    if not isinstance(wave, torch.Tensor) or wave.dim() != 1:
        shape = tuple(wave.shape) if isinstance(wave, torch.Tensor) else type(wave).__name__
        raise AudioError(f"expected a mono wave [T], got {shape}")
    if wave.numel() == 0:
        return 0, 0
    half = config.win_length // 2
    padded = F.pad(wave.unsqueeze(0), (half, half)).squeeze(0)  # [T + 2 * half]
    frames = padded.unfold(0, config.win_length, config.hop_length)  # [T // hop + 1, win]
    rms = frames.double().pow(2).mean(dim=-1).sqrt()  # [frames]
    peak = rms.max()
    if peak <= 0:
        return 0, 0
    level_db = 20.0 * torch.log10(torch.clamp(rms / peak, min=1e-12))
    loud = torch.nonzero(level_db > -config.trim_top_db).squeeze(-1)
    start = int(loud[0]) * config.hop_length
    end = min(wave.numel(), (int(loud[-1]) + 1) * config.hop_length)
    return start, end


def _quantize(wave: torch.Tensor | np.ndarray) -> np.ndarray:
    """Clip a mono float wave [T] to [-1, 1] and round it to little-endian int16 samples."""
    if isinstance(wave, torch.Tensor):
        array = wave.detach().to(device="cpu", dtype=torch.float32).numpy()
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
