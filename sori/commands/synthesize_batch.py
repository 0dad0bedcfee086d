"""`sori synthesize-batch SENTENCES.txt --out DIR`: one WAV per line and a KSS-layout transcript,
resumable, in process or across a Ray cluster (`--ray`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `synthesize-batch` subcommand."""
    parser = subparsers.add_parser(
        "synthesize-batch", help="speak a file of sentences into a KSS-layout corpus",
        description="Speak every non-empty line of SENTENCES.txt into DIR/wavs/<line number>.wav, "
                    "with a KSS-layout transcript (what `sori prepare` reads), a JSONL of each "
                    "line's duration and attention health, and a report. Rerunning resumes: "
                    "finished lines are skipped. --ray spreads the batches over a Ray cluster.",
    )
    parser.add_argument("sentences", type=Path, metavar="SENTENCES.txt", help="UTF-8 text, one sentence per line")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    parser.add_argument("--voice", type=Path, default=None, help="voice directory (default: the bundled voice)")
    parser.add_argument("--vocoder", default="auto", choices=["auto", "griffin-lim", "neural"],
                        help="auto: the voice's neural vocoder when it has one, else Griffin-Lim")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="where the model runs (with --ray: on the workers)")
    parser.add_argument("--workers", type=int, default=1,
                        help="threads in process, or Ray actors with --ray (default 1)")
    parser.add_argument("--max-chars", type=int, default=300, help="skip longer lines (default 300)")
    parser.add_argument("--keep-failed", action="store_true",
                        help="list lines whose attention failed in the transcript too")
    parser.add_argument("--ray", action="store_true", help="run on a Ray cluster with Ray Data")
    parser.add_argument("--ray-address", default=None, metavar="auto|ray://HOST:PORT",
                        help="the cluster to use (default: start a local one on 127.0.0.1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run or resume the job and print its summary; exit 2 with one line when it cannot run."""
    from tts import VoiceError, default_voice_dir
    from tts.bulk import BulkError, BulkOptions, run_bulk
    from tts.bulk.ray_data import RayUnavailable, require_ray

    if args.workers < 1:
        print(f"sori synthesize-batch: --workers must be at least 1, got {args.workers}", file=sys.stderr)
        return 2
    try:
        if args.ray:
            require_ray()
        options = BulkOptions(
            voice_dir=args.voice if args.voice is not None else default_voice_dir(),
            vocoder=args.vocoder, device=args.device, max_chars=args.max_chars,
            keep_failed=args.keep_failed, workers=args.workers, ray=args.ray,
            ray_address=args.ray_address,
            progress=not args.no_progress and sys.stderr.isatty(),
        )
        with _quiet_attention_warnings():
            report = run_bulk(args.sentences, args.out, options)
    except (BulkError, VoiceError, RayUnavailable, ConnectionError, ValueError) as error:
        print(f"sori synthesize-batch: {error}", file=sys.stderr)
        return 2
    run_stats = report["this_run"]
    print(json.dumps({key: report[key] for key in ("lines", "spoken", "in_transcript", "skips_by_reason",
                                                    "unfinished", "audio_hours")}
                     | {"attention_failed": len(report["attention_failed"]), **run_stats}, ensure_ascii=False))
    for item in report["skipped"]:
        print(f"skipped line {item['line']} ({item['reason']}): {item['detail']}", file=sys.stderr)
    speed = run_stats["sentences_per_second"]
    print(f"did {run_stats['lines_done']} line(s) ({run_stats['reused']} already done)"
          + (f" at {speed} sentences/s" if speed else "")
          + f"; wrote {args.out} (report: {args.out / 'bulk_report.json'})")
    return 0 if report["unfinished"] == 0 else 1


@contextlib.contextmanager
def _quiet_attention_warnings() -> Iterator[None]:
    """Failed attention is counted in the report, not logged once per line; the synthesis logger's
    level is given back afterwards (main() also runs in-process, e.g. from tests)."""
    synthesis_logger = logging.getLogger("tts.synthesis")
    previous = synthesis_logger.level
    synthesis_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        synthesis_logger.setLevel(previous)
