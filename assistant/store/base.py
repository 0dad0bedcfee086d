"""What every store engine shares: the Timer record, the interface skills and the server use, and
the checks made before anything is written."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from assistant.errors import AssistantError

ANNOUNCED_RETENTION_SECONDS = 24 * 3600.0
"""Announced timers are kept this long after their announcement (then pruned by the next claim)."""

CLOSED = "the assistant store is closed"


@dataclass(frozen=True)
class Timer:
    """A timer; times are POSIX seconds. `announced_at` is None until one server has claimed it to
    announce that it finished (then no other ever will)."""

    id: int
    duration_seconds: int
    started_at: float
    ends_at: float
    announced_at: float | None = None

    def remaining_seconds(self, now: float) -> float:
        """Seconds left at POSIX time `now` (zero or negative once finished)."""
        return self.ends_at - now


TIMER_COLUMNS = "id, duration_seconds, started_at, ends_at, announced_at"
"""The columns `timer_from_row` reads, in its order."""


def timer_from_row(row: Sequence[Any]) -> Timer:
    """A Timer from a row of TIMER_COLUMNS."""
    announced = None if row[4] is None else float(row[4])
    return Timer(int(row[0]), int(row[1]), float(row[2]), float(row[3]), announced)


def check_duration(duration_seconds: int) -> None:
    """Refuse a timer that would never run."""
    if duration_seconds <= 0:
        raise AssistantError(f"timer duration must be positive, got {duration_seconds}")


def clean_names(names: Iterable[str]) -> list[str]:
    """Shopping item names stripped and without repeats, in order; refuses an empty one (and an
    empty call) and a NUL character before anything is written."""
    cleaned = [name.strip() for name in names]
    if not cleaned or not all(cleaned):
        raise AssistantError("shopping item is empty")
    if any("\x00" in name for name in cleaned):  # PostgreSQL cannot store it; SQLite would
        raise AssistantError("shopping item is not valid text: it contains a NUL character")
    return list(dict.fromkeys(cleaned))


class Store(Protocol):
    """Timers and the shopping list, persistent and shared by every process that opens the same
    database. Every operation is one transaction, all or nothing; a store that cannot be used now
    (locked, down, full, closed) raises StoreUnavailableError, bad input AssistantError."""

    description: str
    """Where the data lives, safe to log or print (a file path, or a URL without its password)."""

    def close(self) -> None:
        """Release the database; closing again does nothing, later operations are unavailable."""

    def add_timer(self, duration_seconds: int, started_at: float) -> Timer:
        """Start a timer of `duration_seconds` at POSIX time `started_at`."""

    def timers(self) -> list[Timer]:
        """The timers not yet announced (running, or due and about to be), soonest first."""

    def remove_timers(self, timer_ids: Iterable[int]) -> int:
        """Cancel the given timers unless already announced; returns how many were cancelled."""

    def claim_due_timers(self, now: float) -> list[Timer]:
        """Mark every unannounced timer due at `now` as announced and return them, soonest first:
        of all callers on the database, exactly one gets each timer."""

    def next_due_at(self) -> float | None:
        """When the soonest unannounced timer is due (POSIX seconds), or None without one."""

    def add_shopping_items(self, names: Iterable[str], added_at: float) -> list[str]:
        """Add every name in one transaction; returns those that were new."""

    def add_shopping_item(self, name: str, added_at: float) -> bool:
        """Add `name`; False when it was already there."""

    def shopping_items(self) -> list[str]:
        """The shopping list in the order items were added."""
