"""The embedded store engine: timers and the shopping list in one SQLite file beside one server.

Safe for many writers at once, from threads and from processes: the file is in write-ahead-log
mode (readers never block the writer, nor the writer readers), and every write is a single
`BEGIN IMMEDIATE` transaction that takes SQLite's write lock before it reads, waiting up to
`timeout_seconds` for another process instead of failing at once. An operation is all-or-nothing:
a process killed half-way leaves the file as it was before that operation. A store that cannot be
used (still locked after the timeout, disk full or failing, closed) raises StoreUnavailableError.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.errors import AssistantError, StoreUnavailableError
from assistant.store import migrations
from assistant.store.base import (
    ANNOUNCED_RETENTION_SECONDS,
    CLOSED,
    TIMER_COLUMNS,
    Timer,
    check_duration,
    clean_names,
    timer_from_row,
)


def _use_write_ahead_log(connection: sqlite3.Connection, timeout_seconds: float) -> None:
    """Switch the file to WAL mode (kept in the file), retrying while another process holds it:
    SQLite answers this pragma "database is locked" at once, without waiting for the timeout."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: holds the write lock from its first read, commits on success,
    rolls back on any error (or leaves nothing behind if the process dies inside it)."""
    if connection.in_transaction:  # a ROLLBACK that failed (I/O error) left one open
        connection.execute("ROLLBACK")
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        # Some errors (disk full) have already rolled it back; a failing rollback must not hide
        # the error that caused it, and the next transaction retries it.
        if connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
        raise


_UNAVAILABLE = frozenset({
    sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_PERM, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL,
})
"""SQLite result codes that mean the file or the machine is in trouble, not this module: any other
sqlite3 error (a constraint, a misuse) is a bug and stays as it is."""


def _is_unavailable(error: sqlite3.Error) -> bool:
    """Whether `error` comes from the state of the file or the machine (see _UNAVAILABLE)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _UNAVAILABLE


def _unavailable(error: sqlite3.Error) -> StoreUnavailableError:
    """The error an operation raises for `error`; SQLite's message names no path, so a server can
    show it to a client."""
    return StoreUnavailableError(f"the assistant store is unavailable: {error}")


def _migrate(connection: sqlite3.Connection, where: str, now: float) -> None:
    """Apply the pending migrations in the caller's write transaction (its lock keeps a second
    process from applying them too)."""
    connection.execute(migrations.CREATE_TABLE)
    current = connection.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    for migration in migrations.pending(current, where):
        for statement in migration.sqlite:
            connection.execute(statement)
        connection.execute(
            "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.description, now),
        )
    connection.execute(f"PRAGMA user_version = {migrations.LATEST_VERSION}")


