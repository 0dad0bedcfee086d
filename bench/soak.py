"""`python -m bench.soak` (`make soak`): load, overload and soak `sori serve` on 127.0.0.1.

Three runs against a fresh `sori serve` each (cache off, so every request is synthesised):
1. load: ramp to 64 closed-loop clients over 20 s and hold until 60 s, mixing /speak, /assistant
   and /v1/audio/speech, with the default queue. Every answer must be 2xx.
2. overload: the same with an 8-request queue, so the server must refuse work; the only non-2xx
   allowed are the designed 503s with Retry-After.
3. soak: 2,000 requests of the same mix from 16 clients; resident memory after the first 200
   answers and at the end (both read once the queue has drained) must differ by less than 10%,
   and the queue must drain to zero.
Then SIGTERM: the server must drain and exit 0. Tables are printed and written to
bench/SOAK_RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import UNSPOKEN, Call, LoadPlan, LoadReport, mixed_call, percentile, run_load
from bench.report import Table, machine_summary, write_results
from bench.served import Served, ServeError, served
from bench.voice import bench_voice

RESULTS = Path(__file__).resolve().parent / "SOAK_RESULTS.md"
SAMPLE_EVERY_S = 0.5
LEAK_LIMIT = 0.10
SOAK_REQUESTS = 2_000
SOAK_WARM_REQUESTS = 200
SOAK_CLIENTS = 16
DRAIN_WAIT_S = 30.0
IDLE_SETTLE_S = 2.0
"""Wait after the queue drains before reading memory: the last batch may still be finishing."""


@dataclass
class Samples:
    """Queue depth and resident memory sampled while a run goes on."""

    depths: list[int] = field(default_factory=list)
    rss_bytes: list[int] = field(default_factory=list)


async def _sample(server: Served, report: LoadReport, samples: Samples, done: asyncio.Event) -> None:
    """Poll /readyz and /proc until the run is done; note the memory once the warm-up count is in."""
    import httpx

    async with httpx.AsyncClient(base_url=server.base_url, timeout=10.0) as client:
        while not done.is_set():
            try:
                response = await client.get("/readyz")
                if response.status_code == 200:
                    samples.depths.append(int(response.json()["queue_depth"]))
            except httpx.HTTPError:
                pass
            samples.rss_bytes.append(server.rss_bytes())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), SAMPLE_EVERY_S)


def _measured(
    server: Served, plan: LoadPlan, call_for: Callable[[int], Call] = mixed_call
) -> tuple[LoadReport, Samples]:
    """Run the plan against the server while sampling it."""

    async def go() -> tuple[LoadReport, Samples]:
        samples = Samples()
        done = asyncio.Event()
        report = LoadReport()
        sampler = asyncio.create_task(_sample(server, report, samples, done))
        loaded = await run_load(server.base_url, plan, call_for, report=report)
        done.set()
        await sampler
        return loaded, samples

    return asyncio.run(go())


def _settled_depth(server: Served) -> int:
    """Queue depth once in-flight work has had time to finish (polled up to DRAIN_WAIT_S)."""
    deadline = time.monotonic() + DRAIN_WAIT_S
    depth = server.queue_depth()
    while depth and time.monotonic() < deadline:
        time.sleep(0.2)
        depth = server.queue_depth()
    return depth


def _route_table(title: str, report: LoadReport, samples: Samples, end_depth: int) -> Table:
    """Per-route and total counts and latency percentiles of one run."""
    table = Table(title, ["route", "requests", "2xx", "designed 503", "errors", "p50 ms", "p95 ms",
                          "p99 ms"])
    for route in [*report.routes(), None]:
        outcomes = [o for o in report.outcomes if route is None or o.route == route]
        latencies = report.latencies(route)
        ok = sum(1 for o in outcomes if 200 <= o.status < 300)
        designed = sum(1 for o in outcomes if o.designed)
        failed = len(outcomes) - ok - designed
        quantiles = [f"{percentile(latencies, q) * 1000:.0f}" if latencies else "-"
                     for q in (0.5, 0.95, 0.99)]
        table.add(route or "**all**", len(outcomes), ok, designed, failed, *quantiles)
    errors = report.errors
    table.notes.append(
        f"{len(report.outcomes)} requests in {report.wall_s:.1f} s ({report.served / report.wall_s:.2f} "
        f"served/s). Errors by status: {dict(sorted(errors.items())) or 'none'} (0 = no HTTP answer, "
        f"{UNSPOKEN} = an /assistant reply that could not be spoken).")
    if samples.depths:
        table.notes.append(f"Queue depth: max {max(samples.depths)} while loaded, {end_depth} after.")
    if samples.rss_bytes:
        table.notes.append(f"Server resident memory: {samples.rss_bytes[0] / 2**20:.0f} MiB at the "
                           f"start, peak {max(samples.rss_bytes) / 2**20:.0f} MiB.")
    return table


def _load(voice_dir: Path, workdir: Path, *, queue_size: int | None, title: str, note: str) -> Table:
    """One ramped 64-client run against a fresh server."""
    settings = {"cache_size": "0"}
    if queue_size is not None:
        settings["queue_size"] = str(queue_size)
    plan = LoadPlan(clients=64, ramp_s=20.0, duration_s=60.0)
    with served(voice_dir, workdir, settings) as server:
        report, samples = _measured(server, plan)
        end_depth = _settled_depth(server)
    table = _route_table(title, report, samples, end_depth)
    table.notes.append(note)
    table.notes.append(_shutdown_note(server))
    verdict = "held" if not report.errors and end_depth == 0 and server.exit_code == 0 else "FAILED"
    table.notes.append(f"Verdict: {verdict} (no error other than designed 503s, queue back to 0, "
                       "clean exit).")
    return table


def _shutdown_note(server: Served) -> str:
    """How the server ended after SIGTERM."""
    seconds = f"{server.stop_seconds:.1f} s" if server.stop_seconds is not None else "n/a"
    return f"SIGTERM afterwards: exit code {server.exit_code}, after {seconds}."


def _soak(voice_dir: Path, workdir: Path) -> Table:
    """2,000 requests; resident memory after the first 200 vs at the end, both taken once the
    queue has drained (the same idle state), so a batch in flight cannot tip either figure."""
    warm_plan = LoadPlan(clients=SOAK_CLIENTS, ramp_s=2.0, duration_s=3_600.0,
                         max_requests=SOAK_WARM_REQUESTS)
    rest_plan = LoadPlan(clients=SOAK_CLIENTS, ramp_s=2.0, duration_s=3_600.0,
                         max_requests=SOAK_REQUESTS - SOAK_WARM_REQUESTS)
    with served(voice_dir, workdir, {"cache_size": "0"}) as server:
        warm_report, warm_samples = _measured(server, warm_plan)
        _settled_depth(server)
        rss_warm = _idle_rss(server)
        rest_report, rest_samples = _measured(
            server, rest_plan, lambda index: mixed_call(index + SOAK_WARM_REQUESTS))
        end_depth = _settled_depth(server)
        rss_end = _idle_rss(server)
    report = LoadReport(warm_report.outcomes + rest_report.outcomes,
                        warm_report.wall_s + rest_report.wall_s)
    samples = Samples(warm_samples.depths + rest_samples.depths,
                      warm_samples.rss_bytes + rest_samples.rss_bytes)
    table = _route_table(f"Soak: {SOAK_REQUESTS:,} requests from {SOAK_CLIENTS} clients", report,
                         samples, end_depth)
    growth = (rss_end - rss_warm) / rss_warm
    table.notes.append(
        f"Resident memory, idle, after the first {SOAK_WARM_REQUESTS} answers: {rss_warm / 2**20:.1f} "
        f"MiB; idle at the end: {rss_end / 2**20:.1f} MiB; change {growth:+.1%} "
        f"(limit ±{LEAK_LIMIT:.0%}).")
    table.notes.append(_shutdown_note(server))
    ok = (abs(growth) < LEAK_LIMIT and end_depth == 0 and not report.errors
          and report.served == SOAK_REQUESTS and server.exit_code == 0)
    table.notes.append(f"Verdict: {'held' if ok else 'FAILED'} (every request served, memory within "
                       f"{LEAK_LIMIT:.0%}, queue back to 0, clean exit).")
    return table


def _idle_rss(server: Served) -> int:
    """Resident memory once the last batch has finished (the worker trims the heap when idle)."""
    time.sleep(IDLE_SETTLE_S)
    return server.rss_bytes()


def _guarded(name: str, run: Callable[[], Table]) -> Table:
    """A run's table, or one saying why it could not be measured."""
    try:
        return run()
    except ServeError as error:
        table = Table(name, ["route"])
        table.notes.append(f"not measured: {error}")
        return table


