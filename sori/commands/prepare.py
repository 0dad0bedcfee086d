"""`sori prepare KSS_ROOT --out FEATURES_DIR`: validate a KSS-layout corpus and cache its features."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sori.commands import checks


def register(subparsers: Any) -> None:
    """Add the `prepare` subcommand."""
    parser = subparsers.add_parser(
        "prepare", help="turn a KSS-layout corpus into training features",
        description="Read transcript.v.1.4.txt and its WAVs, skip bad rows with their reasons, "
                    "cache mel/linear spectrograms and symbol ids, split train/val/test and write "
                    "prepare_report.json. Rerunning reuses finished rows.",
    )
    parser.add_argument("corpus", type=Path, metavar="KSS_ROOT", help="corpus root (holds transcript.v.1.4.txt)")
    parser.add_argument("--out", type=Path, required=True, metavar="FEATURES_DIR", help="features directory")
    parser.add_argument("--text-column", choices=["original", "expanded"], default="original",
                        help="script read through Sori's frontend (default: original)")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--no-g2p", action="store_true", help="symbols follow spelling, not g2pk pronunciation")
    parser.add_argument("--min-seconds", type=float, default=None, help="skip shorter clips (after trimming)")
    parser.add_argument("--max-seconds", type=float, default=None, help="skip longer clips (after trimming)")
    parser.add_argument("--max-symbols", type=int, default=None, help="skip sentences with more symbol ids")
    parser.add_argument("--val-fraction", type=float, default=None, help="share held out for validation")
    parser.add_argument("--test-fraction", type=float, default=None, help="share held out for testing")
    parser.add_argument("--seed", type=int, default=None, help="seed of the split")
    parser.add_argument("--trim-top-db", type=float, default=None, help="silence threshold below the peak, dB")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Prepare the corpus and print a summary; exit 2 naming the problem when it cannot start,
    and when no row could be prepared (the report still names each skipped row's reason)."""
    from dataclasses import replace

    from tts.audio import AudioConfig
    from tts.text import TextConfig
    from tts.training.config import ConfigError, PrepareConfig
    from tts.training.prepare import PrepareError, default_jobs, prepare_corpus

    checks.output_dir(args.out, "--out")
    if args.jobs is not None and args.jobs < 1:
        raise checks.UsageError(f"--jobs must be at least 1, got {args.jobs}")
    chosen = {"text_column": args.text_column, "min_seconds": args.min_seconds,
              "max_seconds": args.max_seconds, "max_symbols": args.max_symbols,
              "val_fraction": args.val_fraction, "test_fraction": args.test_fraction,
              "seed": args.seed}
    try:
        config = PrepareConfig(**{key: value for key, value in chosen.items() if value is not None})
        audio = AudioConfig()
        if args.trim_top_db is not None:
            audio = replace(audio, trim_top_db=args.trim_top_db)
        report = prepare_corpus(
            args.corpus, args.out, config, audio, TextConfig(use_g2p=not args.no_g2p),
            jobs=args.jobs or default_jobs(), progress=not args.no_progress and sys.stderr.isatty(),
        )
    except (PrepareError, ConfigError, ValueError) as error:
        print(f"sori prepare: {error}", file=sys.stderr)
        return 2
    agreement = report["frontend_vs_expanded"]
    print(json.dumps({key: report[key] for key in ("prepared", "skipped", "skips_by_reason", "hours",
                                                    "splits")}, ensure_ascii=False))
    if agreement["rate"] is not None:
        print(f"our reading of the original script equals the expanded column in "
              f"{agreement['equal']} of {agreement['compared']} rows ({agreement['rate']:.1%})")
    print(f"wrote {args.out} (report: {args.out / 'prepare_report.json'})")
    if not report["prepared"]:
        print(f"sori prepare: no row of {args.corpus} could be prepared; skips_by_reason above says why",
              file=sys.stderr)
        return 2
    return 0
