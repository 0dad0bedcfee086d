"""The speech service: validate text off the loop, share identical work, queue the rest, wait.

Routes call `SpeechService.synthesize` and get a `Speech` (what the cache keeps), then encode it
as audio in the thread pool or plot its alignment in the plotting process (server/plotter.py).
Each request gets its own view of the service (`for_client`) that knows when its client has gone,
so work nobody waits for is dropped. A plot that has not started when its request's deadline
passes is dropped too; its cost is bounded by `Settings.max_alignment_sentences` (the route).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool

from server.backend import LOCAL_REPLICA, QUEUE_POLL_S, SpeechBackend
from server.cache import Lookup, SingleFlightCache
from server.errors import (
    ClientDisconnectedError,
    InvalidInputError,
    PlotProcessStoppedError,
    QueueFullError,
    RequestTimeoutError,
    UnspeakableTextError,
)
from server.metrics import Metrics
from server.plotter import Plotter
from server.voice_registry import Voice
from tts import (
    AudioFormat,
    FrontendError,
    FrontendResult,
    SynthesisOptions,
    SynthesisResult,
    VocoderName,
    VoiceError,
    encode_audio,
    plot_alignment,
)

logger = logging.getLogger(__name__)

MAX_DETAIL_CHARS = 300
"""Frontend messages quote the text; keep what goes back to the client short."""

MAX_DROPPED_IN_HEADER = 32
"""Most distinct dropped characters named in X-Sori-Dropped (a header must stay small)."""


def dropped_header(dropped: Sequence[str]) -> str:
    """X-Sori-Dropped: a JSON array of the distinct characters that could not be spoken, in order
    of first appearance (at most MAX_DROPPED_IN_HEADER), with non-ASCII as \\u escapes so it is
    valid header text; `[]` when nothing was dropped."""
    distinct = list(dict.fromkeys(dropped))[:MAX_DROPPED_IN_HEADER]
    return json.dumps(distinct, ensure_ascii=True, separators=(",", ":"))


def replica_header(replica: str) -> str:
    """X-Sori-Replica: the model replica's id as header text (ASCII, at most 128 characters)."""
    return replica.encode("ascii", "replace").decode()[:128]


ClientGone = Callable[[], Awaitable[None]]
"""Returns once the request's client has closed its connection."""


