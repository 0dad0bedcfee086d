"""The app's lifecycle (starting, ready, degraded, draining, stopped) and the uvicorn server that
drains on SIGTERM: readiness goes false at once, new synthesis gets 503, what is in flight finishes
(within a time limit), then the process exits 0.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn

from server.errors import NotReadyError, ShuttingDownError

logger = logging.getLogger(__name__)


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

    Used from the event loop's thread; `drain` may also run in a signal handler there, so every
    change is a plain attribute assignment.
    """

    def __init__(self) -> None:
        self.phase = Phase.STARTING
        self.reason: str | None = "the server is starting"
        """Why the app is not ready (None when ready); shown by /readyz and in 503s."""
        self.in_flight = 0
        """Synthesis requests admitted and not yet answered."""
        self._drain_deadline: float | None = None

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


class DrainingServer(uvicorn.Server):
    """uvicorn that drains before its own shutdown: the first SIGTERM or SIGINT stops admitting
    synthesis and waits for the requests in flight (at most drain_timeout_s); a second forces the exit.

    Unlike uvicorn.Server it does not re-raise the signal after shutting down, so a drained server
    exits 0.
    """

    def __init__(self, config: uvicorn.Config, lifecycle: Lifecycle, drain_timeout_s: float) -> None:
        super().__init__(config)
        self.lifecycle = lifecycle
        self.drain_timeout_s = drain_timeout_s
        self._drain_started: float | None = None
        self._drain_logged = False
        self.cut_off = 0
        """Requests still in flight when the drain was cut short (time limit or a second signal)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: begin draining; readiness goes false at once. Second: exit now."""
        if self._drain_started is None:
            self._drain_started = time.monotonic()
            self.lifecycle.drain(self.drain_timeout_s)
        else:
            self.cut_off = self.lifecycle.in_flight
            self.should_exit = True
            self.force_exit = True

    async def on_tick(self, counter: int) -> bool:
        """Every 0.1 s: while draining, exit once nothing is in flight or the time is up."""
        if self._drain_started is not None and not self.should_exit:
            self._check_drain(self._drain_started)
        return await super().on_tick(counter)

    def _check_drain(self, started: float) -> None:
        """Log the drain's start and end; set should_exit when it is over."""
        in_flight = self.lifecycle.in_flight
        if not self._drain_logged:
            self._drain_logged = True
            logger.info("draining: %d request(s) in flight, waiting at most %g s",
                        in_flight, self.drain_timeout_s)
        if in_flight == 0:
            logger.info("drained in %.2f s; shutting down", time.monotonic() - started)
            self.should_exit = True
        elif self.lifecycle.drain_remaining_s() <= 0:
            logger.warning("drain time limit of %g s reached with %d request(s) still in flight; "
                           "shutting down anyway", self.drain_timeout_s, in_flight)
            self.cut_off = in_flight
            self.should_exit = True
