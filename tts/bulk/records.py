"""What a bulk job remembers per line: a JSON record, appended to a journal as each line finishes.

The journal (`synthesis.jsonl`) is the job's source of truth: a line is finished when its record
is there and, for a spoken line, its WAV is there at the size the record gives. Each WAV is
written atomically before its record is appended (one write, flushed to disk), so a killed job
leaves at worst a WAV without a record (spoken again) or a torn last journal line (ignored, and
dropped when the journal is rewritten, atomically and in line order, at the start and end of a run).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from tts.atomic import write_bytes_atomic

LineStatus = Literal["spoken", "unspeakable"]


@dataclass(frozen=True)
class LineRecord:
    """The outcome of one line."""

    line: int
    """1-based line number in the sentences file."""
    id: str
    """The line's id ('000042'), the stem of its WAV."""
    text: str
    """The line as spoken (surrounding white space removed)."""
    status: LineStatus
    """'spoken' (a WAV was written) or 'unspeakable' (the frontend found nothing to say)."""
    audio: str | None = None
    """The WAV's path relative to the output directory ('wavs/000042.wav'); None when unspeakable."""
    audio_bytes: int = 0
    """Size of the WAV file, so a rerun can tell a complete file from a stranger's."""
    seconds: float = 0.0
    """Duration of the WAV."""
    attention_ok: bool | None = None
    """Every sentence's attention reached the end, moved forward and stopped by itself."""
    expanded: str = ""
    """The line as the frontend reads it (numbers, units and English in Hangul)."""
    dropped: tuple[str, ...] = ()
    """Characters the frontend could not speak."""
    sentences: tuple[dict[str, Any], ...] = field(default=())
    """Per sentence of the line: its text and attention health (tts.alignment.AttentionHealth)."""
    detail: str = ""
    """Why the line was not spoken (unspeakable only)."""

    def to_json(self) -> str:
        """One JSONL line (without the newline)."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LineRecord:
        """Parse one JSONL line; ValueError when it is not a record."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a record must be a JSON object")
        data["dropped"] = tuple(data.get("dropped", ()))
        data["sentences"] = tuple(data.get("sentences", ()))
        return cls(**data)


def read_journal(path: Path) -> dict[int, LineRecord]:
    """The last valid record of each line; torn or foreign lines (a killed write) are ignored."""
    try:
        content = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    records: dict[int, LineRecord] = {}
    for row in content.splitlines():
        try:
            record = LineRecord.from_json(row)
        except (ValueError, TypeError):
            continue
        records[record.line] = record
    return records


def write_journal(path: Path, records: Iterable[LineRecord]) -> None:
    """Rewrite the journal atomically, one record per line in line order."""
    ordered = sorted(records, key=lambda record: record.line)
    write_bytes_atomic(path, "".join(record.to_json() + "\n" for record in ordered).encode("utf-8"))


class Journal:
    """Appends records to the journal, each with one write flushed to disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, record: LineRecord) -> None:
        """Append one record and fsync, so a finished line survives a kill."""
        data = (record.to_json() + "\n").encode("utf-8")
        written = os.write(self._fd, data)
        if written != len(data):
            raise OSError(f"short write to {self.path} ({written} of {len(data)} bytes)")
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
