"""The outputs of preparation besides features: the fixed-seed split and `prepare_report.json`."""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tts.atomic import write_bytes_atomic
from tts.training.config import PrepareConfig
from tts.training.features import (
    REPORT_FILE,
    SPLITS,
    FeatureSettings,
    ManifestEntry,
    UtteranceRecord,
    write_manifest,
)
from tts.training.kss import MalformedLine

MAX_EXAMPLES = 20
"""Disagreement examples kept in the report."""


def _held_out(total: int, fraction: float) -> int:
    """Items for a held-out split: the fraction, but at least one when the corpus has >= 3."""
    if fraction <= 0:
        return 0
    return max(1 if total >= 3 else 0, round(total * fraction))


def assign_splits(ids: Sequence[str], config: PrepareConfig) -> dict[str, list[str]]:
    """Split ids by a seeded hash of each id: an utterance's side never depends on the others."""
    order = sorted(ids, key=lambda i: hashlib.sha1(f"{config.seed}:{i}".encode()).hexdigest())
    n_val = _held_out(len(order), config.val_fraction)
    n_test = _held_out(len(order), config.test_fraction)
    chosen = {"val": order[:n_val], "test": order[n_val:n_val + n_test],
              "train": order[n_val + n_test:]}
    keep = set(ids)
    position = {i: n for n, i in enumerate(ids)}
    return {split: sorted((i for i in chosen[split] if i in keep), key=position.__getitem__)
            for split in SPLITS}


def write_split(out: Path, records: Sequence[UtteranceRecord], config: PrepareConfig) -> dict[str, int]:
    """Write train/val/test manifests of the prepared records (transcript order); returns counts."""
    prepared = {record.id: record for record in records if record.prepared}
    splits = assign_splits(list(prepared), config)
    for split, ids in splits.items():
        write_manifest(out, split, (
            ManifestEntry(r.id, r.text, r.normalized, r.n_frames, r.n_symbols, round(r.seconds, 4))
            for r in (prepared[i] for i in ids)
        ))
    return {split: len(ids) for split, ids in splits.items()}


def duration_histogram(seconds: Sequence[float], bin_seconds: float = 1.0) -> list[dict[str, Any]]:
    """Counts of durations in [k, k + bin) second bins, from 0 to the longest."""
    if not seconds:
        return []
    bins = Counter(int(value // bin_seconds) for value in seconds)
    return [{"from": k * bin_seconds, "to": (k + 1) * bin_seconds, "count": bins.get(k, 0)}
            for k in range(int(max(seconds) // bin_seconds) + 1)]


def _agreement(records: Sequence[UtteranceRecord]) -> dict[str, Any]:
    """How often our reading of the original script equals the corpus's expanded column."""
    compared = [r for r in records if r.agrees_with_expanded is not None]
    equal = sum(1 for r in compared if r.agrees_with_expanded)
    squash = str.maketrans("", "", " .,?!…")
    loose = sum(1 for r in compared
                if r.original_reading.translate(squash) == r.expanded_reading.translate(squash))
    examples = [{"id": r.id, "ours": r.original_reading, "expanded": r.expanded_reading}
                for r in compared if not r.agrees_with_expanded][:MAX_EXAMPLES]
    return {
        "compared": len(compared),
        "equal": equal,
        "rate": round(equal / len(compared), 4) if compared else None,
        "rate_ignoring_spaces_and_punctuation": round(loose / len(compared), 4) if compared else None,
        "disagreements": examples,
    }


def build_report(
    *,
    corpus: Path,
    settings: FeatureSettings,
    records: Sequence[UtteranceRecord],
    malformed: Sequence[MalformedLine],
    duplicates: Sequence[dict[str, Any]],
    splits: dict[str, int],
    processed: int,
    reused: int,
    elapsed: float,
) -> dict[str, Any]:
    """The JSON report of one preparation run."""
    prepared = [r for r in records if r.prepared]
    skipped = [
        *({"line": m.line, "id": None, "audio": None, "reason": "malformed_line",
           "detail": f"{m.reason}: {m.text!r}"} for m in malformed),
        *duplicates,
        *({"line": r.line, "id": r.id, "audio": r.audio, "reason": r.reason, "detail": r.detail}
          for r in records if not r.prepared),
    ]
    skipped.sort(key=lambda item: item["line"])
    seconds = [r.seconds for r in prepared]
    return {
        "corpus": str(corpus),
        "text_column": settings.prepare.text_column,
        "use_g2p": settings.text.use_g2p,
        "rows": len(records) + len(malformed) + len(duplicates),
        "prepared": len(prepared),
        "skipped": len(skipped),
        "skips_by_reason": dict(sorted(Counter(item["reason"] for item in skipped).items())),
        "skipped_rows": skipped,
        "hours": round(sum(seconds) / 3600, 4),
        "source_hours": round(sum(r.source_seconds for r in prepared) / 3600, 4),
        "splits": splits,
        "seconds": {
            "min": round(min(seconds), 3) if seconds else None,
            "median": round(statistics.median(seconds), 3) if seconds else None,
            "mean": round(statistics.fmean(seconds), 3) if seconds else None,
            "max": round(max(seconds), 3) if seconds else None,
        },
        "duration_histogram": duration_histogram(seconds),
        "frames": sum(r.n_frames for r in prepared),
        "max_symbols_seen": max((r.n_symbols for r in prepared), default=0),
        "source_sample_rates": {str(k): v for k, v in sorted(Counter(r.source_rate for r in prepared).items())},
        "stereo_mixed_to_mono": sum(1 for r in prepared if r.source_channels > 1),
        "frontend_vs_expanded": _agreement(records),
        "processed_this_run": processed,
        "reused_from_earlier_runs": reused,
        "elapsed_seconds": round(elapsed, 2),
    }


def write_report(out: Path, report: dict[str, Any]) -> Path:
    """Write `prepare_report.json` atomically."""
    payload = json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    return write_bytes_atomic(Path(out) / REPORT_FILE, payload.encode("utf-8"))

