"""Speech for Wyoming clients: the registry's voices, run on a bounded pool of threads.

The event loop never runs model code: the frontend and every batch of sentences run on the pool,
and each sentence's audio comes back to the loop as soon as it is decoded. The pool's size bounds
how many syntheses run at once over all connections; the rest wait their turn, batch by batch.

With a speech backend (`sori wyoming --ray`: a Ray Serve model deployment) the pool runs only the
frontend; the sentences are decoded by the backend as a stream of groups (server.backend), within
the request timeout, and its refusals reach the client as `busy` or `timeout` errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from server.backend import SpeechBackend
from server.errors import (
    RequestTimeoutError,
    ServiceError,
    UnknownVoiceError,
    VoiceUnavailableError,
)
from server.voice_registry import Voice, VoiceRegistry, offered_vocoders
from tts import (
    FrontendError,
    FrontendResult,
    SpeechChunk,
    SynthesisOptions,
    VocoderName,
    VoiceError,
    stream_groups,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

Analyzed = list[tuple[str, FrontendResult]]
"""A text's sentences after the frontend (`Synthesizer.analyze`)."""


VOCODER_SPEAKERS: dict[str, VocoderName] = {"neural": "neural", "griffin-lim": "griffin-lim"}
"""A request's `speaker` picks the vocoder: a voice with a neural vocoder offers both."""


def voice_speakers(default_vocoder: VocoderName | None) -> list[str]:
    """The speakers a voice offers, its default first: both vocoders when its default is the
    neural one, only Griffin-Lim otherwise (None: unknown until loaded, so Griffin-Lim)."""
    return list(offered_vocoders(default_vocoder == "neural"))


class SpeechRequestError(Exception):
    """A synthesis request that cannot be served; `code` and the message go to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class WyomingSpeech:
    """Voices by name and a thread pool to run them on; shared by every connection."""

    def __init__(
        self, registry: VoiceRegistry, executor: ThreadPoolExecutor, options: SynthesisOptions,
        backend: SpeechBackend | None = None, timeout_s: float = 60.0,
    ) -> None:
        self.registry = registry
        self.options = options
        self._executor = executor
        self.backend = backend
        """Who decodes (None: this process, on the pool)."""
        self.timeout_s = timeout_s
        """The longest one synthesis may take on the backend."""
        self.hang_ups = 0
        """Syntheses stopped because their client hung up before the last sentence."""
        self.active = 0
        """Syntheses under way: started and neither finished nor cancelled."""

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` on the pool, awaited without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def voice(self, name: str | None) -> Voice:
        """The voice a request names (None: the default), loaded if needed."""
        try:
            resolved = self.registry.resolve(name)
            loaded = self.registry.loaded(resolved)
            return loaded if loaded is not None else await self.run(self.registry.load, resolved)
        except UnknownVoiceError as error:
            raise SpeechRequestError("unknown-voice", error.detail) from None
        except VoiceUnavailableError as error:
            raise SpeechRequestError("voice-unavailable", error.detail) from None
        except ServiceError as error:  # any other refusal from the registry, with its reason
            raise SpeechRequestError("voice-unavailable", error.detail) from None

    def vocoder(self, voice: Voice, speaker: str | None) -> VocoderName | None:
        """The vocoder a request's `speaker` names (None: the voice's default); 'unknown-speaker'
        for any other speaker, or for a neural vocoder the voice does not have."""
        if speaker is None:
            return None
        if speaker not in VOCODER_SPEAKERS:
            known = ", ".join(voice_speakers(voice.synthesizer.default_vocoder))
            raise SpeechRequestError("unknown-speaker", f"voice {voice.name} has no speaker {speaker!r}; "
                                                        f"its speakers (vocoders) are: {known}")
        try:
            return voice.synthesizer.vocoder_for(SynthesisOptions(vocoder=VOCODER_SPEAKERS[speaker]))
        except VoiceError as error:
            raise SpeechRequestError("unknown-speaker", str(error)) from None

    async def analyze(self, voice: Voice, text: str) -> Analyzed:
        """The text's sentences through the voice's frontend; 'unspeakable-text' if none can be said."""
        try:
            return await self.run(voice.synthesizer.analyze, text, self.options)
        except FrontendError as error:
            raise SpeechRequestError("unspeakable-text", str(error)) from None

    async def chunks(
        self, voice: Voice, analyzed: Sequence[tuple[str, FrontendResult]], wanted: Callable[[], bool],
        vocoder: VocoderName | None = None,
    ) -> AsyncGenerator[SpeechChunk, None]:
        """Each sentence's audio as soon as it is decoded by `vocoder` (None: the voice's default);
        stops before the next batch once `wanted()` is false (the client hung up), so no work is
        left running for it."""
        options = self.options if vocoder is None else dataclasses.replace(self.options, vocoder=vocoder)
        self.active += 1
        try:
            if self.backend is not None:
                async with contextlib.aclosing(
                    self._backend_chunks(self.backend, voice, analyzed, wanted, options)
                ) as decoded:
                    async for chunk in decoded:
                        yield chunk
                return
            sentences: Iterator[SpeechChunk] = voice.synthesizer.stream_analyzed(analyzed, options)
            while wanted():
                chunk = await self.run(next, sentences, None)
                if chunk is None:
                    return
                yield chunk
        finally:
            self.active -= 1

    async def _backend_chunks(
        self, backend: SpeechBackend, voice: Voice, analyzed: Sequence[tuple[str, FrontendResult]],
        wanted: Callable[[], bool], options: SynthesisOptions,
    ) -> AsyncGenerator[SpeechChunk, None]:
        """`chunks` decoded by the backend, group by group, each group within the timeout (a long
        text may take longer in all, as it does in process)."""
        groups = stream_groups(len(analyzed), voice.synthesizer.max_batch_size)
        source = backend.stream(voice, list(analyzed), groups, options,
                                time.monotonic() + self.timeout_s * len(groups))
        try:
            source.start()
            for index, group in enumerate(groups):
                if not wanted():
                    return
                try:
                    spoken = await asyncio.wait_for(source.result(index), self.timeout_s)
                except TimeoutError:
                    raise RequestTimeoutError(f"a sentence did not finish within {self.timeout_s:g} s") from None
                for chunk in voice.synthesizer.chunks_of(spoken.result, group.start, options):
                    yield chunk
        except RequestTimeoutError as error:
            raise SpeechRequestError("timeout", error.detail) from None
        except ServiceError as error:
            if error.status_code == 503:
                raise SpeechRequestError("busy", f"{error.detail}; try again shortly") from None
            raise
        finally:
            source.close()

    def pause_samples(self, sample_rate: int) -> int:
        """Silence between two sentences, as the synthesizer puts it between a text's sentences."""
        return int(round(self.options.sentence_pause_seconds * sample_rate))


def silence(samples: int) -> np.ndarray:
    """`samples` of silence. [T] float32"""
    return np.zeros(samples, np.float32)