def main(argv: list[str] | None = None) -> int:
    """Run the chosen parts, print their tables, write bench/SOAK_RESULTS.md on a full run."""
    parts = ("load", "overload", "soak")
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(parts), help="comma-separated parts (default all)")
    parser.add_argument("--results", type=Path, default=None,
                        help=f"Markdown results file (default {RESULTS} on a full run)")
    args = parser.parse_args(argv)
    chosen = [part.strip() for part in args.only.split(",") if part.strip()]
    if unknown := sorted(set(chosen) - set(parts)):
        parser.error(f"unknown parts: {', '.join(unknown)} (known: {', '.join(parts)})")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    machine = machine_summary()
    print("\n".join(f"{key}: {value}" for key, value in machine.items()) + "\n", flush=True)
    tables = []
    with tempfile.TemporaryDirectory() as temp:
        workdir = Path(temp)
        voice_dir, description = bench_voice(workdir)
        runs: dict[str, tuple[str, Callable[[], Table]]] = {
            "load": ("Load: ramp to 64 clients in 20 s, 60 s in all, default queue (256)", lambda: _load(
                voice_dir, workdir, queue_size=None,
                title="Load: ramp to 64 clients in 20 s, 60 s in all, default queue (256)",
                note=f"Voice: {description}; cache off.")),
            "overload": ("Overload: the same with an 8-request queue", lambda: _load(
                voice_dir, workdir, queue_size=8, title="Overload: the same with an 8-request queue",
                note="A client that gets a 503 waits its Retry-After (at most 2 s) and carries on.")),
            "soak": ("Soak", lambda: _soak(voice_dir, workdir)),
        }
        for part in chosen:
            name, run = runs[part]
            table = _guarded(name, run)
            print(table.text(), flush=True)
            tables.append(table)
    target = args.results or (RESULTS if chosen == list(parts) else None)
    if target is not None:
        arguments = shlex.join(argv if argv is not None else sys.argv[1:])
        command = f"`python -m bench.soak {arguments}`" if arguments else "`make soak`"
        write_results(target, command, machine, tables, heading="# Sori load and soak results")
        print(f"results written to {target}")
    failed = any("Verdict: FAILED" in note for table in tables for note in table.notes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
