"""Benchmark: bulk synthesis (`sori synthesize-batch`) in process against Ray Data with 2 workers.

Speaks the same lines (the bootstrap corpus's own sentences: recipes/espeak_ko's everyday
sentences, then the constitution's, never the evaluation set) with the bundled voice on the CPU,
three ways into fresh directories: in process with one worker, in process with two worker
threads, and on a local Ray cluster (started by the run on 127.0.0.1) with two actors. Reports
sentences/s of each and whether every run wrote the same files with the same bytes as the first.

    python -m bench.bulk [--lines 1000] [--workers 2] [--results bench/BULK_RESULTS.md] [--note TEXT]
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Table, add_note_argument

RESULTS = Path(__file__).resolve().parent / "BULK_RESULTS.md"
COLUMNS = ["run", "workers", "lines spoken", "wall s (with start-up)", "synthesis s", "sentences/s",
           "same files and bytes as in process, 1 worker"]


def bootstrap_lines(count: int) -> list[str]:
    """The first `count` distinct sentences of the bootstrap corpus's own sources (everyday, then
    the constitution's), as the espeak-ng recipe reads them."""
    from recipes.espeak_ko.sentences import MAX_CHARS, everyday_sentences, law_sentences

    lines = list(dict.fromkeys([*everyday_sentences(), *law_sentences(MAX_CHARS)]))
    if len(lines) < count:
        raise ValueError(f"the bootstrap sources hold {len(lines)} distinct sentences, fewer than {count}")
    return lines[:count]


def _files(out: Path) -> dict[str, bytes]:
    """Every WAV of a run's output by name."""
    return {path.name: path.read_bytes() for path in sorted((out / "wavs").iterdir())}


def run(lines: int = 1000, workers: int = 2) -> list[Table]:
    """Time the three runs on the same lines; one table."""
    from tts.bulk import BulkOptions, run_bulk
    from tts.voice_discovery import default_voice_dir

    table = Table(f"Bulk synthesis: {lines} lines of the bootstrap corpus, bundled voice, CPU", COLUMNS)
    voice = default_voice_dir()
    runs: list[tuple[str, int, bool]] = [("in process", 1, False), ("in process (threads)", workers, False),
                                         ("Ray Data (local cluster)", workers, True)]
    with tempfile.TemporaryDirectory(prefix="sori-bench-bulk-") as workdir:
        sentences = Path(workdir) / "sentences.txt"
        sentences.write_text("\n".join(bootstrap_lines(lines)) + "\n", encoding="utf-8")
        reference: dict[str, bytes] | None = None
        for index, (name, count, on_ray) in enumerate(runs):
            if on_ray and importlib.util.find_spec("ray") is None:
                table.add(name, count, "-", "-", "-", "-", 'not measured: Ray is not installed ("sori[ray]")')
                continue
            out = Path(workdir) / f"run{index}"
            started = time.perf_counter()
            report = run_bulk(sentences, out, BulkOptions(voice_dir=voice, device="cpu", workers=count, ray=on_ray))
            wall = time.perf_counter() - started
            files = _files(out)
            same = "(reference)" if reference is None else (
                "yes" if files == reference else
                f"NO: {sum(files.get(k) != v for k, v in reference.items())} of {len(reference)} differ")
            reference = files if reference is None else reference
            stats = report["this_run"]
            table.add(name, count, report["spoken"], f"{wall:.1f}", f"{stats['synthesis_seconds']:.1f}",
                      f"{stats['sentences_per_second']:.2f}", same)
    table.notes += [
        "sentences/s = lines spoken / synthesis seconds (from the first batch handed out to the last "
        "file written: for Ray this includes starting the actors and loading the voice in each); the "
        "wall time adds loading the voice in process, or starting and stopping the local cluster.",
        "Batches of 16 lines of similar length, each decoded on one intra-op thread, so all runs "
        "decode the same batches with the same kernels: the WAVs are compared byte for byte.",
        "Two cores: two workers (threads or actors) can at most double one worker's rate; the point "
        "is the path and its overhead.",
    ]
    return [table]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its table and write the results file."""
    parser = argparse.ArgumentParser(prog="python -m bench.bulk", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1000, help="lines to speak (default 1000)")
    parser.add_argument("--workers", type=int, default=2, help="threads / Ray actors (default 2)")
    parser.add_argument("--results", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    add_note_argument(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("tts.synthesizer").setLevel(logging.ERROR)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from bench.report import machine_summary, write_results

    machine = machine_summary(args.note)
    tables = run(args.lines, args.workers)
    for table in tables:
        print(table.text(), flush=True)
    arguments = shlex.join(argv if argv is not None else sys.argv[1:])
    command = "python -m bench.bulk" + (f" {arguments}" if arguments else "")
    write_results(args.results, f"`{command}`", machine, tables, heading="# Sori bulk synthesis benchmark")
    print(f"results written to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