class SqliteStore:
    """Timers and shopping items in one SQLite file, created (and migrated) when opened.

    Two connections for the store's life (opening one per operation would also checkpoint the log
    on every close): writes go through one, each exclusive under a Python lock, so the threads of
    one process queue there rather than in SQLite's sleep-and-retry busy handler; reads go through
    the other under their own lock, so a write waiting for another process's lock delays no read.
    Reads cannot share the writer's connection: they would see its uncommitted transaction.
    """

    def __init__(self, path: Path, *, timeout_seconds: float = 30.0) -> None:
        self.path = Path(path)
        self.description = str(self.path)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._closed = False
        opened: list[sqlite3.Connection] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for _ in range(2):
                opened.append(sqlite3.connect(self.path, timeout=timeout_seconds, isolation_level=None,
                                              check_same_thread=False))
            writer, reader = opened
            _use_write_ahead_log(writer, timeout_seconds)
            with _transaction(writer):
                _migrate(writer, self.description, time.time())
            reader.execute("PRAGMA query_only = ON")
        except (OSError, sqlite3.Error, AssistantError) as error:
            for connection in opened:
                connection.close()
            if isinstance(error, AssistantError):
                raise
            raise AssistantError(f"cannot open the assistant store {self.path}: {error}") from error
        self._writer, self._reader = writer, reader

    def close(self) -> None:
        """Close the file once an operation under way has finished; closing again does nothing,
        and any later operation raises StoreUnavailableError."""
        with self._write_lock, self._read_lock:
            if not self._closed:
                self._closed = True
                self._reader.close()
                self._writer.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads (autocommit: each statement sees one committed state)."""
        with self._read_lock, self._open():
            yield self._reader

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the writer connection (see _transaction)."""
        with self._write_lock, self._open(), _transaction(self._writer) as connection:
            yield connection

    @contextmanager
    def _open(self) -> Iterator[None]:
        """Refuse a closed store; SQLite errors that mean the file or machine is in trouble become
        StoreUnavailableError (called with the connection's lock held)."""
        if self._closed:
            raise StoreUnavailableError(CLOSED)
        try:
            yield
        except sqlite3.Error as error:
            if not _is_unavailable(error):
                raise
            raise _unavailable(error) from error

    def add_timer(self, duration_seconds: int, started_at: float) -> Timer:
        """Start a timer of `duration_seconds` at POSIX time `started_at`."""
        check_duration(duration_seconds)
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
        """The timers not yet announced, soonest to finish first."""
        with self._read() as connection:
            rows = connection.execute(
                f"SELECT {TIMER_COLUMNS} FROM timers WHERE announced_at IS NULL ORDER BY ends_at, id"
            ).fetchall()
        return [timer_from_row(row) for row in rows]

    def remove_timers(self, timer_ids: Iterable[int]) -> int:
        """Cancel the given timers unless already announced; returns how many were cancelled."""
        ids = [(timer_id,) for timer_id in timer_ids]
        if not ids:
            return 0
        with self._write() as connection:
            return connection.executemany(
                "DELETE FROM timers WHERE id = ? AND announced_at IS NULL", ids
            ).rowcount

    def claim_due_timers(self, now: float) -> list[Timer]:
        """Mark the unannounced timers due at `now` announced and return them, in one write
        transaction (SQLite's write lock makes the read and the update one step for every
        process); also prunes those announced over a day ago."""
        with self._write() as connection:
            rows = connection.execute(
                f"SELECT {TIMER_COLUMNS} FROM timers WHERE announced_at IS NULL AND ends_at <= ? "
                "ORDER BY ends_at, id",
                (now,),
            ).fetchall()
            connection.executemany(
                "UPDATE timers SET announced_at = ? WHERE id = ?", [(now, row[0]) for row in rows]
            )
            connection.execute(
                "DELETE FROM timers WHERE announced_at < ?", (now - ANNOUNCED_RETENTION_SECONDS,)
            )
        return [timer_from_row((*row[:4], now)) for row in rows]

    def next_due_at(self) -> float | None:
        """When the soonest unannounced timer is due, or None without one."""
        with self._read() as connection:
            row = connection.execute(
                "SELECT MIN(ends_at) FROM timers WHERE announced_at IS NULL"
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def add_shopping_items(self, names: Iterable[str], added_at: float) -> list[str]:
        """Add every name to the shopping list in one transaction; returns those that were new.

        All or nothing: an empty name rejects the call before anything is written, a name that
        is not valid Unicode (a lone surrogate) rolls back those already inserted.
        """
        cleaned = clean_names(names)
        added = []
        try:
            with self._write() as connection:
                for name in cleaned:
                    cursor = connection.execute(
                        "INSERT OR IGNORE INTO shopping_items (name, added_at) VALUES (?, ?)",
                        (name, added_at),
                    )
                    if cursor.rowcount == 1:
                        added.append(name)
        except UnicodeEncodeError as error:
            raise AssistantError(f"shopping item is not valid text: {error.reason}") from None
        return added

    def add_shopping_item(self, name: str, added_at: float) -> bool:
        """Add `name` to the shopping list; False when it was already there."""
        return bool(self.add_shopping_items([name], added_at))

    def shopping_items(self) -> list[str]:
        """The shopping list in the order items were added."""
        with self._read() as connection:
            rows = connection.execute("SELECT name FROM shopping_items ORDER BY id").fetchall()
        return [str(row[0]) for row in rows]
