"""Benchmark: one client's latency of `sori serve` with each vocoder of the bundled voice, on 127.0.0.1.

Starts `sori serve` with the bundled voice (cache off, so every request is synthesised), then one
client sends short distinct sentences to POST /speak one at a time, alternating `"vocoder":
"neural"` and `"vocoder": "griffin-lim"` so both meet the same load on a shared machine. Reports
p50/p95 latency per vocoder (send to last byte) and the ratio of the p50s.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.loadgen import percentile
from bench.report import Table
from bench.served import HOST, ServeError, served
from bench.voice import sentence
from tts import VoiceError, default_voice_dir
from tts.voice_format import read_voice_config

VOCODERS = ("neural", "griffin-lim")
REQUESTS_PER_VOCODER = 40
WARMUP_REQUESTS = 2
"""Untimed requests per vocoder first (first-call allocations, lazy imports)."""


def _latencies(base_url: str, requests: int) -> dict[str, list[float]]:
    """Seconds per 200 response for each vocoder, requests alternating between them."""
    import httpx

    timed: dict[str, list[float]] = {name: [] for name in VOCODERS}
    with httpx.Client(base_url=base_url, timeout=120.0) as client:
        for index in range(WARMUP_REQUESTS + requests):
            for offset, vocoder in enumerate(VOCODERS):
                body = {"text": sentence(2 * index + offset), "vocoder": vocoder}
                start = time.perf_counter()
                response = client.post("/speak", json=body)
                elapsed = time.perf_counter() - start
                if response.status_code != 200:
                    raise ServeError(f"POST /speak with {vocoder} answered {response.status_code}: "
                                     f"{response.text[:200]}")
                if index >= WARMUP_REQUESTS:
                    timed[vocoder].append(elapsed)
    return timed


def run(requests: int = REQUESTS_PER_VOCODER) -> list[Table]:
    """Serve the bundled voice, time one client per vocoder, report; a note when it cannot run."""
    table = Table(f"One client, short sentences: POST /speak against sori serve on {HOST} (CPU), per vocoder",
                  ["vocoder", "requests", "p50 ms", "p95 ms", "p50 / Griffin-Lim's"])
    try:
        voice_dir = default_voice_dir()
        has_vocoder = read_voice_config(voice_dir).vocoder is not None
    except VoiceError as error:
        table.notes.append(f"not measured: no bundled voice ({error})")
        return [table]
    if not has_vocoder:
        table.notes.append(f"not measured: the bundled voice at {voice_dir} has no neural vocoder")
        return [table]
    with tempfile.TemporaryDirectory() as workdir:
        try:
            with served(voice_dir, Path(workdir), {"cache_size": "0"}) as server:
                timed = _latencies(server.base_url, requests)
        except ServeError as error:
            table.notes.append(f"not measured: {error}")
            return [table]
    reference = percentile(timed["griffin-lim"], 0.5)
    for name in VOCODERS:
        p50 = percentile(timed[name], 0.5)
        table.add(name, len(timed[name]), f"{p50 * 1000:.0f}", f"{percentile(timed[name], 0.95) * 1000:.0f}",
                  f"{p50 / reference:.2f}")
    table.notes.append(
        f"Voice: the bundled demo voice ({voice_dir.name}) and its neural vocoder. Cache off "
        f"(SORI_CACHE_SIZE=0), a distinct short sentence per request (bench/voice.py), one request at a "
        f"time alternating the two vocoders, after {WARMUP_REQUESTS} untimed requests each; latency from "
        "send to the last byte of the WAV. Default serving settings otherwise.")
    return [table]
