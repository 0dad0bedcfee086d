"""Benchmark 3: the GPU rows.

- the decoder step at batch 1, 8 and 64: eager (`Decoder.reference_infer`, stop checked every step),
  fast (`fast_decode`) and CUDA graphs (`tts.model.graph_decode`), with how far graphs and fast differ;
- batch-1 latency and real-time factor, model + Griffin-Lim, for the demo voice and a default-size
  r = 2 voice, with and without graphs;
- throughput through `Synthesizer.synthesize_many` at 1, 8, 32, 64 and 128 sentences;
- first audio for a short sentence, in process and through HTTP, and `sori serve --device cuda`
  under 1, 8 and 64 clients (requests/s, x real time, p50/p95).
Training frames/s per precision and with graphs are in bench/training.py.

Without CUDA every table says "not measured: no GPU". The measuring code is device-agnostic
(`decoder_steps(device)` and friends run on a CPU too, which is how the tests check them).
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import statistics
import tempfile
import time
import wave
from collections.abc import Callable
from pathlib import Path

import torch

from bench import streaming
from bench.loadgen import percentile
from bench.report import Table
from bench.timing import interleave
from bench.voice import RANDOM_VOICE, bench_voice, random_voice, sentence
from tts.model import Tacotron, TacotronConfig
from tts.model.layers import lengths_to_mask
from tts.synthesizer import SynthesisOptions, Synthesizer

BATCHES = (1, 8, 64)
CONCURRENCY = (1, 8, 32, 64, 128)
CLIENTS = (1, 8, 64)
SHORT = "안녕하세요."
NO_GPU = "not measured: no GPU"


def run(rounds: int = 5) -> list[Table]:
    """Measure on CUDA when it is there; otherwise the same tables marked as not measured."""
    if not torch.cuda.is_available():
        return _not_measured()
    device = torch.device("cuda")
    with tempfile.TemporaryDirectory() as workdir:
        return [
            decoder_steps(device, rounds, BATCHES),
            latency(device, Path(workdir), rounds),
            throughput(device, Path(workdir), CONCURRENCY),
            *served_tables(device, Path(workdir), CLIENTS),
            *streaming.run(rounds, device="cuda"),
        ]


def _not_measured() -> list[Table]:
    tables = [
        Table("GPU: decoder step (default model, 60 symbols, 200 steps)",
              ["batch", "eager ms/step", "fast ms/step", "graphs ms/step", "graphs vs fast"]),
        Table("GPU: batch-1 latency, model + Griffin-Lim", ["voice", "decoding", "latency ms", "RTF"]),
        Table("GPU: throughput through synthesize_many",
              ["sentences", "graphs: wall s", "x real time", "no graphs: wall s", "x real time"]),
        Table("GPU: first audio for a short sentence", ["path", "p50 ms", "p95 ms"]),
        Table("GPU: sori serve under load", ["clients", "requests", "requests/s", "x real time",
                                             "p50 ms", "p95 ms"]),
        Table("GPU: streaming, time to first audio of a four-sentence text", streaming.COLUMNS),
    ]
    tables[0].columns.append("max |graphs - fast|")
    tables[0].add(*(["-"] + [NO_GPU] * 5))
    tables[1].columns.insert(3, "audio s")
    tables[1].add("-", "-", NO_GPU, NO_GPU, NO_GPU)
    for count in CONCURRENCY:
        tables[2].add(count, *([NO_GPU] * 4))
    tables[3].add("-", NO_GPU, NO_GPU)
    for clients in CLIENTS:
        tables[4].add(clients, *([NO_GPU] * 5))
    tables[5].add("-", NO_GPU, NO_GPU, NO_GPU)
    tables[-1].notes.append("The last GPU measurements are in bench/GPU_RESULTS.md.")
    return tables


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def decoder_steps(device: torch.device, rounds: int, batches: tuple[int, ...], steps: int = 200) -> Table:
    """ms per decoder step, eager vs fast vs graphs, for the default model at each batch size."""
    table = Table(f"{device.type.upper()}: decoder step (default model, 60 symbols, {steps} steps)",
                  ["batch", "eager ms/step", "fast ms/step", "graphs ms/step", "graphs vs fast",
                   "max |graphs - fast|"])
    torch.manual_seed(0)
    model = Tacotron(TacotronConfig(n_symbols=80)).to(device).eval()
    for batch in batches:
        table.add(*_decoder_step_row(model, batch, device, rounds, steps))
    table.notes.append("Graphs replay chunks of 8 steps; the first call per bucket captures (untimed warm-up).")
    return table


def _decoder_step_row(model: Tacotron, batch: int, device: torch.device, rounds: int, steps: int) -> list[str]:
    """One row of the decoder-step table."""
    decoder = model.decoder
    ids = torch.randint(1, 80, (batch, 60), device=device)
    lengths = torch.full((batch,), 60, device=device)
    with torch.inference_mode():
        memory = model.encoder(ids, lengths)
    mask = lengths_to_mask(lengths, 60)
    limits = torch.full((batch,), steps, device=device)
    seeds = torch.arange(batch, device=device)

    def decode(graphs: bool) -> Callable[[], torch.Tensor]:
        def call() -> torch.Tensor:
            with torch.inference_mode():
                output = decoder.infer(memory, mask, limits, seeds, 2.0, cuda_graphs=graphs)[0]
            _sync(device)
            return output.mel

        return call

    def eager() -> None:
        with torch.inference_mode():
            decoder.reference_infer(memory, mask, limits, seeds, 2.0)
        _sync(device)

    candidates = {"eager": eager, "fast": decode(False), "graphs": decode(True)}
    samples = interleave(candidates, rounds)
    difference = float((decode(True)() - decode(False)()).abs().max())
    per_step = {name: samples.median(name) * 1000 / steps for name in candidates}
    return [str(batch), f"{per_step['eager']:.3f}", f"{per_step['fast']:.3f}", f"{per_step['graphs']:.3f}",
            f"{samples.ratio('graphs', 'fast'):.1f}x", f"{difference:.1e}"]


def latency(device: torch.device, workdir: Path, rounds: int, steps: int = 100) -> Table:
    """Batch-1 model + Griffin-Lim for a fixed number of steps, with and without graphs."""
    table = Table(f"{device.type.upper()}: batch-1 latency, model + Griffin-Lim ({steps} steps)",
                  ["voice", "decoding", "latency ms", "audio s", "RTF"])
    demo_dir, demo_description = bench_voice(workdir)
    voices = {"demo": Synthesizer.load(demo_dir, device=device),
              "default size, random": Synthesizer.load(random_voice(workdir), device=device)}
    for label, synthesizer in voices.items():
        for row in _latency_rows(label, synthesizer, device, rounds, steps):
            table.add(*row)
    table.notes.append(f"demo: {demo_description}; default size, random: {RANDOM_VOICE}.")
    return table


def _latency_rows(
    label: str, synthesizer: Synthesizer, device: torch.device, rounds: int, steps: int
) -> list[list[str]]:
    """The fast and graphs rows of one voice in the latency table."""
    from tts.audio import griffin_lim

    model, audio = synthesizer.model, synthesizer.config.audio
    if label == "demo":
        ids = torch.tensor([synthesizer.analyze(sentence(0))[0][1].ids], device=device)
    else:  # its frontend needs g2pk; random weights speak random symbols just as well
        ids = torch.randint(1, model.config.n_symbols, (1, 30), device=device)
    seconds = steps * model.config.reduction_factor * audio.hop_length / audio.sample_rate

    def speak(graphs: bool) -> Callable[[], None]:
        def call() -> None:
            output = model.infer(ids, torch.tensor([ids.size(1)], device=device), max_steps=steps,
                                 stop_threshold=2.0, cuda_graphs=graphs)
            linear = output.linear.transpose(1, 2)
            griffin_lim(linear, [linear.size(2)], audio)
            _sync(device)

        return call

    samples = interleave({"fast": speak(False), "graphs": speak(True)}, rounds)
    return [[label, name, f"{samples.median(name) * 1000:.1f}", f"{seconds:.2f}",
             f"{samples.median(name) / seconds:.4f}"] for name in ("fast", "graphs")]


def throughput(device: torch.device, workdir: Path, concurrency: tuple[int, ...]) -> Table:
    """Sentences spoken together through synthesize_many, with and without graphs."""
    table = Table(f"{device.type.upper()}: throughput through synthesize_many",
                  ["sentences", "graphs: wall s", "x real time", "no graphs: wall s", "x real time"])
    voice_dir, description = bench_voice(workdir)
    options = SynthesisOptions()
    cells: dict[int, list[str]] = {count: [] for count in concurrency}
    for graphs in (True, False):
        synthesizer = Synthesizer.load(voice_dir, device=device, max_batch_size=max(concurrency),
                                       cuda_graphs=graphs)
        for count in concurrency:
            texts = [sentence(index) for index in range(count)]
            synthesizer.synthesize_many(texts, options)  # warm-up: captures this batch's buckets
            walls = []
            for _ in range(3):
                start = time.perf_counter()
                results = synthesizer.synthesize_many(texts, options)
                _sync(device)
                walls.append(time.perf_counter() - start)
            wall = statistics.median(walls)
            audio_seconds = sum(result.duration_seconds for result in results)
            cells[count] += [f"{wall:.3f}", f"{audio_seconds / wall:.0f}"]
    for count in concurrency:
        table.add(count, *cells[count])
    table.notes.append(f"Voice: {description}; median of 3 runs after a warm-up run.")
    return table


def in_process_first_audio(device: torch.device, voice_dir: Path, repeats: int = 30) -> list[float]:
    """Seconds to speak SHORT through `Synthesizer.synthesize`, after a warm-up."""
    synthesizer = Synthesizer.load(voice_dir, device=device)
    synthesizer.synthesize(SHORT)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        synthesizer.synthesize(SHORT)
        times.append(time.perf_counter() - start)
    return times


SERVED_MODES: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "in process": ({}, ()),
    "inference processes": ({"inference_processes": "true"}, ()),
    "Ray Serve, 1 model replica": ({}, ("--ray", "--replicas", "1")),
}
"""`sori serve` three ways, side by side: the model in the server process, in a child process, and
in a Ray Serve model replica (on a GPU: the GPU) behind Serve's proxy and the ingress."""


