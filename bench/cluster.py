"""Benchmark: `sori serve` against the same service on Ray Serve, on one CPU machine, in one run.

Four servers on 127.0.0.1, one at a time, each with the cache off: `sori serve` (worker threads in
its process), `sori serve --inference-processes` (each worker thread synthesising in a child
process), and `sori serve --ray` with 1 and with 2 model replicas (a local Ray cluster started by
the command). For each, requests/s and p50/p95/p99 at 1/8/16/32 clients (bench/server_load.py's
load). Then `sori serve` and Ray with 2 replicas run side by side, and in alternation: one client's
latency for a short sentence (Ray's added latency), and the first audio of a streamed four-sentence
text (bench/streaming.py's texts). Last, a model replica is SIGKILLed under 16 clients: what each
request got, none hung, and how long until the service answered again.

On two cores the replicas cannot add throughput; the point is the path and its overhead.

    python -m bench.cluster [--levels 1,8,16,32] [--rounds 15] [--results bench/CLUSTER_RESULTS.md] [--note TEXT]
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from bench.processes import descendants
from bench.report import Table, add_note_argument
from bench.served import HOST, Served, ServeError, served
from bench.server_load import LEVELS, serve_levels
from bench.streaming import TEXTS, _timed
from bench.voice import bench_voice, sentence

RESULTS = Path(__file__).resolve().parent / "CLUSTER_RESULTS.md"
TIMEOUT_S = 120.0
KILL_CLIENTS = 16
REQUEST_TIMEOUT_S = 60.0
"""The servers' request timeout (SORI_REQUEST_TIMEOUT_S's default): a request not answered
within it (plus a margin) counts as hung."""

MODES: dict[str, tuple[str, ...]] = {
    "sori serve": (),
    "sori serve --inference-processes": ("--inference-processes",),
    "Ray Serve, 1 model replica": ("--ray", "--replicas", "1"),
    "Ray Serve, 2 model replicas": ("--ray", "--replicas", "2"),
}


def throughput(voice_dir: Path, workdir: Path, levels: tuple[int, ...]) -> Table:
    """Every mode under 1..32 clients, one server at a time."""
    table = Table(f"Throughput: POST /speak, sori serve against Ray Serve on {HOST} (CPU)",
                  ["server", "clients", "requests", "ok", "requests/s", "x one client", "p50 ms",
                   "p95 ms", "p99 ms", "other statuses"])
    for mode, options in MODES.items():
        try:
            with served(voice_dir, workdir, {"cache_size": "0"}, options) as server:
                serve_levels(table, server.base_url, mode, levels)
        except ServeError as error:
            table.notes.append(f"{mode}: not measured: {error}")
    table.notes.append(
        "Cache off (SORI_CACHE_SIZE=0), a distinct short sentence per request, latencies of 200 "
        "responses from send to last byte; default serving settings otherwise. `sori serve` on a CPU "
        "runs one worker thread per core (here 2), each batch on one intra-op thread; a Ray model "
        "replica reserves one CPU and synthesises on one thread, so one replica has half the "
        "in-process server's synthesis threads and two replicas the same number.")
    return table


def _one(client: object, body: dict[str, object]) -> float:
    """Seconds for one whole POST /speak."""
    first, total = _timed(client, body, 44)
    return total


def side_by_side(local: Served, ray: Served, rounds: int) -> list[Table]:
    """One client: a short sentence, then a streamed four-sentence text, alternating servers."""
    import httpx

    latency = Table("Ray's added latency: one client, a short sentence (POST /speak, whole)",
                    ["server", "requests", "p50 ms", "p95 ms", "Ray p50 - sori serve p50 ms"])
    first_audio = Table("First audio of a streamed four-sentence text, one client",
                        ["server", "rounds", "first audio ms (median)", "total ms (median)",
                         "Ray / sori serve (first audio)"])
    servers = {"sori serve": local, "Ray Serve, 2 model replicas": ray}
    short: dict[str, list[float]] = {name: [] for name in servers}
    streamed: dict[str, list[tuple[float, float]]] = {name: [] for name in servers}
    with ExitStack() as stack:
        clients = {name: stack.enter_context(httpx.Client(base_url=server.base_url, timeout=TIMEOUT_S))
                   for name, server in servers.items()}
        for client in clients.values():  # warm-up: first-call costs out of the way
            _one(client, {"text": "준비 운동입니다."})
            _timed(client, {"text": " ".join(TEXTS[0]), "stream": True, "response_format": "pcm"}, 0)
        names = list(servers)
        for index in range(rounds * 4):
            for name in names if index % 2 == 0 else names[::-1]:
                short[name].append(_one(clients[name], {"text": sentence(10_000 + index)}))
        for index in range(rounds):
            text = " ".join(TEXTS[index % len(TEXTS)])
            for name in names if index % 2 == 0 else names[::-1]:
                streamed[name].append(_timed(clients[name], {"text": text, "stream": True,
                                                             "response_format": "pcm"}, 0))
    from bench.loadgen import percentile

    base = statistics.median(short["sori serve"])
    base_first = statistics.median(first for first, _ in streamed["sori serve"])
    for name in servers:
        p50 = statistics.median(short[name])
        latency.add(name, len(short[name]), f"{p50 * 1000:.0f}", f"{percentile(short[name], 0.95) * 1000:.0f}",
                    "-" if name == "sori serve" else f"{(p50 - base) * 1000:+.0f}")
        first = statistics.median(value for value, _ in streamed[name])
        total = statistics.median(value for _, value in streamed[name])
        first_audio.add(name, len(streamed[name]), f"{first * 1000:.0f}", f"{total * 1000:.0f}",
                        "-" if name == "sori serve" else f"{first / base_first:.2f}")
    latency.notes.append(
        "Both servers up at once (each idle while the other answers), requests alternating between "
        "them, a distinct sentence each (cache off). Bar: Ray's p50 at most 15 ms above sori serve's.")
    first_audio.notes.append(
        f"bench/streaming.py's four-sentence texts, streamed as pcm; first audio is the first audio "
        f"byte. Alternating servers, {rounds} rounds. Bar: Ray at most 1.3 x sori serve.")
    return [latency, first_audio]


def _model_replicas(server: Served) -> list[int]:
    """The server's Ray model replica processes."""
    found = []
    for pid in descendants(server.pid):
        try:
            if b"SpeechModel" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def killed_replica(ray: Served) -> Table:
    """SIGKILL one model replica under KILL_CLIENTS clients; what they got, and the way back."""
    import httpx

    table = Table(f"A model replica SIGKILLed under {KILL_CLIENTS} clients (Ray Serve, 2 model replicas)",
                  ["requests", "200", "503", "other", "hung", "slowest s", "served again after s",
                   "replaced after s"])
    replicas = _model_replicas(ray)
    if len(replicas) != 2:
        table.notes.append(f"not measured: {len(replicas)} model replica processes found, expected 2")
        return table

    def timed(index: int) -> tuple[int, float]:
        started = time.monotonic()
        try:
            code = httpx.post(f"{ray.base_url}/speak", json={"text": sentence(20_000 + index)},
                              timeout=REQUEST_TIMEOUT_S + 30).status_code
        except httpx.TimeoutException:
            code = 0
        return code, time.monotonic() - started

    with ThreadPoolExecutor(KILL_CLIENTS) as pool:
        futures = [pool.submit(timed, index) for index in range(KILL_CLIENTS)]
        time.sleep(0.5)
        os.kill(replicas[0], signal.SIGKILL)
        killed = time.monotonic()
        answers = [future.result() for future in futures]
    served_again = replaced = None
    index = 0
    while time.monotonic() - killed < TIMEOUT_S and (served_again is None or replaced is None):
        if served_again is None:
            index += 1
            if httpx.post(f"{ray.base_url}/speak", json={"text": sentence(30_000 + index)},
                          timeout=TIMEOUT_S).status_code == 200:
                served_again = time.monotonic() - killed
        if replaced is None:
            now = _model_replicas(ray)
            if len(now) == 2 and replicas[0] not in now:
                replaced = time.monotonic() - killed
        time.sleep(0.2)
    codes = Counter(code for code, _ in answers)
    table.add(len(answers), codes[200], codes[503], sum(n for c, n in codes.items() if c not in (0, 200, 503)),
              codes[0], f"{max(seconds for _, seconds in answers):.1f}",
              "-" if served_again is None else f"{served_again:.1f}",
              "-" if replaced is None else f"{replaced:.1f}")
    table.notes.append(
        f"{KILL_CLIENTS} distinct sentences sent at once, one of the two model replica processes "
        "SIGKILLed 0.5 s later. Hung: no answer within the request timeout (60 s) plus 30 s. Served "
        "again: the first 200 for a new request after the kill; replaced: Serve's new replica process "
        "seen.")
    return table


