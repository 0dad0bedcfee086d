"""The run's evaluation log, `RUN_DIR/metrics.jsonl`: one JSON object per evaluation, step first.

Lines are appended as evaluations finish, so a run killed mid-append can leave its last line cut,
and evaluations after the last checkpoint are repeated when the run resumes. Reading skips lines
that do not parse; resuming trims the log back to the checkpoint's step, so every step appears once.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from tts.atomic import write_bytes_if_changed

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"


def append_metrics(run_dir: Path, entry: dict[str, Any]) -> None:
    """Append one evaluation's measures (a dict holding "step") as one line."""
    with (Path(run_dir) / METRICS_FILE).open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(entry) + "\n")


def _parse(line: str) -> dict[str, Any] | None:
    """One line as an evaluation entry, or None when it is cut or is not one."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("step"), int):
        return None
    return entry


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """Every whole entry of the log, in file order; lines that do not parse are skipped and named."""
    path = Path(run_dir) / METRICS_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    entries, broken = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        entry = _parse(line)
        if entry is None:
            broken.append(number)
        else:
            entries.append(entry)
    if broken:
        logger.warning("%s: skipped line(s) %s that are not whole entries (a run killed mid-write "
                       "cuts its last line)", path, ", ".join(map(str, broken)))
    return entries


def trim_metrics(run_dir: Path, step: int) -> None:
    """Keep only whole entries up to `step` (where a run restarts), rewritten atomically."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return
    kept = [entry for entry in read_metrics(run_dir) if entry["step"] <= step]
    write_bytes_if_changed(path, "".join(json.dumps(entry) + "\n" for entry in kept).encode("utf-8"))