@dataclass(frozen=True)
class Speech:
    """A finished synthesis as served and cached: audio plus what the alignment plot needs."""

    voice: str
    waveform: np.ndarray  # [T] float32 in [-1, 1]
    sample_rate: int
    sentence_texts: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]  # per sentence [T_text] symbol labels
    alignments: tuple[np.ndarray, ...]  # per sentence [T_steps, T_text]
    failed_sentences: int
    """Sentences whose attention failed (did not reach the end, went backwards or never stopped)."""
    dropped: tuple[str, ...] = ()
    """Characters of the text that could not be spoken (left out), as the frontend reported them."""
    replica: str = LOCAL_REPLICA
    """The model replica that synthesised it (X-Sori-Replica)."""

    @classmethod
    def from_result(cls, voice: str, result: SynthesisResult, replica: str = LOCAL_REPLICA) -> Speech:
        """Keep what serving needs from a SynthesisResult (the mel spectrograms are dropped)."""
        return cls(
            voice=voice,
            waveform=result.waveform.astype(np.float32, copy=False),
            sample_rate=result.sample_rate,
            sentence_texts=tuple(s.text for s in result.sentences),
            labels=tuple(tuple(s.labels) for s in result.sentences),
            alignments=tuple(s.alignment for s in result.sentences),
            failed_sentences=len(result.failed_sentences),
            dropped=result.dropped,
            replica=replica,
        )

    @property
    def attention_ok(self) -> bool:
        """Every sentence's attention was healthy."""
        return self.failed_sentences == 0

    @property
    def duration_seconds(self) -> float:
        """Length of the audio."""
        return self.waveform.size / self.sample_rate

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (for the cache bound)."""
        return self.waveform.nbytes + sum(a.nbytes for a in self.alignments)

    def headers(self, lookup: Lookup) -> dict[str, str]:
        """Response headers describing this speech (ASCII only)."""
        return {
            "X-Sori-Voice": self.voice.encode("ascii", "replace").decode(),
            "X-Sori-Sample-Rate": str(self.sample_rate),
            "X-Sori-Audio-Seconds": f"{self.duration_seconds:.3f}",
            "X-Sori-Sentences": str(len(self.sentence_texts)),
            "X-Sori-Attention-OK": "true" if self.attention_ok else "false",
            "X-Sori-Attention-Failed-Sentences": str(self.failed_sentences),
            "X-Sori-Cache": lookup,
            "X-Sori-Dropped": dropped_header(self.dropped),
            "X-Sori-Replica": replica_header(self.replica),
        }


class SpeechService:
    """Text -> Speech through the cache and the speech backend, with the per-request timeout."""

    def __init__(
        self,
        worker: SpeechBackend,
        cache: SingleFlightCache[Speech],
        metrics: Metrics,
        request_timeout_s: float,
        griffin_lim_iters: int | None = None,
        *,
        plotter: Plotter | None = None,
        client_gone: ClientGone | None = None,
    ) -> None:
        self.worker = worker
        """The backend (server.backend): the in-process InferenceWorker, or Ray Serve's model deployment."""
        self.cache = cache
        self.metrics = metrics
        self.request_timeout_s = request_timeout_s
        self.griffin_lim_iters = griffin_lim_iters
        self.client_gone = client_gone
        """None for the app-wide service; set in a request's view (see for_client)."""
        self.plotter = plotter
        """Draws alignment plots in turn in a child process; None: this service draws none
        (alignment_png raises)."""

    def for_client(self, client_gone: ClientGone) -> SpeechService:
        """This service as one request sees it: waits end early, and unshared work is dropped,
        when `client_gone()` returns (cache, worker and plotter stay shared)."""
        return SpeechService(
            self.worker, self.cache, self.metrics, self.request_timeout_s, self.griffin_lim_iters,
            plotter=self.plotter, client_gone=client_gone,
        )

    def deadline(self) -> float:
        """The time.monotonic() by which a request starting now must be answered."""
        return time.monotonic() + self.request_timeout_s

    def options(self, speed: float = 1.0, vocoder: VocoderName | None = None) -> SynthesisOptions:
        """Synthesis options for a request: its speed and vocoder plus the server's Griffin-Lim override."""
        return SynthesisOptions(speed=speed, griffin_lim_iters=self.griffin_lim_iters, vocoder=vocoder)

    async def synthesize(
        self, voice: Voice, text: str, options: SynthesisOptions, deadline: float | None = None
    ) -> tuple[Speech, Lookup]:
        """Speech for text; raises UnspeakableTextError, QueueFullError, RequestTimeoutError (after
        request_timeout_s, or at `deadline` when given), ClientDisconnectedError (the work is then
        cancelled unless another request shares it), ..."""
        timeout = self.request_timeout_s if deadline is None else max(0.0, deadline - time.monotonic())
        key = (voice.name, text, options)
        future, lookup = self.cache.fetch(key, lambda: self._compute(voice, text, options))
        self.metrics.cache.labels(result=lookup).inc()
        waiting = asyncio.shield(future)  # one waiter giving up must not cancel the shared task
        gone = asyncio.ensure_future(self.client_gone()) if self.client_gone is not None else None
        watched: list[asyncio.Future[Any]] = [waiting] if gone is None else [waiting, gone]
        abandon = False
        try:
            done, _ = await asyncio.wait(watched, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if waiting in done:
                try:
                    return waiting.result(), lookup
                except RequestTimeoutError:  # the backend's own deadline (taken too late, or its process)
                    self.metrics.timeouts.inc()
                    raise
            if gone is not None and gone in done:
                abandon = True
                self.metrics.cancelled.inc()
                raise ClientDisconnectedError()
            self.metrics.timeouts.inc()
            raise RequestTimeoutError(f"synthesis did not finish within {self.request_timeout_s:g} s")
        finally:
            waiting.cancel()  # a no-op when done; else nobody retrieves its outcome
            if gone is not None:
                gone.cancel()
            self.cache.leave(key, future, abandon=abandon)

    async def synthesize_owed(
        self, voice: Voice, text: str, options: SynthesisOptions
    ) -> tuple[Speech, Lookup]:
        """Like `synthesize`, but a full queue is waited out (until the request deadline) instead
        of refused: for speech owed after an effect already happened, such as an assistant reply
        once its skill has run, where a 503 would make the client's retry repeat the effect.

        The queue's bound still holds: the request waits outside it, polling for room for up to
        request_timeout_s (504 after that); once admitted, its synthesis has the usual time limit.
        """
        deadline = time.monotonic() + self.request_timeout_s
        while True:
            if self.has_capacity():
                with contextlib.suppress(QueueFullError):  # another request took the room first
                    return await self.synthesize(voice, text, options)
            if time.monotonic() + QUEUE_POLL_S >= deadline:
                self.metrics.timeouts.inc()
                raise RequestTimeoutError(f"the queue had no room within {self.request_timeout_s:g} s")
            await asyncio.sleep(QUEUE_POLL_S)

    async def analyze(
        self, voice: Voice, text: str, options: SynthesisOptions
    ) -> list[tuple[str, FrontendResult]]:
        """Split and read `text` with the voice's frontend in the thread pool; UnspeakableTextError
        (422, the message cut short) when nothing in it can be spoken, InvalidInputError (422) for a
        neural vocoder the voice does not have."""
        try:
            voice.synthesizer.vocoder_for(options)
        except VoiceError as error:
            raise InvalidInputError(str(error)) from None
        try:
            return await run_in_threadpool(voice.synthesizer.analyze, text, options)
        except FrontendError as error:
            message = str(error)
            if len(message) > MAX_DETAIL_CHARS:
                message = message[:MAX_DETAIL_CHARS] + "…"
            raise UnspeakableTextError(message) from None

    async def _compute(self, voice: Voice, text: str, options: SynthesisOptions) -> Speech:
        """Validate with the frontend (thread pool), queue, await the backend's result."""
        sentences = await self.analyze(voice, text, options)
        spoken = await self.worker.speak(voice, sentences, options, self.request_timeout_s)
        if not spoken.result.health_ok:
            self.metrics.attention_failures.inc()
        return Speech.from_result(voice.name, spoken.result, spoken.replica)

    def has_capacity(self) -> bool:
        """Whether the queue can take another request right now."""
        return not self.worker.full

    async def encode(self, speech: Speech, fmt: AudioFormat) -> bytes:
        """The audio as wav, pcm (s16le) or flac bytes, encoded in the thread pool."""
        return await run_in_threadpool(encode_audio, speech.waveform, speech.sample_rate, fmt)

    async def alignment_png(self, speech: Speech, deadline: float) -> bytes:
        """PNG of the attention alignment, one panel per sentence, drawn by the plotter;
        RequestTimeoutError (504, counted) when it is not done by `deadline` (time.monotonic()),
        PlotProcessStoppedError (503) when the plotting process died meanwhile."""
        if self.plotter is None:
            raise RuntimeError("this SpeechService has no plotter")
        job = self.plotter.submit(
            plot_alignment, list(speech.alignments), list(speech.labels), list(speech.sentence_texts)
        )
        try:
            return await asyncio.wait_for(asyncio.wrap_future(job), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            job.cancel()  # dropped if still waiting its turn; a plot already drawing runs out
            self.metrics.timeouts.inc()
            raise RequestTimeoutError(
                f"the alignment plot did not finish within {self.request_timeout_s:g} s of the request"
            ) from None
        except BrokenProcessPool:
            logger.error("the plotting process stopped while drawing; the next plot starts a new one")
            raise PlotProcessStoppedError() from None
