"""Benchmark: the neural vocoder against Griffin-Lim (60 iterations) on the CPU, in one process.

Both rebuild the same frames: the vocoder from the mel [n_mels, T], Griffin-Lim (`tts.audio.griffin_lim`,
the whole stage) from the linear spectrogram [n_freq, T]. The vocoder is the default architecture
(`VocoderConfig()`, 3.6 M parameters) with random weights, since its cost does not depend on their
values; no trained vocoder ships yet. Rows at one thread (the issue's bar: the vocoder's real-time
factor no worse than Griffin-Lim's) and at the run's thread count, batch 1 and batch 8.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from bench.report import Table
from bench.timing import interleave
from tts.audio import AudioConfig, griffin_lim
from tts.vocoder import Vocoder, VocoderConfig

DURATIONS_S = (2.3, 10.0)
BATCHES = (1, 8)


def _candidates(seconds: float, batch: int, audio: AudioConfig,
                vocoder: Vocoder) -> dict[str, Callable[[], object]]:
    """Griffin-Lim and the vocoder on `batch` random spectrograms of `seconds` each."""
    frames = int(seconds * audio.sample_rate / audio.hop_length) + 1
    generator = torch.Generator().manual_seed(0)
    linear = torch.rand(batch, audio.n_freq, frames, generator=generator) ** 2  # [B, n_freq, T]
    mel = torch.rand(batch, frames, audio.n_mels, generator=generator)  # [B, T, n_mels]
    lengths = [frames] * batch

    def vocode() -> object:
        with torch.inference_mode():
            return vocoder.infer(mel, torch.tensor(lengths))

    return {"griffin-lim": lambda: griffin_lim(linear, lengths, audio), "neural": vocode}


def run(rounds: int = 5, threads: tuple[int, ...] = (2, 1)) -> list[Table]:
    """One table: a row per (threads, batch, duration) with medians, real-time factors and the ratio."""
    table = Table(
        "Neural vocoder vs Griffin-Lim (60 iterations), CPU, same frames",
        ["threads", "batch", "audio each", "Griffin-Lim ms", "vocoder ms", "Griffin-Lim RTF", "vocoder RTF",
         "vocoder speed-up (median, range)"],
    )
    audio = AudioConfig()
    torch.manual_seed(0)
    vocoder = Vocoder(VocoderConfig()).eval()
    previous = torch.get_num_threads()
    try:
        for count in threads:
            torch.set_num_threads(count)
            for batch in BATCHES:
                for seconds in DURATIONS_S:
                    samples = interleave(_candidates(seconds, batch, audio, vocoder),
                                         rounds if seconds * batch <= 20 else max(3, rounds // 2))
                    low, high = samples.ratio_spread("neural", "griffin-lim")
                    audio_seconds = seconds * batch
                    table.add(count, batch, f"{seconds:.1f} s",
                              f"{samples.median('griffin-lim') * 1000:.0f}", f"{samples.median('neural') * 1000:.0f}",
                              f"{samples.median('griffin-lim') / audio_seconds:.4f}",
                              f"{samples.median('neural') / audio_seconds:.4f}",
                              f"{samples.ratio('neural', 'griffin-lim'):.2f}x ({low:.2f}-{high:.2f})")
    finally:
        torch.set_num_threads(previous)
    parameters = sum(p.numel() for p in vocoder.parameters()) / 1e6
    table.notes.append(
        f"Vocoder: VocoderConfig() defaults, {parameters:.1f} M parameters, random weights (speed does not "
        "depend on them). RTF = seconds of compute per second of audio; speed-up = Griffin-Lim time / "
        "vocoder time, per interleaved round.")
    return [table]