def served_tables(device: torch.device, workdir: Path, clients: tuple[int, ...], repeats: int = 40) -> list[Table]:
    """First audio in process and over HTTP, then `sori serve --device cuda` under load."""
    from bench.served import ServeError

    voice_dir, description = bench_voice(workdir)
    name = device.type.upper()
    first = Table(f"{name}: first audio for a short sentence", ["path", "p50 ms", "p95 ms"])
    local = in_process_first_audio(device, voice_dir, repeats)
    first.add(f"in process, Synthesizer.synthesize({SHORT!r})", f"{statistics.median(local) * 1000:.1f}",
              f"{percentile(local, 0.95) * 1000:.1f}")
    load = Table(f"{name}: sori serve under load", ["synthesis", "clients", "requests", "requests/s",
                                                   "x real time", "p50 ms", "p95 ms"])
    for mode, (extra, options) in SERVED_MODES.items():
        if "--ray" in options and importlib.util.find_spec("ray") is None:
            load.notes.append(f"{mode}: not measured: Ray is not installed here (the sori[ray] extra)")
            continue
        try:
            _serve_mode(first, load, voice_dir, workdir, device, mode, extra, options, clients, repeats)
        except (ServeError, RuntimeError) as error:  # keep the other modes' rows
            load.notes.append(f"{mode}: not measured: {error}")
    for table in (first, load):
        table.notes.append(f"Voice: {description}; `sori serve --device {device.type}`, cache off, "
                           f"distinct sentences (the short one repeated for first audio). \"inference "
                           "processes\": SORI_INFERENCE_PROCESSES=true, the model in a child process; "
                           "Ray Serve: `sori serve --ray --replicas 1`, a local cluster.")
    return [first, load]


