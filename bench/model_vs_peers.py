"""Benchmark 1: Sori's Tacotron vs Coqui's Tacotron 1 vs torchaudio's Tacotron 2 on the CPU.

Same input length, same number of output frames (stop disabled), fp32, batch 1, random weights,
all peers in this process, interleaved round by round. Reports ms per decoder step and the
real-time factor (seconds of compute per second of speech) from symbol ids to a waveform, with and
without Griffin-Lim (60 iterations; the peers use torchaudio's, Sori its own).
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable

import torch

from bench.peers import Peer, Workload, coqui_peer, sori_peer, torchaudio_peer
from bench.report import Table
from bench.timing import Samples, interleave

logger = logging.getLogger(__name__)

SORI = "Sori Tacotron 1"


def build_peers(workload: Workload) -> tuple[list[Peer], list[str]]:
    """Every peer that can be built here, and a note for each that cannot (with the reason)."""
    peers = [sori_peer(workload)]
    missing = []
    builders: list[tuple[str, Callable[[Workload], Peer]]] = [
        ("Coqui Tacotron 1", coqui_peer), ("torchaudio Tacotron 2", torchaudio_peer),
    ]
    for name, build in builders:
        try:
            peers.append(build(workload))
        except Exception as error:  # noqa: BLE001 - a missing peer is reported, not fatal
            reason = f"{type(error).__name__}: {error}".splitlines()[0]
            if name.startswith("Coqui"):
                reason = f"coqui-tts unavailable ({reason})"
            missing.append(f"{name}: not measured: {reason}")
            logger.warning("%s not measured: %s", name, reason)
    return peers, missing


def _versus_sori(samples: Samples, name: str) -> str:
    """How many times faster Sori was than `name`: median of the per-round ratios, and their range."""
    if name == SORI:
        return "1 (reference)"
    low, high = samples.ratio_spread(SORI, name)
    return f"{samples.ratio(SORI, name):.2f}x ({low:.2f}-{high:.2f})"


def run(rounds: int = 7, workload: Workload | None = None, threads: tuple[int, ...] = (2,)) -> list[Table]:
    """Time every peer at each intra-op thread count; a decoder-step and a text-to-waveform table each."""
    workload = workload or Workload()
    peers, missing = build_peers(workload)
    tables = []
    for count in threads:
        torch.set_num_threads(count)
        tables.extend(_measure(peers, missing, workload, rounds, count))
    return tables


def _measure(peers: list[Peer], missing: list[str], workload: Workload, rounds: int,
             threads: int) -> list[Table]:
    names = [peer.name for peer in peers]
    steps = Table(
        f"Decoder step, CPU, {threads} thread{'s' if threads > 1 else ''} ({workload.n_tokens} tokens "
        f"-> {workload.n_frames} frames, batch 1, fp32)",
        ["model", "decoder steps", "ms per step (median)", "Sori is faster by (per-round median, range)"],
    )
    decoded = interleave({peer.name: peer.decode for peer in peers}, rounds)
    for peer in peers:
        steps.add(peer.name, peer.decoder_steps,
                  f"{decoded.median(peer.name) * 1000 / peer.decoder_steps:.3f}",
                  _per_step_ratio(decoded, peers, peer))
    steps.notes.extend(missing)
    steps.notes.append("Each model's own autoregressive decoder loop on precomputed encoder outputs; "
                       "ratios compare time per decoder step (Tacotron 2 decodes one frame per step, "
                       "the Tacotron 1 models two).")

    spectra = {peer.name: peer.synthesize() for peer in peers}
    model_only = interleave({peer.name: peer.synthesize for peer in peers}, rounds)
    vocoder = interleave({peer.name: _vocode(peer, spectra[peer.name]) for peer in peers}, rounds)
    whole = interleave({peer.name: _whole(peer) for peer in peers}, rounds)
    seconds = workload.audio_seconds
    waveform = Table(
        f"Text (symbol ids) -> waveform, CPU, {threads} thread{'s' if threads > 1 else ''} "
        f"({seconds:.2f} s of audio, Griffin-Lim {workload.griffin_lim_iters} iterations)",
        ["model", "model ms", "RTF without GL", "GL ms", "model + GL ms", "RTF with GL",
         "Sori faster, without GL", "Sori faster, with GL"],
    )
    for name in names:
        waveform.add(
            name, f"{model_only.median(name) * 1000:.1f}", f"{model_only.median(name) / seconds:.4f}",
            f"{vocoder.median(name) * 1000:.1f}", f"{whole.median(name) * 1000:.1f}",
            f"{whole.median(name) / seconds:.4f}",
            _versus_sori(model_only, name), _versus_sori(whole, name),
        )
    waveform.notes.extend(missing)
    waveform.notes.append(
        "RTF = compute seconds / audio seconds (lower is faster). Model = encoder + decoder + "
        "post-net from symbol ids; GL = Griffin-Lim on the model's spectrogram (Sori: "
        "tts.audio.griffin_lim, the whole stage with de-normalisation and de-emphasis; peers: "
        "torchaudio.functional.griffinlim; Tacotron 2's mel goes through a pseudo-inverse mel "
        "filterbank first). Each column is its own interleaved series, so model + GL need not "
        "equal the sum of the medians.")
    return [steps, waveform]


def _vocode(peer: Peer, spectrum: torch.Tensor) -> Callable[[], object]:
    return lambda: peer.vocode(spectrum)


def _whole(peer: Peer) -> Callable[[], object]:
    return lambda: peer.vocode(peer.synthesize())


def _per_step_ratio(samples: Samples, peers: list[Peer], peer: Peer) -> str:
    """Per-round ratio of time per decoder step, peer / Sori: median and range."""
    if peer.name == SORI:
        return "1 (reference)"
    sori = next(p for p in peers if p.name == SORI)
    ratios = [
        (theirs / peer.decoder_steps) / (ours / sori.decoder_steps)
        for ours, theirs in zip(samples.seconds[SORI], samples.seconds[peer.name], strict=True)
    ]
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"
