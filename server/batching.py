"""The inference queue: bounded, shared by the worker threads, handing out batches of like requests.

A batch decodes until its longest sentence ends, so a short request batched with a long one waits
for it, and its row is computed all the while. The queue therefore builds each batch around its
oldest request (so none waits forever) and adds the requests of the same kind (voice and options:
one synthesis call) nearest to it in length. Requests of other lengths stay for the next batch,
which another worker thread may already be serving.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class BatchQueue(Generic[Item]):
    """A bounded FIFO from which worker threads take batches of one kind and similar length."""

    def __init__(
        self, maxsize: int, kind_of: Callable[[Item], Hashable], length_of: Callable[[Item], int]
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self.maxsize = maxsize
        self.kind_of = kind_of
        """Items of one kind can share a batch (for Sori: the same voice and options)."""
        self.length_of = length_of
        """An item's decoding length (for Sori: symbols of its longest sentence)."""
        self._items: list[Item] = []  # oldest first
        self._changed = threading.Condition()

    def put_nowait(self, item: Item) -> None:
        """Append an item; queue.Full when there is no room."""
        with self._changed:
            if len(self._items) >= self.maxsize:
                raise queue.Full
            self._items.append(item)
            self._changed.notify_all()

    def take(self, max_size: int, wait_s: float, timeout_s: float) -> list[Item]:
        """A batch: the oldest item, then those of its kind nearest to it in length, up to max_size.

        Waits up to timeout_s for a first item ([] when none came, or another thread took it),
        then up to wait_s more while fewer than max_size items are queued, so a burst arriving
        together is served together.
        """
        if max_size < 1:
            raise ValueError("max_size must be >= 1")
        with self._changed:
            if not self._changed.wait_for(lambda: self._items, timeout_s):
                return []
            deadline = time.monotonic() + wait_s
            while len(self._items) < max_size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return self._pick(max_size) if self._items else []

    def _pick(self, max_size: int) -> list[Item]:
        """Remove and return the oldest item and up to max_size - 1 of its kind nearest in length
        (ties: the older first), in arrival order. Call with the lock held."""
        oldest = self._items[0]
        kind, length = self.kind_of(oldest), self.length_of(oldest)
        alike = sorted(
            (abs(self.length_of(item) - length), index)
            for index, item in enumerate(self._items[1:], start=1)
            if self.kind_of(item) == kind
        )
        chosen = {0, *(index for _, index in alike[: max_size - 1])}
        batch = [item for index, item in enumerate(self._items) if index in chosen]
        self._items = [item for index, item in enumerate(self._items) if index not in chosen]
        return batch

    def take_all(self) -> list[Item]:
        """Remove and return every queued item, oldest first."""
        with self._changed:
            items, self._items = self._items, []
            return items

    def qsize(self) -> int:
        """Items waiting."""
        with self._changed:
            return len(self._items)

    def full(self) -> bool:
        """No room for another item right now."""
        with self._changed:
            return len(self._items) >= self.maxsize
