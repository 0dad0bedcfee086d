"""The input of a bulk job: one sentence per line, numbered, and the batches they are spoken in.

Line numbers are 1-based and name every output (`wavs/000042.wav` is line 42), so the output of a
line never depends on which other lines were spoken, in which order, or by which worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MIN_ID_DIGITS = 6
"""Line ids have at least this many digits, so the names of a growing file (up to 999,999 lines)
stay the same from one run to the next."""


class LinesError(ValueError):
    """The sentences file cannot be read."""


@dataclass(frozen=True)
class SentenceLine:
    """One non-empty line of the sentences file."""

    number: int
    """1-based line number in the file (blank lines are counted, not spoken)."""
    text: str
    """The line without surrounding white space."""


@dataclass(frozen=True)
class SentenceFile:
    """Every non-empty line of a sentences file, and how its ids are written."""

    lines: tuple[SentenceLine, ...]
    total_lines: int
    """Lines in the file, blank ones included."""

    @property
    def id_digits(self) -> int:
        """Zero padding of the ids: the digits of the line count, at least MIN_ID_DIGITS."""
        return max(MIN_ID_DIGITS, len(str(self.total_lines)))

    def line_id(self, number: int) -> str:
        """The id of line `number` ('000042')."""
        return f"{number:0{self.id_digits}d}"


def read_sentences(path: Path) -> SentenceFile:
    """Read a UTF-8 sentences file (a byte-order mark is allowed); LinesError names the problem."""
    if not path.exists():
        raise LinesError(f"sentences file not found: {path}")
    if not path.is_file():
        raise LinesError(f"sentences file is not a regular file: {path}")
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise LinesError(f"{path} is not UTF-8 text: {error}") from error
    except OSError as error:
        raise LinesError(f"cannot read {path}: {error.strerror or error}") from error
    rows = content.splitlines()
    lines = tuple(SentenceLine(number, row.strip()) for number, row in enumerate(rows, start=1)
                  if row.strip())
    return SentenceFile(lines, len(rows))


def plan_batches(lines: Sequence[SentenceLine], batch_size: int) -> list[tuple[SentenceLine, ...]]:
    """Lines of similar length together: sorted by length (then line number), cut every
    `batch_size`. Depends only on the lines given, so every runner decodes the same batches."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    ordered = sorted(lines, key=lambda line: (len(line.text), line.number))
    return [tuple(ordered[start : start + batch_size]) for start in range(0, len(ordered), batch_size)]
