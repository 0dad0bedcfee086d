"""Batched Griffin-Lim: normalised linear spectrograms -> waveforms, on the input's device.

One torchaudio Griffin-Lim call runs over the whole padded batch. Each item's frames past its
length, plus a few extra frames, are set to silence before the call, so every item ends in the
same silence whatever the batch holds: a batch gives each item (within float tolerance) the
waveform it would get alone. Phases start at zero (rand_init=False), so synthesis is
deterministic and a cache can trust repeated requests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
import torchaudio.functional as AF

from tts.audio.config import AudioConfig
from tts.audio.errors import AudioError
from tts.audio.spectrogram import denormalize


def silence_margin_frames(config: AudioConfig) -> int:
    """Silent frames appended after every item: enough that no window reaching into the item
    also reaches the reflect-padded end of the batch (n_fft / hop_length, rounded up)."""
    return math.ceil(config.n_fft / config.hop_length)


def sharpen(magnitude: torch.Tensor, config: AudioConfig) -> torch.Tensor:
    """Raise magnitudes to griffin_lim_power relative to the top of the range (max_amplitude).

    Equivalent to Tacotron's `magnitude ** power` up to a constant gain, chosen so the loudest
    possible bin keeps its level: every level below the top is expanded in dB by the power.
    """
    top = config.max_amplitude
    return top * torch.pow(magnitude / top, config.griffin_lim_power)


def deemphasize(wave: torch.Tensor, config: AudioConfig) -> torch.Tensor:
    """Undo pre-emphasis, y[n] = x[n] + a * y[n-1], along the last axis [..., T] -> [..., T]."""
    if config.preemphasis == 0:
        return wave
    a_coeffs = torch.tensor([1.0, -config.preemphasis], dtype=wave.dtype, device=wave.device)
    b_coeffs = torch.tensor([1.0, 0.0], dtype=wave.dtype, device=wave.device)
    # clamp=False: torchaudio would otherwise clip silently to [-1, 1]; encoding clips later.
    return AF.lfilter(wave, a_coeffs, b_coeffs, clamp=False)


def griffin_lim(
    linear: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    config: AudioConfig,
) -> list[torch.Tensor]:
    """Invert a padded batch of normalised linear spectrograms in one Griffin-Lim call.

    linear: [B, n_freq, T_frames] in [0, 1] (values outside are clipped), on any device.
    lengths: [B] valid frames per item (1..T_frames); frames beyond are ignored.
    Returns B de-emphasised waves, item i of shape [lengths[i] * hop_length], on linear's device.
    """
    frame_counts = _check(linear, lengths, config)
    if not frame_counts:
        return []
    n_frames = linear.shape[2]
    total = n_frames + silence_margin_frames(config)
    valid = torch.tensor(frame_counts, device=linear.device)  # [B]
    keep = torch.arange(total, device=linear.device)[None, :] < valid[:, None]  # [B, total]
    padded = F.pad(linear, (0, total - n_frames), value=0.0)  # [B, n_freq, total]
    padded = padded.masked_fill(~keep[:, None, :], 0.0)
    if not torch.isfinite(padded).all():
        raise AudioError("griffin_lim got NaN or infinite values within the items' lengths")
    magnitude = sharpen(denormalize(padded, config), config)  # [B, n_freq, total]
    window = torch.hann_window(config.win_length, dtype=linear.dtype, device=linear.device)
    waves = AF.griffinlim(
        magnitude,
        window=window,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        win_length=config.win_length,
        power=1.0,
        n_iter=config.griffin_lim_iters,
        momentum=config.griffin_lim_momentum,
        length=None,
        rand_init=False,
    )  # [B, (total - 1) * hop_length]
    # De-emphasis is causal, so filtering the padded batch equals filtering each trimmed item.
    waves = deemphasize(waves, config)
    return [waves[i, : count * config.hop_length].clone() for i, count in enumerate(frame_counts)]


def _check(
    linear: torch.Tensor, lengths: torch.Tensor | Sequence[int], config: AudioConfig
) -> list[int]:
    """Validate the batch and return the lengths as Python ints."""
    if not isinstance(linear, torch.Tensor) or linear.dim() != 3:
        shape = tuple(linear.shape) if isinstance(linear, torch.Tensor) else type(linear).__name__
        raise AudioError(f"griffin_lim expects linear [B, n_freq, T_frames], got {shape}")
    if linear.shape[1] != config.n_freq:
        raise AudioError(
            f"griffin_lim expects {config.n_freq} frequency bins (n_fft // 2 + 1), "
            f"got {linear.shape[1]}"
        )
    if not linear.is_floating_point():
        raise AudioError(f"griffin_lim expects a floating-point spectrogram, got {linear.dtype}")
    if isinstance(lengths, torch.Tensor):
        if lengths.dim() != 1 or lengths.is_floating_point():
            raise AudioError(f"lengths must be a 1-D integer tensor [B], got {lengths}")
        counts = [int(value) for value in lengths.tolist()]
    else:
        counts = [int(value) for value in lengths]
    if len(counts) != linear.shape[0]:
        raise AudioError(f"got {len(counts)} lengths for a batch of {linear.shape[0]}")
    bad = [count for count in counts if not 1 <= count <= linear.shape[2]]
    if bad:
        raise AudioError(f"lengths must lie in 1..{linear.shape[2]} (T_frames), got {bad}")
    return counts
