"""Timers that ring: a background task that claims each due timer from the store and announces it.

The claim is atomic in the database (see `Store.claim_due_timers`), so of all the servers sharing a
store exactly one announces each timer; the others see it claimed. The task sleeps until the next
due time but looks at the store at least every `poll_s`, so a timer started through another server
rings on time too. A timer that came due while no server ran is claimed at the next start and
announced as overdue. Each announcement runs as its own task, so a slow synthesis delays neither
the next claim nor other announcements; the `announce` callback does the speaking and publishing.

A server that dies between claiming a timer and publishing it loses that announcement: at most
once, never twice.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool

from assistant import StoreUnavailableError
from assistant.skills.timers import OVERDUE_AFTER_SECONDS, announcement
from assistant.store import Store, Timer
from server.errors import ServiceError
from server.events import EventHub, TimerFinished
from server.metrics import Metrics
from server.routes.common import voice_for
from server.speech import SpeechService
from server.voice_registry import VoiceRegistry
from server.webhook import WebhookNotifier

logger = logging.getLogger(__name__)

Announce = Callable[[Timer, float], Awaitable[None]]
"""Speaks and publishes one claimed timer, given the time it was claimed at."""

STORE_RETRY_S = 1.0
"""How long to wait before looking again after the store failed."""


class TimerAnnouncer:
    """Claims due timers from `store` and runs `announce` for each, until stopped."""

    def __init__(
        self, store: Store, announce: Announce, metrics: Metrics, *, poll_s: float = 0.25,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._announce = announce
        self._metrics = metrics
        self._poll_s = poll_s
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._announcing: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Start the loop on the running event loop."""
        self._task = asyncio.create_task(self._run(), name="sori-timer-announcer")

    async def stop(self) -> None:
        """Stop looking for timers and cancel announcements under way."""
        tasks = [*self._announcing, *([self._task] if self._task is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        """Sleep until the next due time (at most poll_s), claim, announce; again."""
        failing = False
        while True:
            try:
                wait = await self._claim_and_announce()
            except StoreUnavailableError as error:
                self._metrics.store_errors.labels(source="announcer").inc()
                if not failing:
                    logger.warning("timers cannot be checked: %s (retrying every %g s)", error, STORE_RETRY_S)
                failing, wait = True, STORE_RETRY_S
            except Exception:  # a bug must not silence every later timer
                logger.exception("the timer announcer failed; retrying")
                wait = STORE_RETRY_S
            else:
                if failing:
                    logger.info("timers can be checked again")
                failing = False
            await asyncio.sleep(wait)

    async def _claim_and_announce(self) -> float:
        """Claim what is due now and start announcing it; the seconds to sleep before looking again."""
        due_at = await run_in_threadpool(self._store.next_due_at)
        now = self._clock()
        if due_at is not None and due_at <= now:
            for timer in await run_in_threadpool(self._store.claim_due_timers, now):
                task = asyncio.create_task(self._announce_one(timer, now), name=f"sori-timer-{timer.id}")
                self._announcing.add(task)
                task.add_done_callback(self._announcing.discard)
            return 0.0
        return self._poll_s if due_at is None else min(self._poll_s, max(0.0, due_at - now))

    async def _announce_one(self, timer: Timer, claimed_at: float) -> None:
        """Run `announce` for one timer, logging (not raising) its failure."""
        try:
            await self._announce(timer, claimed_at)
        except Exception:
            logger.exception("announcing timer %d failed", timer.id)


def speak_and_publish(
    registry: VoiceRegistry, speech: SpeechService, hub: EventHub, webhook: WebhookNotifier | None,
    metrics: Metrics,
) -> Announce:
    """The `announce` callback of a server: the timers skill's sentence, spoken once through the
    normal speech path (queue, batching, cache) with the default voice, then published to the event
    clients and queued for the webhook. Audio that cannot be made leaves `audio` null."""

    async def announce(timer: Timer, claimed_at: float) -> None:
        reply = announcement(timer, claimed_at)
        audio: str | None = None
        try:
            voice = await voice_for(registry, None)
            spoken, _ = await speech.synthesize_owed(voice, reply, speech.options())
            audio = base64.b64encode(await speech.encode(spoken, "wav")).decode("ascii")
        except ServiceError as error:
            logger.warning("timer %d's announcement %r not spoken: %s", timer.id, reply, error.detail)
        overdue = claimed_at - timer.ends_at >= OVERDUE_AFTER_SECONDS
        metrics.announcements.labels(when="overdue" if overdue else "on_time").inc()
        event = TimerFinished(timer.id, timer.duration_seconds, timer.ends_at, reply, audio)
        logger.info("timer %d announced: %s", timer.id, reply)
        hub.publish(event)
        if webhook is not None:
            webhook.submit(event)

    return announce
