"""Benchmark 3: the GPU rows (batch-1 latency and real-time factor, eager vs optimised decoding;
throughput at 1, 8, 32 and 128 concurrent sentences through `Synthesizer.synthesize_many`).

Without CUDA every row says "not measured: no GPU". The measuring code is device-agnostic
(`measure(device)` runs on a CPU too, which is how it is checked here).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from bench.report import Table
from bench.timing import interleave
from bench.voice import bench_voice, sentence
from tts.model import Tacotron
from tts.model.dropout import dropout_mask
from tts.model.layers import lengths_to_mask
from tts.synthesizer import SynthesisOptions, Synthesizer

CONCURRENCY = (1, 8, 32, 128)
NO_GPU = "not measured: no GPU"


def run(rounds: int = 5) -> list[Table]:
    """Measure on CUDA when it is there; otherwise the same tables marked as not measured."""
    if not torch.cuda.is_available():
        return _not_measured()
    with tempfile.TemporaryDirectory() as workdir:
        return measure(torch.device("cuda"), Path(workdir), rounds, CONCURRENCY)


def _not_measured() -> list[Table]:
    latency = Table("GPU: batch-1 latency, model + Griffin-Lim",
                    ["decoding", "latency ms", "RTF"])
    latency.add("eager (one Decoder.step per step, stop checked every step)", NO_GPU, NO_GPU)
    latency.add("optimised (Tacotron.infer)", NO_GPU, NO_GPU)
    throughput = Table("GPU: throughput through synthesize_many",
                       ["sentences", "wall s", "audio s", "x real time"])
    for count in CONCURRENCY:
        throughput.add(count, NO_GPU, NO_GPU, NO_GPU)
    return [latency, throughput]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.inference_mode()
def _eager_infer(model: Tacotron, ids: torch.Tensor, steps: int) -> torch.Tensor:
    """The plain loop the optimised path is measured against. ids [1, T_text] -> linear [1, T_frames, n_freq]."""
    lengths = torch.tensor([ids.size(1)], device=ids.device)
    memory = model.encoder(ids, lengths)
    mask = lengths_to_mask(lengths)
    decoder = model.decoder
    processed = decoder.attention.process_memory(memory)
    state = decoder.initial_state(memory)
    frame = memory.new_zeros(1, decoder.n_mels)
    seeds = torch.zeros(1, dtype=torch.long, device=ids.device)
    frames = []
    for step in range(steps):
        masks = [dropout_mask(seeds, step, layer, width, decoder.prenet_dropout, memory.dtype)
                 for layer, width in enumerate(decoder.prenet.widths)]
        out, stop, state = decoder.step(decoder.prenet(frame, masks), state, memory, processed, mask)
        frames.append(out)
        frame = out[:, -decoder.n_mels:]
        bool(torch.sigmoid(stop)[0] > 2.0)  # the per-step stop check's host sync
    mel = torch.stack(frames, dim=1).reshape(1, -1, decoder.n_mels)
    return model.linear_projection(model.postnet(mel, torch.tensor([mel.size(1)], device=ids.device)))


def measure(device: torch.device, workdir: Path, rounds: int, concurrency: tuple[int, ...]) -> list[Table]:
    """The GPU tables, measured on `device`."""
    voice_dir, description = bench_voice(workdir)
    synthesizer = Synthesizer.load(voice_dir, device=device, max_batch_size=max(concurrency))
    model, audio = synthesizer.model, synthesizer.config.audio
    ids = torch.tensor([synthesizer.analyze(sentence(0))[0][1].ids], device=device)
    steps = 100
    seconds = steps * model.config.reduction_factor * audio.hop_length / audio.sample_rate

    from tts.audio import griffin_lim

    def eager() -> None:
        linear = _eager_infer(model, ids, steps).transpose(1, 2)
        griffin_lim(linear, [linear.size(2)], audio)
        _sync(device)

    def optimised() -> None:
        output = model.infer(ids, torch.tensor([ids.size(1)], device=device), max_steps=steps,
                             stop_threshold=2.0)
        linear = output.linear.transpose(1, 2)
        griffin_lim(linear, [linear.size(2)], audio)
        _sync(device)

    samples = interleave({"eager": eager, "optimised": optimised}, rounds)
    latency = Table(f"{device.type.upper()}: batch-1 latency, model + Griffin-Lim ({steps} steps, "
                    f"{seconds:.2f} s of audio)", ["decoding", "latency ms", "RTF"])
    latency.add("eager (one Decoder.step per step, stop checked every step)",
                f"{samples.median('eager') * 1000:.1f}", f"{samples.median('eager') / seconds:.4f}")
    latency.add("optimised (Tacotron.infer)",
                f"{samples.median('optimised') * 1000:.1f}", f"{samples.median('optimised') / seconds:.4f}")
    latency.notes.append(f"Voice: {description}.")

    throughput = Table(f"{device.type.upper()}: throughput through synthesize_many",
                       ["sentences", "wall s", "audio s", "x real time"])
    options = SynthesisOptions()
    for count in concurrency:
        texts = [sentence(index) for index in range(count)]
        synthesizer.synthesize_many(texts[:1], options)
        start = time.perf_counter()
        results = synthesizer.synthesize_many(texts, options)
        _sync(device)
        wall = time.perf_counter() - start
        audio_seconds = sum(result.duration_seconds for result in results)
        throughput.add(count, f"{wall:.2f}", f"{audio_seconds:.1f}", f"{audio_seconds / wall:.0f}")
    throughput.notes.append(f"Voice: {description}.")
    return [latency, throughput]
