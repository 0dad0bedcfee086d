"""Benchmark 4: `sori serve` under load, on 127.0.0.1 only.

Starts `sori serve` on a free loopback port (cache off, so every request is synthesised), waits
until /readyz answers, then for each concurrency level sends a bounded number of POST /speak
requests with distinct short sentences through an async httpx client holding at most that many in
flight. Each level stops by itself: after its request count, or at its deadline, whichever comes
first. Reports requests/s, its ratio to the single-client level measured in the same run, and
p50/p95/p99 latency, then stops the server.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.loadgen import percentile
from bench.report import Table
from bench.served import HOST, ServeError, served
from bench.voice import bench_voice, sentence

LEVELS = (1, 8, 16, 32)
LEVEL_DEADLINE_S = 120.0


def requests_for(concurrency: int) -> int:
    """How many requests one level sends: enough to fill the pipeline a few times over (and
    about two seconds of one client, so the reference level is not a handful of requests)."""
    return 3 * concurrency + 16


async def load_level(base_url: str, concurrency: int, offset: int) -> tuple[float, list[float], Counter[int]]:
    """One concurrency level -> (wall seconds, latencies of 200 responses, status counts)."""
    import httpx

    total = requests_for(concurrency)
    deadline = time.perf_counter() + LEVEL_DEADLINE_S
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=LEVEL_DEADLINE_S) as client:

        async def one(index: int) -> None:
            async with gate:
                if time.perf_counter() > deadline:
                    statuses[0] += 1  # not sent: the level ran out of time
                    return
                start = time.perf_counter()
                try:
                    response = await client.post("/speak", json={"text": sentence(offset + index)})
                except httpx.HTTPError:
                    statuses[-1] += 1
                    return
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(one(index) for index in range(total)))
        return time.perf_counter() - start, latencies, statuses


MODES = {"in process": {}, "inference processes": {"inference_processes": "true"}}
"""How the worker threads synthesise: in the server process, or each in its own child process."""


def serve_levels(table: Table, base_url: str, mode: str, levels: tuple[int, ...]) -> None:
    """Every concurrency level against one running server, a row each."""
    offset = 0
    single: float | None = None  # requests/s of the one-client level, the reference
    for concurrency in levels:
        wall, latencies, statuses = asyncio.run(load_level(base_url, concurrency, offset))
        offset += requests_for(concurrency)
        other = ", ".join(f"{code or 'not sent'}: {n}" for code, n in sorted(statuses.items())
                          if code != 200) or "-"
        rate = len(latencies) / wall
        if concurrency == 1:
            single = rate
        ratio = f"{rate / single:.2f}x" if single else "-"
        if latencies:
            table.add(mode, concurrency, sum(statuses.values()), len(latencies), f"{rate:.2f}", ratio,
                      *(f"{percentile(latencies, q) * 1000:.0f}" for q in (0.5, 0.95, 0.99)), other)
        else:
            table.add(mode, concurrency, sum(statuses.values()), 0, "0", ratio, "-", "-", "-", other)


def run(levels: tuple[int, ...] = LEVELS, modes: tuple[str, ...] = tuple(MODES)) -> list[Table]:
    """Serve, load, report, once per mode; a note saying why when a server cannot be started."""
    table = Table(f"Server under load: POST /speak against sori serve on {HOST} (CPU)",
                  ["synthesis", "concurrency", "requests", "ok", "requests/s", "x one client", "p50 ms",
                   "p95 ms", "p99 ms", "other statuses"])
    with tempfile.TemporaryDirectory() as workdir:
        voice_dir, description = bench_voice(Path(workdir))
        for mode in modes:
            try:
                with served(voice_dir, Path(workdir), {"cache_size": "0", **MODES[mode]}) as server:
                    serve_levels(table, server.base_url, mode, levels)
            except ServeError as error:
                table.notes.append(f"{mode}: not measured: {error}")
        table.notes.append(
            f"Voice: {description}. Cache off (SORI_CACHE_SIZE=0) and a distinct sentence per "
            "request, so every request is synthesised; latencies are of 200 responses, from send "
            "to the last byte. p99 of fewer than 100 requests is their maximum. Default serving "
            "settings: on a CPU one worker thread per core (SORI_CPU_WORKERS), batches of at most "
            "SORI_CPU_MAX_BATCH_SIZE requests of similar length. \"inference processes\": the same with "
            "SORI_INFERENCE_PROCESSES=true, each worker thread synthesising in its own child process.")
        for mode in modes:
            rates = [float(row[4]) for row in table.rows if row[0] == mode]
            if rates:
                table.notes.append(f"{mode}: median throughput over the levels {statistics.median(rates):.2f} "
                                   "requests/s.")
    return [table]
