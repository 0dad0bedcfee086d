"""Reading a KSS-layout transcript: `transcript.v.1.4.txt`, one clip per line, six `|` columns.

Columns: audio path (relative to the corpus root), original script, expanded script (numbers
written out), decomposed jamo, duration in seconds, English translation. A line that does not fit
is reported with its number and reason instead of stopping the whole corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

TRANSCRIPT_FILE = "transcript.v.1.4.txt"
N_COLUMNS = 6


class TranscriptError(ValueError):
    """The transcript as a whole cannot be read (missing, not UTF-8)."""


@dataclass(frozen=True)
class TranscriptRow:
    """One well-formed transcript line."""

    line: int
    """1-based line number in the transcript."""
    audio: str
    """Audio path relative to the corpus root, with forward slashes (e.g. '1/1_0000.wav')."""
    original: str
    """The script as written (digits, Latin letters, symbols)."""
    expanded: str
    """The script with numbers and symbols written out in Hangul."""
    decomposed: str
    """The expanded script as jamo (unused by Sori's frontend, kept for completeness)."""
    duration: float | None
    """Duration the corpus claims, in seconds (None when the column is not a number)."""
    english: str
    """English translation."""

    @property
    def utterance_id(self) -> str:
        """Identifier of the clip: the file name without extension ('1_0000')."""
        return PurePosixPath(self.audio).stem


@dataclass(frozen=True)
class MalformedLine:
    """A transcript line that could not be parsed, and why."""

    line: int
    reason: str
    text: str
    """The line itself, cut to 200 characters."""


@dataclass(frozen=True)
class Transcript:
    """Everything read from a transcript: the good rows and the malformed lines."""

    rows: tuple[TranscriptRow, ...]
    malformed: tuple[MalformedLine, ...]


def parse_line(number: int, line: str) -> TranscriptRow | MalformedLine:
    """Parse one line (without its newline) into a row, or say why it is malformed."""
    columns = line.split("|")
    if len(columns) != N_COLUMNS:
        return MalformedLine(
            number, f"expected {N_COLUMNS} '|'-separated columns, got {len(columns)}", line[:200]
        )
    audio, original, expanded, decomposed, duration_text, english = (c.strip() for c in columns)
    path = PurePosixPath(audio.replace("\\", "/"))
    if not audio:
        return MalformedLine(number, "the audio path column is empty", line[:200])
    if path.is_absolute() or ".." in path.parts:
        return MalformedLine(number, f"audio path {audio!r} leaves the corpus root", line[:200])
    try:
        duration: float | None = float(duration_text)
    except ValueError:
        duration = None
    return TranscriptRow(
        number, str(path), original, expanded, decomposed, duration, english
    )


def read_transcript(root: Path, name: str = TRANSCRIPT_FILE) -> Transcript:
    """Read `root/name`; blank lines are ignored, every other bad line is reported as malformed."""
    path = Path(root) / name
    if not path.is_file():
        raise TranscriptError(f"no transcript at {path} (a KSS-layout root holds {name})")
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise TranscriptError(f"{path} is not UTF-8 text: {error}") from error
    rows: list[TranscriptRow] = []
    malformed: list[MalformedLine] = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        parsed = parse_line(number, line.rstrip("\r"))
        if isinstance(parsed, TranscriptRow):
            rows.append(parsed)
        else:
            malformed.append(parsed)
    return Transcript(tuple(rows), tuple(malformed))
