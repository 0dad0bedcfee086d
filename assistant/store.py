"""SQLite persistence for timers and the shopping list, so both survive a restart.

One short-lived connection per operation (safe to call from any thread); a lock serialises the
read-modify-write operations of one process, SQLite's own locking those of several.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    duration_seconds INTEGER NOT NULL CHECK (duration_seconds > 0),
    started_at REAL NOT NULL,
    ends_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS shopping_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    added_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Timer:
    """A running (or finished, not yet reported) timer; times are POSIX seconds."""

    id: int
    duration_seconds: int
    started_at: float
    ends_at: float

    def remaining_seconds(self, now: float) -> float:
        """Seconds left at POSIX time `now` (zero or negative once finished)."""
        return self.ends_at - now


class AssistantStore:
    """Timers and shopping items in one SQLite file, created on first use."""

    def __init__(self, path: Path, *, timeout_seconds: float = 10.0) -> None:
        self.path = Path(path)
        self._timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as connection:
                connection.executescript(_SCHEMA)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except (OSError, sqlite3.Error) as error:
            raise AssistantError(f"cannot open the assistant store {self.path}: {error}") from error

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection whose transaction commits on success and rolls back on error."""
        connection = sqlite3.connect(self.path, timeout=self._timeout_seconds)
        with closing(connection), connection:
            yield connection

    def add_timer(self, duration_seconds: int, started_at: float) -> Timer:
        """Start a timer of `duration_seconds` at POSIX time `started_at`."""
        if duration_seconds <= 0:
            raise AssistantError(f"timer duration must be positive, got {duration_seconds}")
        ends_at = started_at + duration_seconds
        with self._lock, self._connect() as connection:
            cursor = connection.execute(
                "INSERT INTO timers (duration_seconds, started_at, ends_at) VALUES (?, ?, ?)",
                (duration_seconds, started_at, ends_at),
            )
            timer_id = cursor.lastrowid
        assert timer_id is not None
        return Timer(timer_id, duration_seconds, started_at, ends_at)

    def timers(self) -> list[Timer]:
        """Every stored timer, soonest to finish first."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT id, duration_seconds, started_at, ends_at FROM timers ORDER BY ends_at, id"
            ).fetchall()
        return [Timer(int(row[0]), int(row[1]), float(row[2]), float(row[3])) for row in rows]

    def remove_timers(self, timer_ids: list[int]) -> int:
        """Delete the given timers; returns how many existed."""
        if not timer_ids:
            return 0
        with self._lock, self._connect() as connection:
            cursor = connection.executemany("DELETE FROM timers WHERE id = ?", [(i,) for i in timer_ids])
            return cursor.rowcount

    def add_shopping_item(self, name: str, added_at: float) -> bool:
        """Add `name` to the shopping list; False when it was already there."""
        if not name.strip():
            raise AssistantError("shopping item is empty")
        with self._lock, self._connect() as connection:
            cursor = connection.execute(
                "INSERT OR IGNORE INTO shopping_items (name, added_at) VALUES (?, ?)",
                (name.strip(), added_at),
            )
            return cursor.rowcount == 1

    def shopping_items(self) -> list[str]:
        """The shopping list in the order items were added."""
        with self._connect() as connection:
            rows = connection.execute("SELECT name FROM shopping_items ORDER BY id").fetchall()
        return [str(row[0]) for row in rows]
