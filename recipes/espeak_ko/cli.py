"""`python -m recipes.espeak_ko OUT_DIR`: collect sentences, check coverage, write the corpus."""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from recipes.espeak_ko.corpus import TRANSCRIPT, Progress, plan_corpus, write_corpus
from recipes.espeak_ko.coverage import DEFAULT_MIN_COUNT
from recipes.espeak_ko.errors import CorpusError
from recipes.espeak_ko.sentences import SentenceConfig, collect_sentences, default_eval_path

LOGGER = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The command line of the bootstrap-corpus recipe."""
    parser = argparse.ArgumentParser(
        prog="python -m recipes.espeak_ko",
        description="Write a KSS-layout Korean corpus spoken by espeak-ng (the bootstrap corpus).",
    )
    parser.add_argument("out_dir", type=Path, help="corpus directory to write (created if needed)")
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="write only the first N utterances (coverage is then reported, not enforced)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seeds sentence sampling and order (default 0)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="espeak-ng worker processes (default: one per CPU core)",
    )
    parser.add_argument(
        "--exclude",
        type=Path,
        default=None,
        help=f"sentences never to include (default: the evaluation set, {default_eval_path()})",
    )
    parser.add_argument(
        "--min-count",
        type=int,
        default=DEFAULT_MIN_COUNT,
        help="fewest occurrences of every jamo a full corpus must have (default 20)",
    )
    parser.add_argument(
        "--no-pronounced-coverage",
        dest="pronounced_coverage",
        action="store_false",
        help="skip counting jamo after g2pk (saves running g2pk on every sentence)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _progress_bar(quiet: bool) -> Progress:
    """A tqdm bar over the rendered clips, or nothing when quiet."""

    def progress(results: Iterable[str | None], total: int) -> Iterable[str | None]:
        if quiet:
            return results
        from tqdm import tqdm

        return tqdm(results, total=total, desc="espeak-ng", unit="clip")

    return progress


def main(argv: Sequence[str] | None = None) -> int:
    """Run the recipe; 0 on success, 2 on a CorpusError (its message printed)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("assistant").setLevel(logging.WARNING)
    started = time.monotonic()
    try:
        sentences = collect_sentences(SentenceConfig(seed=args.seed), exclude=args.exclude)
        utterances = plan_corpus(sentences, args.seed, args.limit)
        summary = write_corpus(
            args.out_dir,
            utterances,
            workers=args.jobs if args.jobs is not None else os.cpu_count() or 1,
            enforce_coverage=args.limit is None,
            min_count=args.min_count,
            pronounced_coverage=args.pronounced_coverage,
            progress=_progress_bar(args.quiet),
        )
    except CorpusError as error:
        print(f"error: {error}")
        return 2
    sources = Counter(utterance.sentence.source for utterance in utterances)
    coverage = summary.coverage
    print(
        f"wrote {args.out_dir / TRANSCRIPT}: {summary.utterances} utterances "
        f"({summary.synthesized} rendered now), {summary.hours:.2f} hours, "
        f"in {time.monotonic() - started:.0f} s"
    )
    print(f"sources: {dict(sources)}")
    pronounced = (
        f", pronounced minimum {coverage.pronounced.minimum}" if coverage.pronounced else ""
    )
    status = "passed" if coverage.passed else "NOT passed"
    enforced = "enforced" if coverage.enforced else "not enforced (--limit)"
    print(
        f"coverage: spelling minimum {coverage.spelling.minimum}{pronounced}; "
        f">= {coverage.min_count} {status}, {enforced}"
    )
    return 0
