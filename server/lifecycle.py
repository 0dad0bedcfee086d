"""The app's lifecycle: starting, ready, degraded (no usable default voice), draining, stopped.

Only READY admits synthesis. The process runner (server/serving.py) drives the drain: it calls
`drain` on the first SIGTERM, and `cut_off` when the drain runs out of time or a second signal
comes, which answers whatever is still in flight with 503 at once.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from server.errors import NotReadyError, ShuttingDownError


class Phase(enum.Enum):
    """Where the app stands; only READY admits synthesis."""

    STARTING = "starting"
    READY = "ready"
    DEGRADED = "degraded"
    """Up and answering, but the default voice could not be loaded: synthesis answers 503."""
    DRAINING = "draining"
    """Shutting down: finishing what is in flight, refusing new work."""
    STOPPED = "stopped"


class Lifecycle:
    """The app's phase, why it is not ready, and how many synthesis requests it is serving.

    Used from the event loop's thread; `drain` may also run in a signal handler there, so it only
    assigns attributes. `cut_off` never runs in a signal handler: its callbacks take locks.
    """

    def __init__(self) -> None:
        self.phase = Phase.STARTING
        self.reason: str | None = "the server is starting"
        """Why the app is not ready (None when ready); shown by /readyz and in 503s."""
        self.in_flight = 0
        """Synthesis requests admitted and not yet answered."""
        self._drain_deadline: float | None = None
        self._on_cut_off: list[Callable[[], None]] = []

    def ready(self) -> None:
        """Start-up finished with the default voice loaded (a drain already begun is kept)."""
        if self.phase is Phase.STARTING:
            self.phase, self.reason = Phase.READY, None

    def degrade(self, reason: str) -> None:
        """Start-up finished without a usable default voice; keep serving probes with the reason."""
        if self.phase is Phase.STARTING:
            self.phase, self.reason = Phase.DEGRADED, reason

    def drain(self, timeout_s: float) -> None:
        """Stop admitting work; what is in flight has `timeout_s` to finish."""
        if self.phase is not Phase.DRAINING:
            self._drain_deadline = time.monotonic() + timeout_s
            self.phase, self.reason = Phase.DRAINING, "the server is shutting down"

    def when_cut_off(self, callback: Callable[[], None]) -> None:
        """Run `callback` (on the event loop) if a drain is cut short: it must answer what it holds."""
        self._on_cut_off.append(callback)

    def cut_off(self) -> int:
        """End the drain now, with work unfinished: every when_cut_off callback runs once (the
        inference worker answers its queued and running requests 503); the requests in flight."""
        unfinished = self.in_flight
        callbacks, self._on_cut_off = self._on_cut_off, []
        for callback in callbacks:
            callback()
        return unfinished

    def stop(self) -> None:
        """The lifespan has ended: nothing is served any more."""
        self.phase, self.reason = Phase.STOPPED, "the server has stopped"

    def drain_remaining_s(self) -> float:
        """Seconds left of the drain (0 when not draining or past the limit)."""
        if self._drain_deadline is None:
            return 0.0
        return max(0.0, self._drain_deadline - time.monotonic())

    def admit(self) -> None:
        """Raise unless ready: ShuttingDownError (503, Retry-After) while draining, else NotReadyError."""
        if self.phase is Phase.READY:
            return
        if self.phase is Phase.DRAINING:
            raise ShuttingDownError(math.ceil(self.drain_remaining_s()))
        raise NotReadyError(self.reason)

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Admit one synthesis request and count it as in flight until it is answered."""
        self.admit()
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
