"""Benchmark: the neural vocoder against Griffin-Lim (60 iterations), in one process, CPU or GPU.

Both rebuild the same frames: the vocoder from the mel [n_mels, T], Griffin-Lim (`tts.audio.griffin_lim`,
the whole stage) from the linear spectrogram [n_freq, T]. The vocoder is the default architecture
(`VocoderConfig()`, 3.6 M parameters) with random weights, since its cost does not depend on their
values; no trained vocoder ships yet. On the CPU, rows at one thread (the issue's bar: the
vocoder's real-time factor no worse than Griffin-Lim's) and at the run's thread count, batch 1 and
8; on CUDA batch 1, 8 and 64, Griffin-Lim replaying its captured graphs as the Synthesizer does.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from bench.report import Table
from bench.timing import interleave
from tts.audio import AudioConfig, griffin_lim
from tts.audio.griffin_lim_graph import GriffinLimGraphs
from tts.vocoder import Vocoder, VocoderConfig

DURATIONS_S = (2.3, 10.0)
BATCHES = {"cpu": (1, 8), "cuda": (1, 8, 64)}


def _candidates(seconds: float, batch: int, audio: AudioConfig, vocoder: Vocoder,
                graphs: GriffinLimGraphs | None) -> dict[str, Callable[[], object]]:
    """Griffin-Lim and the vocoder on `batch` random spectrograms of `seconds` each, on the
    vocoder's device (each call waits for the device to finish)."""
    device = next(vocoder.parameters()).device
    frames = int(seconds * audio.sample_rate / audio.hop_length) + 1
    generator = torch.Generator().manual_seed(0)
    linear = (torch.rand(batch, audio.n_freq, frames, generator=generator) ** 2).to(device)  # [B, n_freq, T]
    mel = torch.rand(batch, frames, audio.n_mels, generator=generator).to(device)  # [B, T, n_mels]
    lengths = [frames] * batch

    def finished(value: object) -> object:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return value

    def vocode() -> object:
        with torch.inference_mode():
            return finished(vocoder.infer(mel, torch.tensor(lengths, device=device)))

    def invert() -> object:
        return finished(griffin_lim(linear, lengths, audio, graphs=graphs))

    return {"griffin-lim": invert, "neural": vocode}


def run(rounds: int = 5, threads: tuple[int, ...] = (2, 1), device: str = "cpu") -> list[Table]:
    """One table: a row per (threads, batch, duration) with medians, real-time factors and the ratio."""
    on_cuda = torch.device(device).type == "cuda"
    table = Table(
        f"Neural vocoder vs Griffin-Lim (60 iterations), {'GPU' if on_cuda else 'CPU'}, same frames",
        ["threads", "batch", "audio each", "Griffin-Lim ms", "vocoder ms", "Griffin-Lim RTF", "vocoder RTF",
         "vocoder speed-up (median, range)"],
    )
    audio = AudioConfig()
    torch.manual_seed(0)
    vocoder = Vocoder(VocoderConfig()).to(device).eval()
    graphs = GriffinLimGraphs() if on_cuda else None
    previous = torch.get_num_threads()
    try:
        for count in threads[:1] if on_cuda else threads:
            torch.set_num_threads(count)
            for batch in BATCHES["cuda" if on_cuda else "cpu"]:
                for seconds in DURATIONS_S:
                    samples = interleave(_candidates(seconds, batch, audio, vocoder, graphs),
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
