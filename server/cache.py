"""An LRU cache of finished syntheses with single-flight: identical concurrent requests share one.

The LRU part is guarded by a lock, so any thread may read or fill it. The in-flight part holds
asyncio tasks and belongs to the event loop that created them.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, Literal, TypeVar

V = TypeVar("V")

Lookup = Literal["hit", "shared", "miss"]
"""hit: served from the cache; shared: joined an identical request in flight; miss: started one."""


class SingleFlightCache(Generic[V]):
    """Key -> value, bounded by entry count and total size, plus one in-flight task per key."""

    def __init__(self, max_entries: int, max_bytes: int, size_of: Callable[[V], int]) -> None:
        if max_entries < 0 or max_bytes < 0:
            raise ValueError("max_entries and max_bytes must not be negative")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._inflight: dict[Hashable, asyncio.Task[V]] = {}
        self._waiters: dict[Hashable, int] = {}  # requests awaiting each in-flight task

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def total_bytes(self) -> int:
        """Size of everything cached, as measured by size_of."""
        with self._lock:
            return self._bytes

    def get(self, key: Hashable) -> V | None:
        """The cached value (now most recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: V) -> None:
        """Store a value, evicting the least recently used beyond the bounds."""
        size = self._size_of(value)
        if self.max_entries == 0 or size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, size)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted

    def fetch(
        self, key: Hashable, create: Callable[[], Awaitable[V]]
    ) -> tuple[asyncio.Future[V], Lookup]:
        """A future for key's value: done at once on a hit, else the (possibly new) in-flight task.

        Call from the event loop. A task that succeeds fills the cache; one that fails is forgotten,
        so the next request tries again. Await the future through `asyncio.shield` when a waiter may
        give up, so the others keep their shared task, and call `leave` when done waiting.
        """
        value = self.get(key)
        if value is not None:
            done: asyncio.Future[V] = asyncio.get_running_loop().create_future()
            done.set_result(value)
            return done, "hit"
        task = self._inflight.get(key)
        if task is not None:
            self._waiters[key] += 1
            return task, "shared"
        task = asyncio.ensure_future(create())
        self._inflight[key] = task
        self._waiters[key] = 1
        task.add_done_callback(lambda finished: self._settle(key, finished))
        return task, "miss"

    def leave(self, key: Hashable, future: asyncio.Future[V], *, abandon: bool = False) -> bool:
        """One waiter on `fetch`'s future stops waiting; True when this cancelled the computation.

        With abandon (its client went away), the computation is cancelled if nobody else waits for
        it; without (a timeout), it runs on and fills the cache for the next asker.
        """
        if self._inflight.get(key) is not future:
            return False  # a hit, or already finished
        self._waiters[key] -= 1
        if abandon and self._waiters[key] == 0:
            # Forgotten at once, so a request arriving before the task unwinds starts afresh.
            del self._inflight[key], self._waiters[key]
            future.cancel()
            return True
        return False

    def _settle(self, key: Hashable, task: asyncio.Task[V]) -> None:
        """Move a finished task's value into the LRU (errors are not cached)."""
        if self._inflight.get(key) is task:
            del self._inflight[key]
            del self._waiters[key]
        if task.cancelled() or task.exception() is not None:
            return
        self.put(key, task.result())
