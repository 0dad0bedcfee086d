"""Benchmark 2: Sori's Griffin-Lim vs librosa's (and torchaudio's) on the CPU.

5 s and 20 s of audio, 30 and 60 iterations, zero-phase start and momentum 0.99 for all three,
interleaved round by round. Sori's row is the whole `tts.audio.griffin_lim` stage (de-normalise,
sharpen, iterate, de-emphasise); the peers run only their iteration, so the comparison is, if
anything, unfair to Sori.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import torch
import torchaudio.functional as AF

from bench.report import Table
from bench.timing import interleave
from tts.audio import AudioConfig, griffin_lim

DURATIONS_S = (5.0, 20.0)
ITERATIONS = (30, 60)


def _candidates(normalized: torch.Tensor, config: AudioConfig) -> dict[str, Callable[[], object]]:
    """The three implementations on one normalised spectrogram [1, n_freq, T] (peers get magnitudes)."""
    import librosa

    magnitude = torch.pow(10.0, (normalized * 100.0 - 80.0) / 20.0)
    magnitude_np = magnitude[0].numpy().astype(np.float32)
    window = torch.hann_window(config.win_length)
    return {
        "sori": lambda: griffin_lim(normalized, [normalized.size(2)], config),
        "librosa": lambda: librosa.griffinlim(
            magnitude_np, n_iter=config.griffin_lim_iters, hop_length=config.hop_length,
            win_length=config.win_length, n_fft=config.n_fft, window="hann", center=True,
            momentum=config.griffin_lim_momentum, init=None,
        ),
        "torchaudio": lambda: AF.griffinlim(
            magnitude, window, config.n_fft, config.hop_length, config.win_length, 1.0,
            config.griffin_lim_iters, config.griffin_lim_momentum, None, False,
        ),
    }


def run(rounds: int = 5) -> list[Table]:
    """One table: a row per (duration, iterations) with medians and Sori's speed-ups."""
    table = Table(
        "Griffin-Lim, CPU (n_fft 1024, hop 256, batch 1)",
        ["audio", "iterations", "Sori ms", "librosa ms", "torchaudio ms",
         "Sori vs librosa (median, range)", "Sori vs torchaudio (median, range)"],
    )
    base = AudioConfig()
    generator = torch.Generator().manual_seed(0)
    for seconds in DURATIONS_S:
        frames = int(seconds * base.sample_rate / base.hop_length) + 1
        normalized = torch.rand(1, base.n_freq, frames, generator=generator) ** 2  # [1, n_freq, T]
        for iterations in ITERATIONS:
            candidates = _candidates(normalized, dataclasses.replace(base, griffin_lim_iters=iterations))
            samples = interleave(candidates, rounds if seconds <= 5 else max(3, rounds // 2))
            versus = [
                f"{samples.ratio('sori', peer):.2f}x "
                f"({samples.ratio_spread('sori', peer)[0]:.2f}-{samples.ratio_spread('sori', peer)[1]:.2f})"
                for peer in ("librosa", "torchaudio")
            ]
            table.add(f"{seconds:.0f} s", iterations,
                      *(f"{samples.median(name) * 1000:.1f}" for name in candidates), *versus)
    table.notes.append(
        "librosa.griffinlim with init=None (zero phase) and torchaudio.functional.griffinlim with "
        "rand_init=False, both at momentum 0.99 like Sori; per-round ratios are peer time / Sori time.")
    return [table]
