"""Reading audio files and trimming silence (torch): any WAV/FLAC in, a mono float tensor [T] out."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile
import torch
import torch.nn.functional as F
import torchaudio.functional as AF

from tts.audio.config import AudioConfig
from tts.audio.errors import AudioError
from tts.audio.io import _check_sample_rate


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
