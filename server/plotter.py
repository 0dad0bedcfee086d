"""Alignment plots drawn in a child process, one at a time.

Drawing many panels is seconds of pure-Python matplotlib work. In the server's process it would
hold the interpreter lock that request handling and CPU synthesis need (short /speak requests
slowed 3-6x while a 16-sentence plot was drawn on a thread), and waiting its turn in the shared
thread pool it would hold a slot that /speak needs to read text and encode audio. So plots go to a
child of their own, started by the first plot (spawned: it shares no locks or threads with the
server) at a lower CPU priority (nice 10: on a busy machine speech goes first), and a child that
dies is replaced for the next plot.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

PLOT_NICENESS = 10
"""How much lower the plotting process's CPU priority is than the server's."""


def _lower_priority() -> None:
    """In the plotting process: yield the CPU to the server's requests and synthesis."""
    with contextlib.suppress(OSError, AttributeError):  # no os.nice on this platform, or not allowed
        os.nice(PLOT_NICENESS)


class Plotter:
    """Runs plotting functions in one child process, in the order submitted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """Queue `function(*args)` (both picklable) for the child; a dead child is replaced first."""
        with self._lock:
            if self._pool is not None:
                try:
                    return self._pool.submit(function, *args)
                except BrokenProcessPool:
                    logger.warning("the plotting process had stopped; starting a new one")
                    self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_lower_priority
            )
            return self._pool.submit(function, *args)

    def close(self) -> None:
        """Drop the plots not started yet and let the child end after the one it is drawing."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
