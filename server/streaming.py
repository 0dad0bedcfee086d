"""Speech as a stream: a text's sentences through the speech backend, each sent as soon as it is ready.

A stream is synthesised in the groups `Synthesizer.stream` decodes (`stream_groups`: the first
sentence alone, then 2, 4, ...), one group at a time, the next sent as soon as the one before is
ready, while that one is being sent and played (`server.backend.GroupSource`: queued in the
shared worker in process, one generator call on a Ray model replica). So the first sentence is
heard after one sentence's time, the rest still decodes in batches, shared with other requests',
the chunks equal `Synthesizer.stream`'s (on a server with nothing else to batch with them), and a
client that leaves leaves at most one group behind, dropped if no worker has started on it. The
waits end early when the client goes; the stream then counts once in
`sori_cancelled_requests_total` and its unsent sentences in `sori_stream_sentences_cancelled_total`.
Streams are not cached: a cached answer would arrive whole, not as a stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, TypeVar

from server.backend import LOCAL_REPLICA, mark_retrieved
from server.errors import ClientDisconnectedError, RequestTimeoutError
from server.speech import SpeechService
from server.voice_registry import Voice
from tts import FrontendResult, SpeechChunk, SynthesisOptions, stream_groups

logger = logging.getLogger(__name__)

T = TypeVar("T")

Sentences = Sequence[tuple[str, FrontendResult]]


async def open_stream(speech: SpeechService, voice: Voice, text: str, options: SynthesisOptions) -> SentenceStream:
    """Validate `text` (UnspeakableTextError) and make its stream; nothing is queued until `first()`."""
    return SentenceStream(speech, voice, await speech.analyze(voice, text, options), options)


class SentenceStream:
    """One request's sentences, synthesised group by group, yielded in order as `SpeechChunk`s.

    Errors before the first chunk (queue full: 503, timeout: 504, client gone) raise from `first()`
    so a route can still answer them as JSON; later ones raise from the iteration.
    """

    def __init__(self, speech: SpeechService, voice: Voice, sentences: Sentences, options: SynthesisOptions) -> None:
        self.metrics = speech.metrics
        self.voice = voice
        self.sentences = sentences
        self.options = options
        self.timeout_s = speech.request_timeout_s
        self.deadline = time.monotonic() + self.timeout_s
        """The whole stream has the per-request time limit, as a request answered at once does."""
        self._client_gone = speech.client_gone
        """Returns once the request's client has left (None: nobody to watch, as in tests)."""
        self._gone: asyncio.Future[Any] | None = None
        self.groups = stream_groups(len(sentences), voice.synthesizer.max_batch_size)
        self.source = speech.worker.stream(voice, list(sentences), self.groups, options, self.deadline)
        """The groups as the backend synthesises them."""
        self.replica = LOCAL_REPLICA
        """The model replica that synthesised the first group (X-Sori-Replica; known after `first()`)."""
        self._delivered = 0
        self._closed = False

    @property
    def sample_rate(self) -> int:
        """Samples per second of every chunk."""
        return self.voice.synthesizer.sample_rate

    async def first(self) -> SpeechChunk:
        """Send the first sentence and wait for it (QueueFullError at once when there is no room)."""
        try:
            self.source.start()
        except RequestTimeoutError:
            self.metrics.timeouts.inc()
            raise
        (chunk,) = await self._group(0)
        self._delivered = 1
        return chunk

    async def rest(self) -> AsyncIterator[SpeechChunk]:
        """The chunks after the first, in order; the stream is closed when this ends or is closed."""
        try:
            for group in range(1, len(self.groups)):
                for chunk in await self._group(group):
                    yield chunk
                    self._delivered = chunk.index + 1
        finally:
            self.close()

    async def _group(self, group: int) -> list[SpeechChunk]:
        """Wait for group `group` and make its chunks."""
        pending = asyncio.ensure_future(self.source.result(group))
        pending.add_done_callback(mark_retrieved)  # raised below, unless the stream has given up on it
        try:
            spoken = await self._wait(asyncio.shield(pending))
        except (ClientDisconnectedError, asyncio.CancelledError, GeneratorExit):
            self.close()  # the reader went away (or its task was cancelled when it did)
            raise
        except BaseException:
            self.close(cancelled=False)
            raise
        if group == 0:
            self.replica = spoken.replica
        result = spoken.result
        failed = len(result.failed_sentences)
        if failed:
            self.metrics.attention_failures.inc(failed)
        return self.voice.synthesizer.chunks_of(result, self.groups[group].start, self.options)

    async def _wait(self, awaitable: Awaitable[T]) -> T:
        """Await until done, the stream's deadline or the client going, whichever is first."""
        waiting = asyncio.ensure_future(awaitable)
        watched: list[asyncio.Future[Any]] = [waiting]
        if self._client_gone is not None:
            if self._gone is None:
                self._gone = asyncio.ensure_future(self._client_gone())
            watched.append(self._gone)
        try:
            done, _ = await asyncio.wait(
                watched, timeout=max(0.0, self.deadline - time.monotonic()), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not waiting.done():
                waiting.cancel()  # a shield: the groups themselves are dropped by close()
        if waiting in done:
            try:
                return waiting.result()
            except RequestTimeoutError:  # the backend's own deadline (the queue had no room in time)
                self.metrics.timeouts.inc()
                raise
        if self._gone is not None and self._gone in done:
            raise ClientDisconnectedError()
        self.metrics.timeouts.inc()
        raise RequestTimeoutError(f"synthesis did not finish within {self.timeout_s:g} s")

    def close(self, cancelled: bool = True) -> None:
        """Drop what is still to come. A stream its reader left before the end (`cancelled`) counts
        as a cancelled request, its unsent sentences as cancelled sentences; one ended by an error
        was counted where the error arose."""
        if self._closed:
            return
        self._closed = True
        self.source.close()
        if self._gone is not None:
            self._gone.cancel()
        undelivered = len(self.sentences) - self._delivered
        if undelivered and cancelled:
            self.metrics.cancelled.inc()
            self.metrics.stream_sentences_cancelled.inc(undelivered)
