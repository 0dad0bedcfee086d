"""SORI_WEBHOOK_URL: each announcement also POSTed as JSON, from a queue and a task of its own.

A POST that fails (connection refused, timeout, a status other than 2xx) is retried with doubling
backoff; one still failing after the retries is given up and counted (`sori_webhook_failures`), as
is one dropped because the queue was full. Nothing here ever waits inside the announcer: a dead or
slow webhook delays no event stream and no other announcement.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import httpx

from server.events import TimerFinished
from server.metrics import Metrics

logger = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.5
"""Wait before the first retry; each later retry waits twice as long as the one before."""


def _shown(url: str) -> str:
    """The webhook URL without its path (Home Assistant's webhook id there is a secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}/…"


class WebhookNotifier:
    """POSTs submitted events to `url`, one at a time, in the order submitted."""

    def __init__(
        self, url: str, metrics: Metrics, *, timeout_s: float = 5.0, retries: int = 3,
        max_queued: int = 100, first_backoff_s: float = FIRST_BACKOFF_S,
    ) -> None:
        self.url = url
        self._metrics = metrics
        self._timeout_s = timeout_s
        self._retries = retries
        self._first_backoff_s = first_backoff_s
        self._queue: asyncio.Queue[TimerFinished] = asyncio.Queue(max_queued)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start delivering on the running event loop."""
        self._task = asyncio.create_task(self._run(), name="sori-webhook")

    async def stop(self) -> None:
        """Stop delivering; what is still queued is not sent."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def submit(self, event: TimerFinished) -> None:
        """Queue `event` for delivery without waiting; a full queue drops it (counted as failed)."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._metrics.webhook_failures.inc()
            logger.warning("webhook %s: queue full, timer %d's event dropped", _shown(self.url), event.id)

    async def _run(self) -> None:
        """Deliver queued events one after another, for as long as the server runs."""
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            while True:
                event = await self._queue.get()
                await self._deliver(client, event)

    async def _deliver(self, client: httpx.AsyncClient, event: TimerFinished) -> None:
        """POST one event, retrying with backoff; count it when given up."""
        backoff = self._first_backoff_s
        for attempt in range(self._retries + 1):
            try:
                response = await client.post(self.url, json=event.to_dict())
                if response.is_success:
                    self._metrics.webhook_deliveries.inc()
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as error:
                problem = type(error).__name__
            if attempt < self._retries:
                self._metrics.webhook_retries.inc()
                await asyncio.sleep(backoff)
                backoff *= 2
        self._metrics.webhook_failures.inc()
        logger.warning("webhook %s: timer %d's event not delivered after %d attempt(s): %s",
                       _shown(self.url), event.id, self._retries + 1, problem)
