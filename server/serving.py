"""The process runner: uvicorn that drains on SIGTERM before it shuts down.

The first SIGTERM or SIGINT makes readiness false at once and refuses new synthesis (503); the
requests in flight get `drain_timeout_s` to finish, then uvicorn shuts down and the process exits
0. When the time runs out, or a second signal comes, the drain is cut off: whatever is still in
flight is answered 503 at once and the process exits 1. A third signal stops uvicorn waiting even
for connections to finish.

Only this module imports uvicorn; `server.app` works under any ASGI server. It overrides
`uvicorn.Server.handle_exit` and `on_tick` and sets `should_exit` and `force_exit`, as in uvicorn
0.29 to 0.54 (tests/test_server_lifecycle.py checks the behaviour).
"""

from __future__ import annotations

import logging
import time
from types import FrameType

import uvicorn

from server.lifecycle import Lifecycle

logger = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    """uvicorn that drains before its own shutdown (see the module's docstring).

    Unlike uvicorn.Server it does not re-raise the signal after shutting down, so a drained
    server exits 0. Signal handlers only assign attributes; the drain is checked, and cut off,
    on uvicorn's 0.1 s tick in the event loop.
    """

    def __init__(self, config: uvicorn.Config, lifecycle: Lifecycle, drain_timeout_s: float) -> None:
        super().__init__(config)
        self.lifecycle = lifecycle
        self.drain_timeout_s = drain_timeout_s
        self._drain_started: float | None = None
        self._drain_logged = False
        self._signals = 0
        self.cut_off = 0
        """Requests still in flight when the drain was cut off (time limit or a second signal)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: begin draining (readiness false at once). Second: cut the drain off on
        the next tick. Third: uvicorn no longer waits for connections either."""
        self._signals += 1
        if self._signals == 1:
            self._drain_started = time.monotonic()
            self.lifecycle.drain(self.drain_timeout_s)
        elif self._signals > 2:
            self.should_exit = True
            self.force_exit = True

    async def on_tick(self, counter: int) -> bool:
        """Every 0.1 s: while draining, exit once nothing is in flight, or cut the drain off."""
        if self._drain_started is not None and not self.should_exit:
            self._check_drain(self._drain_started)
        return await super().on_tick(counter)

    def _check_drain(self, started: float) -> None:
        """Log the drain's start and end; set should_exit when it is over, cutting it off if due."""
        in_flight = self.lifecycle.in_flight
        if not self._drain_logged:
            self._drain_logged = True
            logger.info("draining: %d request(s) in flight, waiting at most %g s",
                        in_flight, self.drain_timeout_s)
        if in_flight == 0:
            logger.info("drained in %.2f s; shutting down", time.monotonic() - started)
        elif self._signals > 1:
            self.cut_off = self.lifecycle.cut_off()
            logger.warning("second signal: drain cut off after %.2f s; %d request(s) unfinished, "
                           "answered 503", time.monotonic() - started, self.cut_off)
        elif self.lifecycle.drain_remaining_s() <= 0:
            self.cut_off = self.lifecycle.cut_off()
            logger.warning("drain time limit of %g s reached; %d request(s) unfinished, answered 503",
                           self.drain_timeout_s, self.cut_off)
        else:
            return
        self.should_exit = True
