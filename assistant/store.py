"""SQLite persistence for timers and the shopping list, so both survive a restart.

Safe for many writers at once, from threads and from processes: one short-lived connection per
operation, the file in write-ahead-log mode (readers never block the writer), and every write a
single `BEGIN IMMEDIATE` transaction that takes the write lock before it reads, waiting up to
`timeout_seconds` for another writer instead of failing with "database is locked". An operation
is all-or-nothing: a process killed half-way leaves the file as it was before that operation.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError

SCHEMA_VERSION = 1
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS timers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        duration_seconds INTEGER NOT NULL CHECK (duration_seconds > 0),
        started_at REAL NOT NULL,
        ends_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS shopping_items (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        added_at REAL NOT NULL
    )""",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)


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


def _timer(row: tuple[object, ...]) -> Timer:
    """A Timer from an (id, duration_seconds, started_at, ends_at) row."""
    return Timer(int(str(row[0])), int(str(row[1])), float(str(row[2])), float(str(row[3])))


class AssistantStore:
    """Timers and shopping items in one SQLite file, created on first use."""

    def __init__(self, path: Path, *, timeout_seconds: float = 30.0) -> None:
        self.path = Path(path)
        self._timeout_seconds = timeout_seconds
        # Threads of one process queue here rather than in SQLite's sleep-and-retry busy handler.
        self._write_lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._open()) as connection:
                # Persistent in the file; needs no transaction and waits out other writers.
                connection.execute("PRAGMA journal_mode = WAL")
            with self._write() as connection:
                for statement in _SCHEMA:
                    connection.execute(statement)
        except (OSError, sqlite3.Error) as error:
            raise AssistantError(f"cannot open the assistant store {self.path}: {error}") from error

    def _open(self) -> sqlite3.Connection:
        """A connection in autocommit mode (transactions are explicit) that waits for locks."""
        return sqlite3.connect(self.path, timeout=self._timeout_seconds, isolation_level=None)

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads: each statement sees one committed state of the file."""
        with closing(self._open()) as connection:
            yield connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: holds the write lock from its first read, commits on success,
        rolls back on any error (or leaves nothing behind if the process dies inside it)."""
        with self._write_lock, closing(self._open()) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def add_timer(self, duration_seconds: int, started_at: float) -> Timer:
        """Start a timer of `duration_seconds` at POSIX time `started_at`."""
        if duration_seconds <= 0:
            raise AssistantError(f"timer duration must be positive, got {duration_seconds}")
        ends_at = started_at + duration_seconds
        with self._write() as connection:
            cursor = connection.execute(
                "INSERT INTO timers (duration_seconds, started_at, ends_at) VALUES (?, ?, ?)",
                (duration_seconds, started_at, ends_at),
            )
            timer_id = cursor.lastrowid
        assert timer_id is not None
        return Timer(timer_id, duration_seconds, started_at, ends_at)

    def timers(self) -> list[Timer]:
        """Every stored timer, soonest to finish first."""
        with self._read() as connection:
            rows = connection.execute(
                "SELECT id, duration_seconds, started_at, ends_at FROM timers ORDER BY ends_at, id"
            ).fetchall()
        return [_timer(row) for row in rows]

    def remove_timers(self, timer_ids: Iterable[int]) -> int:
        """Delete the given timers; returns how many existed."""
        ids = [(timer_id,) for timer_id in timer_ids]
        if not ids:
            return 0
        with self._write() as connection:
            return connection.executemany("DELETE FROM timers WHERE id = ?", ids).rowcount

    def take_finished_timers(self, now: float) -> list[Timer]:
        """Delete and return the timers finished at POSIX time `now`, in one transaction, so
        concurrent callers never both report the same finished timer."""
        with self._write() as connection:
            rows = connection.execute(
                "SELECT id, duration_seconds, started_at, ends_at FROM timers WHERE ends_at <= ? "
                "ORDER BY ends_at, id",
                (now,),
            ).fetchall()
            connection.execute("DELETE FROM timers WHERE ends_at <= ?", (now,))
        return [_timer(row) for row in rows]

    def add_shopping_items(self, names: Iterable[str], added_at: float) -> list[str]:
        """Add every name to the shopping list in one transaction; returns those that were new.

        All or nothing: an empty name rejects the whole call before anything is written.
        """
        cleaned = [name.strip() for name in names]
        if not cleaned or not all(cleaned):
            raise AssistantError("shopping item is empty")
        added = []
        with self._write() as connection:
            for name in dict.fromkeys(cleaned):
                cursor = connection.execute(
                    "INSERT OR IGNORE INTO shopping_items (name, added_at) VALUES (?, ?)",
                    (name, added_at),
                )
                if cursor.rowcount == 1:
                    added.append(name)
        return added

    def add_shopping_item(self, name: str, added_at: float) -> bool:
        """Add `name` to the shopping list; False when it was already there."""
        return bool(self.add_shopping_items([name], added_at))

    def shopping_items(self) -> list[str]:
        """The shopping list in the order items were added."""
        with self._read() as connection:
            rows = connection.execute("SELECT name FROM shopping_items ORDER BY id").fetchall()
        return [str(row[0]) for row in rows]