def run(levels: tuple[int, ...] = LEVELS, rounds: int = 15) -> list[Table]:
    """The throughput table, then the side-by-side and the killed replica."""
    with tempfile.TemporaryDirectory() as workdir:
        voice_dir, description = bench_voice(Path(workdir))
        tables = [throughput(voice_dir, Path(workdir), levels)]
        try:
            with served(voice_dir, Path(workdir), {"cache_size": "0"}) as local, \
                    served(voice_dir, Path(workdir), {"cache_size": "0"}, MODES["Ray Serve, 2 model replicas"]) as ray:
                tables.extend(side_by_side(local, ray, rounds))
                tables.append(killed_replica(ray))
        except ServeError as error:
            tables.append(Table("Side by side", ["-"], notes=[f"not measured: {error}"]))
    for table in tables:
        table.notes.append(f"Voice: {description}.")
    return tables


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print its tables and write the results file."""
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)), help="client counts (default 1,8,16,32)")
    parser.add_argument("--rounds", type=int, default=15, help="one-client rounds per server (default 15)")
    parser.add_argument("--results", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    add_note_argument(parser)
    args = parser.parse_args(argv)
    levels = tuple(int(level) for level in args.levels.split(",") if level.strip())
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from bench.report import machine_summary, write_results

    machine = machine_summary(args.note)
    tables = run(levels, args.rounds)
    for table in tables:
        print(table.text(), flush=True)
    arguments = shlex.join(list(argv) if argv is not None else sys.argv[1:])
    command = "python -m bench.cluster" + (f" {arguments}" if arguments else "")
    write_results(args.results, f"`{command}`", machine, tables, heading="# Sori on Ray Serve against sori serve")
    print(f"results written to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
