"""The speech backend seam: where `SpeechService` and `SentenceStream` get their speech from.

Two backends share one small interface: the in-process `InferenceWorker` (the default) and
`server.cluster.backend.RayBackend`, which calls a Ray Serve model deployment's handle. Both take
a batch of analysed sentences (a whole request, or one group of a stream) and answer with the
synthesis and the id of the model replica that made it (`local` in process). Cancelling the
returned future drops the work if it has not started. Errors arrive as `ServiceError`s on the
future (503 with Retry-After when full, 504 at the deadline), so the routes map them the same way
on both backends.

A stream is a `GroupSource`: its sentence groups (`tts.stream_groups`) synthesised in order, each
sent once the one before is ready. In process (`QueuedGroups`) each group is one `speak`; on Ray
the model replica runs the groups from one generator call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from server.errors import QueueFullError, RequestTimeoutError
from server.inference_process import Analyzed
from server.voice_registry import Voice
from tts import SynthesisOptions, SynthesisResult

LOCAL_REPLICA = "local"
"""X-Sori-Replica of speech synthesised in the server's own process."""

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Spoken:
    """One batch item's synthesis and the model replica that made it."""

    result: SynthesisResult
    replica: str
    """The replica's id as the operator sees it (Ray's replica id; `local` in process)."""


QUEUE_POLL_S = 0.05
"""How often a stream's next group retries a full queue (it was admitted: its groups are owed)."""


class GroupSource(Protocol):
    """One stream's sentence groups, synthesised in order by a backend."""

    def start(self) -> None:
        """Send the first group (QueueFullError at once when refused, RequestTimeoutError when the
        deadline has passed)."""

    async def result(self, group: int) -> Spoken:
        """Group `group`'s synthesis, asked for in order; errors as `ServiceError`s."""

    def close(self) -> None:
        """Drop every group not yet synthesised (the reader left, or the stream failed)."""


class SpeechBackend(Protocol):
    """What the service needs from whoever synthesises: admission, speech, and its state."""

    name: str
    """Where the model runs, as /readyz reports it (a device, or `ray`)."""

    @property
    def alive(self) -> bool:
        """The backend accepts work (started, not stopping)."""

    @property
    def depth(self) -> int:
        """Requests waiting here for synthesis (the queue-depth metric)."""

    @property
    def full(self) -> bool:
        """No room for another request right now (requests would be refused 503)."""

    def retry_after_s(self) -> int:
        """A client's sensible wait when full."""

    def speak(
        self, voice: Voice, sentences: Analyzed, options: SynthesisOptions, timeout_s: float
    ) -> asyncio.Future[Spoken]:
        """Synthesise one request's sentences in `voice` (call from the event loop); QueueFullError
        when refused at once. Cancelling the future drops the work if it has not started."""

    def stream(
        self, voice: Voice, sentences: Analyzed, groups: Sequence[range], options: SynthesisOptions,
        deadline: float,
    ) -> GroupSource:
        """`sentences` as a stream of `groups`, all done by `deadline` (time.monotonic())."""

    async def ready(self) -> str | None:
        """None when speech can be served now, else why not (for /readyz)."""

    def start(self) -> None:
        """Begin serving (blocking; called in a thread)."""

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop serving (blocking; called in a thread); what is queued gets 503."""

    def abandon(self) -> None:
        """A cut-off drain: answer everything held 503 at once."""


def mark_retrieved(future: asyncio.Future[Any]) -> None:
    """A done-callback: mark a future's error as seen (it reaches its reader another way, or the
    reader has gone), so asyncio does not log it as never retrieved."""
    if not future.cancelled():
        future.exception()


def chain(inner: asyncio.Future[T], convert: Callable[[T], U]) -> asyncio.Future[U]:
    """A future of `convert(inner's result)`: errors pass through, and cancelling it cancels
    `inner` (so the work behind it is dropped)."""
    outer: asyncio.Future[U] = inner.get_loop().create_future()

    def settle(done: asyncio.Future[T]) -> None:
        if outer.done():
            return
        if done.cancelled():
            outer.cancel()
        elif (error := done.exception()) is not None:
            outer.set_exception(error)
        else:
            outer.set_result(convert(done.result()))

    inner.add_done_callback(settle)
    outer.add_done_callback(lambda future: inner.cancel() if future.cancelled() else None)
    return outer


class QueuedGroups:
    """A stream through `speak`: one group queued at a time, the next as soon as the one before is
    ready (while that one is sent and played), waiting for room if the queue is full."""

    def __init__(
        self, backend: SpeechBackend, voice: Voice, sentences: Analyzed, groups: Sequence[range],
        options: SynthesisOptions, deadline: float,
    ) -> None:
        self.backend = backend
        self.voice = voice
        self.sentences = sentences
        self.groups = groups
        self.options = options
        self.deadline = deadline
        self._jobs: list[asyncio.Future[Spoken]] = []
        """Every group queued so far, in order."""
        self._next: asyncio.Task[None] | None = None
        """Queues the next group (waiting for room in the queue if need be)."""
        self._closed = False

    def start(self) -> None:
        """Queue the first group."""
        self._queue(0)

    async def result(self, group: int) -> Spoken:
        """Wait for group `group` (queued by now, or being queued), then queue the next."""
        while len(self._jobs) <= group:
            if self._next is None:
                raise RuntimeError(f"group {group} was never queued")  # a bug, not a client's error
            await asyncio.shield(self._next)
        spoken = await asyncio.shield(self._jobs[group])
        if group + 1 < len(self.groups) and not self._closed:
            self._next = asyncio.ensure_future(self._queue_owed(group + 1))
        return spoken

    def _queue(self, group: int) -> None:
        """Submit group `group` (QueueFullError when there is no room)."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise RequestTimeoutError("the request's time ran out before its speech could be queued")
        part = self.sentences[self.groups[group].start : self.groups[group].stop]
        self._jobs.append(self.backend.speak(self.voice, part, self.options, remaining))

    async def _queue_owed(self, group: int) -> None:
        """Queue group `group`, retrying a full queue until the deadline."""
        while True:
            try:
                self._queue(group)
                return
            except QueueFullError:
                if time.monotonic() + QUEUE_POLL_S >= self.deadline:
                    raise RequestTimeoutError("the queue had no room for the next sentence in time") from None
                await asyncio.sleep(QUEUE_POLL_S)

    def close(self) -> None:
        """Cancel the queueing and every queued group (the worker skips a cancelled one)."""
        if self._closed:
            return
        self._closed = True
        if self._next is not None:
            if not self._next.done():
                self._next.cancel()
            elif not self._next.cancelled():
                with contextlib.suppress(Exception):  # raised to the reader already, or nobody reads
                    self._next.exception()
        for future in self._jobs:
            future.cancel()