def _serve_mode(first: Table, load: Table, voice_dir: Path, workdir: Path, device: torch.device, mode: str,
                extra: dict[str, str], options: tuple[str, ...], clients: tuple[int, ...], repeats: int) -> None:
    """One `sori serve` (SERVED_MODES): first audio over HTTP, then load."""
    from bench.served import served

    with served(voice_dir, workdir, {"device": device.type, "cache_size": "0", **extra}, options) as server:
        single = asyncio.run(_clients(server.base_url, 1, repeats, lambda _: SHORT))[1]
        first.add(f"POST /speak over HTTP (one client, cache off, {mode})",
                  f"{statistics.median(single) * 1000:.1f}", f"{percentile(single, 0.95) * 1000:.1f}")
        offset = 0
        for count in clients:
            total = max(repeats, 6 * count)
            wall, latencies, audio_seconds = asyncio.run(
                _clients(server.base_url, count, total, _numbered(offset)))
            offset += total
            load.add(mode, count, len(latencies), f"{len(latencies) / wall:.1f}", f"{audio_seconds / wall:.0f}",
                     f"{statistics.median(latencies) * 1000:.0f}", f"{percentile(latencies, 0.95) * 1000:.0f}")


def _numbered(offset: int) -> Callable[[int], str]:
    """Request index -> a distinct sentence, counting from `offset`."""
    return lambda index: sentence(offset + index)


async def _clients(
    base_url: str, concurrency: int, total: int, text: Callable[[int], str]
) -> tuple[float, list[float], float]:
    """`total` POST /speak from `concurrency` closed-loop clients -> (wall s, latencies, audio s)."""
    import httpx

    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    audio = [0.0]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120.0) as client:

        async def one(index: int) -> None:
            async with gate:
                start = time.perf_counter()
                response = await client.post("/speak", json={"text": text(index)})
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - start)
                    with wave.open(io.BytesIO(response.content)) as reader:
                        audio[0] += reader.getnframes() / reader.getframerate()

        started = time.perf_counter()
        await asyncio.gather(*(one(index) for index in range(total)))
        wall = time.perf_counter() - started
    if not latencies:
        raise RuntimeError(f"no request succeeded at concurrency {concurrency}")
    return wall, latencies, audio[0]
