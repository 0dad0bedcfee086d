"""Announcements as events: the `timer-finished` record, its server-sent-events and JSON forms, and
the hub that hands each one to the clients connected to /assistant/events at that moment.

The hub is used on the event loop's thread only. A client that connects later does not get what was
published before it came; one that reads too slowly loses its oldest unread events (counted), so it
never holds memory or delays the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

logger = logging.getLogger(__name__)

TIMER_FINISHED = "timer-finished"


@dataclass(frozen=True)
class TimerFinished:
    """One timer's announcement, made once across every server sharing the store."""

    id: int
    """The timer's id in the store."""
    duration_seconds: int
    """How long it was set for."""
    due_at: float
    """When it finished, POSIX seconds (ISO 8601 in UTC in the event's data)."""
    reply: str
    """The Korean sentence said, e.g. "5분 타이머가 끝났어요."."""
    audio: str | None
    """That sentence as a base64 WAV, synthesised once per announcement; None if it could not be."""

    event: ClassVar[str] = TIMER_FINISHED

    def to_dict(self) -> dict[str, Any]:
        """The event's data: id, duration_seconds, due_at (ISO 8601, UTC), reply, audio."""
        due = datetime.fromtimestamp(self.due_at, UTC).isoformat(timespec="milliseconds")
        return {"id": self.id, "duration_seconds": self.duration_seconds, "due_at": due,
                "reply": self.reply, "audio": self.audio}

    def to_sse(self) -> str:
        """The event in server-sent-events framing (its id is the timer's)."""
        data = json.dumps(self.to_dict(), ensure_ascii=False)
        return f"event: {self.event}\nid: {self.id}\ndata: {data}\n\n"


class EventHub:
    """Fans published events out to the subscribers present at that moment."""

    def __init__(self, max_queued: int = 32) -> None:
        self._max_queued = max_queued
        self._subscribers: set[asyncio.Queue[TimerFinished | None]] = set()
        self.dropped = 0
        """Events a slow subscriber lost because its queue was full."""

    @property
    def subscribers(self) -> int:
        """Clients listening now."""
        return len(self._subscribers)

    @contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[TimerFinished | None]]:
        """A queue that receives every event published while the block runs; None means the hub
        closed (the server stops)."""
        queue: asyncio.Queue[TimerFinished | None] = asyncio.Queue(self._max_queued)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    def publish(self, event: TimerFinished) -> None:
        """Hand `event` to every subscriber; a full queue drops its oldest event to make room."""
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
                logger.warning("an events client reads too slowly: its oldest event was dropped")
            queue.put_nowait(event)

    def close(self) -> None:
        """Tell every subscriber that no more events come."""
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)
