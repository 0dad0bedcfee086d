"""`python -m bench`: run the benchmarks, print their tables, write bench/RESULTS.md.

A full run writes bench/RESULTS.md (atomically); a partial run (--only) writes only when given
--results. Threads are fixed (default 2) before anything is timed, and idle OpenMP threads sleep
(OMP_WAIT_POLICY=PASSIVE unless set): on a shared machine, spinning threads that lose their core
make every multi-threaded kernel wait for a time slice, which swamps what is being measured.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTIONS = ("model", "griffin-lim", "vocoder", "gpu", "server", "served-vocoder", "streaming", "training",
            "bulk", "onnx", "cluster")


def _runners(rounds: int, threads: int) -> dict[str, Callable[[], list]]:
    from bench import (
        bulk,
        cluster,
        gpu,
        griffin_lim_vs_librosa,
        model_vs_peers,
        onnx_runtime,
        served_vocoder,
        server_load,
        streaming,
        training,
        vocoder_speed,
    )

    both = tuple(sorted({threads, 1}, reverse=True))
    return {
        # Also at one thread: on a busy shared machine multi-threaded kernels wait on descheduled
        # workers, and the single-thread series shows the work itself.
        "model": lambda: model_vs_peers.run(rounds, threads=both),
        "griffin-lim": lambda: griffin_lim_vs_librosa.run(max(3, rounds - 2)),
        "vocoder": lambda: vocoder_speed.run(max(3, rounds - 2), threads=both),
        "gpu": lambda: gpu.run(rounds),
        "server": lambda: server_load.run(),
        "served-vocoder": lambda: served_vocoder.run(),
        "streaming": lambda: streaming.run(rounds),
        "training": lambda: training.run(3, threads=both),
        # In process against Ray Data with 2 actors (bench/bulk.py; alone: python -m bench.bulk).
        "bulk": lambda: bulk.run(),
        "onnx": lambda: onnx_runtime.run(rounds, threads=both),
        # sori serve, --inference-processes and Ray Serve side by side (alone: python -m bench.cluster).
        "cluster": lambda: cluster.run(),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the chosen sections in order, print and record the results."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections (default all: {','.join(SECTIONS)})")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timed rounds (default 7)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--results", type=Path, default=None,
                        help=f"where to write the Markdown results (default {RESULTS} on a full run)")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections: {', '.join(unknown)} (known: {', '.join(SECTIONS)})")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Random-weight voices fail the attention check on every sentence; that is expected here.
    logging.getLogger("tts.synthesizer").setLevel(logging.ERROR)

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when torch loads OpenMP, below
    import torch

    from bench.report import machine_summary, write_results

    torch.set_num_threads(args.threads)
    machine = machine_summary()
    machine["threads"] = f"{args.threads} (OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']})"
    print("\n".join(f"{key}: {value}" for key, value in machine.items()) + "\n", flush=True)
    runners = _runners(args.rounds, args.threads)
    tables = []
    for name in chosen:
        torch.set_num_threads(args.threads)
        for table in runners[name]():
            print(table.text(), flush=True)
            tables.append(table)
    target = args.results or (RESULTS if chosen == list(SECTIONS) else None)
    if target is not None:
        arguments = shlex.join(argv if argv is not None else sys.argv[1:])
        command = f"`python -m bench {arguments}`" if arguments else (
            "`make bench` (runs `python -m bench` in .venv-bench)")
        write_results(target, command, machine, tables)
        print(f"results written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
