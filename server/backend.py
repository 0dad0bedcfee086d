"""The speech backend seam: where `SpeechService` and `SentenceStream` get their speech from.

Two backends share one small interface: the in-process `InferenceWorker` (the default) and
`server.cluster.backend.RayBackend`, which calls a Ray Serve model deployment's handle. Both take
a batch of analysed sentences (a whole request, or one group of a stream) and answer with the
synthesis and the id of the model replica that made it (`local` in process). Cancelling the
returned future drops the work if it has not started. Errors arrive as `ServiceError`s on the
future (503 with Retry-After when full, 504 at the deadline), so the routes map them the same way
on both backends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

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

    async def ready(self) -> str | None:
        """None when speech can be served now, else why not (for /readyz)."""

    def start(self) -> None:
        """Begin serving (blocking; called in a thread)."""

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop serving (blocking; called in a thread); what is queued gets 503."""

    def abandon(self) -> None:
        """A cut-off drain: answer everything held 503 at once."""


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
