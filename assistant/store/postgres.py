"""The shared store engine: timers and the shopping list in PostgreSQL, for several servers at once.

psycopg 3 with a connection pool: each operation borrows one connection (checked alive first) for
one transaction, committed when the operation returns and rolled back if it raises, so a client
told "done" has its write committed. Migrations run at open under a transaction-scoped advisory
lock, so servers started together apply them once. A database that is down, unreachable or
restarting makes operations raise StoreUnavailableError after at most `timeout_seconds`; the pool
reconnects by itself when it returns, with no restart of the server.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

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
from assistant.store.url import redact_url

MIGRATION_LOCK = 0x736F7269  # "sori": the advisory lock key every Sori process migrates under

_UNAVAILABLE: tuple[type[Exception], ...] = (
    psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout, PoolClosed,
)
"""Errors that mean the database is down, unreachable or restarting, not that a query is wrong."""


def _reason(error: Exception) -> str:
    """The first line of a driver error (libpq messages name host and port, never the password)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _migrate(connection: psycopg.Connection[Any], where: str) -> None:
    """Apply the pending migrations in one transaction, holding the advisory lock until it ends."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        connection.execute(migrations.CREATE_TABLE)
        row = connection.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        for migration in migrations.pending(row[0] if row else None, where):
            for statement in migration.postgres:
                connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (%s, %s, %s)",
                (migration.version, migration.description, time.time()),
            )


class PostgresStore:
    """Timers and shopping items in a PostgreSQL database shared by every server that opens it."""

    def __init__(self, url: str, *, timeout_seconds: float = 5.0, max_connections: int = 8) -> None:
        self.description = redact_url(url)
        self._closed = False
        self._close_lock = threading.Lock()
        connect_timeout = max(1, math.ceil(timeout_seconds))  # libpq takes whole seconds
        try:
            # One direct connection first: its error names what is wrong (refused, unknown host,
            # bad password, no such database), where a pool would only say it timed out.
            with psycopg.connect(url, connect_timeout=connect_timeout, autocommit=True) as connection:
                _migrate(connection, self.description)
        except (psycopg.Error, UnicodeError) as error:
            raise AssistantError(
                f"cannot open the assistant store {self.description}: {_reason(error)}"
            ) from None
        self._pool = ConnectionPool(
            url, min_size=1, max_size=max_connections, timeout=timeout_seconds,
            kwargs={"connect_timeout": connect_timeout}, check=ConnectionPool.check_connection,
            reconnect_timeout=float("inf"), name="sori-assistant-store", open=True,
        )

    def close(self) -> None:
        """Close the pool; closing again does nothing, later operations are unavailable."""
        with self._close_lock:
            if not self._closed:
                self._closed = True
                self._pool.close()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction on a pooled connection: committed when the block ends, rolled back if it
        raises; database trouble becomes StoreUnavailableError."""
        if self._closed:
            raise StoreUnavailableError(CLOSED)
        try:
            with self._pool.connection() as connection:
                yield connection
        except _UNAVAILABLE as error:
            raise StoreUnavailableError(
                f"the assistant store is unavailable: {_reason(error)}"
            ) from error

    def add_timer(self, duration_seconds: int, started_at: float) -> Timer:
        """Start a timer of `duration_seconds` at POSIX time `started_at`."""
        check_duration(duration_seconds)
        ends_at = started_at + duration_seconds
        with self._transaction() as connection:
            row = connection.execute(
                "INSERT INTO timers (duration_seconds, started_at, ends_at) VALUES (%s, %s, %s) "
                "RETURNING id",
                (duration_seconds, started_at, ends_at),
            ).fetchone()
        assert row is not None
        return Timer(int(row[0]), duration_seconds, started_at, ends_at)

    def timers(self) -> list[Timer]:
        """The timers not yet announced, soonest to finish first."""
        with self._transaction() as connection:
            rows = connection.execute(
                f"SELECT {TIMER_COLUMNS} FROM timers WHERE announced_at IS NULL ORDER BY ends_at, id"
            ).fetchall()
        return [timer_from_row(row) for row in rows]

    def remove_timers(self, timer_ids: Iterable[int]) -> int:
        """Cancel the given timers unless already announced; returns how many were cancelled."""
        ids = list(timer_ids)
        if not ids:
            return 0
        with self._transaction() as connection:
            cursor = connection.execute(
                "DELETE FROM timers WHERE id = ANY(%s) AND announced_at IS NULL", (ids,)
            )
            return cursor.rowcount

    def claim_due_timers(self, now: float) -> list[Timer]:
        """Mark the unannounced timers due at `now` announced and return them; rows another server
        is claiming at this moment are skipped (it gets them), not waited for. Also prunes those
        announced over a day ago."""
        with self._transaction() as connection:
            rows = connection.execute(
                "UPDATE timers SET announced_at = %s WHERE id IN ("
                "  SELECT id FROM timers WHERE announced_at IS NULL AND ends_at <= %s"
                "  FOR UPDATE SKIP LOCKED"
                f") RETURNING {TIMER_COLUMNS}",
                (now, now),
            ).fetchall()
            connection.execute(
                "DELETE FROM timers WHERE announced_at < %s", (now - ANNOUNCED_RETENTION_SECONDS,)
            )
        return sorted((timer_from_row(row) for row in rows), key=lambda timer: (timer.ends_at, timer.id))

    def next_due_at(self) -> float | None:
        """When the soonest unannounced timer is due, or None without one."""
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT MIN(ends_at) FROM timers WHERE announced_at IS NULL"
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def add_shopping_items(self, names: Iterable[str], added_at: float) -> list[str]:
        """Add every name in one transaction; returns those that were new. Text PostgreSQL cannot
        hold (a lone surrogate, a NUL character) rejects the whole call."""
        cleaned = clean_names(names)
        added = []
        try:
            with self._transaction() as connection:
                for name in cleaned:
                    row = connection.execute(
                        "INSERT INTO shopping_items (name, added_at) VALUES (%s, %s) "
                        "ON CONFLICT (name) DO NOTHING RETURNING id",
                        (name, added_at),
                    ).fetchone()
                    if row is not None:
                        added.append(name)
        except UnicodeEncodeError as error:
            raise AssistantError(f"shopping item is not valid text: {error.reason}") from None
        except psycopg.DataError as error:
            raise AssistantError(f"shopping item is not valid text: {_reason(error)}") from None
        return added

    def add_shopping_item(self, name: str, added_at: float) -> bool:
        """Add `name` to the shopping list; False when it was already there."""
        return bool(self.add_shopping_items([name], added_at))

    def shopping_items(self) -> list[str]:
        """The shopping list in the order items were added."""
        with self._transaction() as connection:
            rows = connection.execute("SELECT name FROM shopping_items ORDER BY id").fetchall()
        return [str(row[0]) for row in rows]
