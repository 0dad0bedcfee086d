"""One Wyoming connection: events in, answers out in the order the requests came.

`handle_event` only reads the event and queues the work it asks for; one task per connection does
the work in order and writes the answers. So the connection keeps being read while a reply is
spoken: the text of a streamed request is taken in as it arrives, and a client that hangs up is
noticed at once, which cancels its work before the next batch of sentences.

An error answers the request it belongs to. Outside a stream the client gets `error` and the
connection is closed (Home Assistant waits for `audio-stop` or the end of the connection, never
for `error`). Inside a `synthesize-start` ... `synthesize-stop` stream the client gets `error`,
the rest of the stream's text is dropped, and `synthesize-stop` is still answered with
`synthesize-stopped`. A `transcript` the assistant cannot take gets `not-handled` with the reason.
A client that closes its side has hung up: its remaining work is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeVoice,
)

from assistant import Assistant, AssistantError, StoreUnavailableError
from server.voice_registry import Voice
from server.wyoming.speech import Analyzed, SpeechRequestError, WyomingSpeech, silence
from tts import VocoderName, encode_audio
from tts.text.sentences import complete_sentences

logger = logging.getLogger(__name__)

SAMPLE_WIDTH = 2
"""Bytes per sample: 16-bit PCM."""
CHANNELS = 1

Job = Callable[[], Awaitable[None]]
MAX_QUEUED_JOBS = 64
"""Requests one connection may have waiting; past that it is not read until one is done, so a
client that sends faster than it is answered is held back by TCP instead of filling memory."""


@dataclass(frozen=True)
class WyomingService:
    """What every connection shares: the info answer, the voices, the assistant, the limits."""

    info: Event
    speech: WyomingSpeech
    assistant: Assistant
    samples_per_chunk: int = 1024
    """Samples per `audio-chunk` event: a sentence's audio goes out in pieces of this length
    (piper's size; about 46 ms at 22.05 kHz), so players start at once and buffers stay small."""
    max_text_chars: int = 4096
    """Longest text of one `synthesize` event (a stream is limited per sentence instead)."""
    max_utterance_chars: int = 500
    """Longest `transcript` the assistant takes."""


@dataclass
class TextStream:
    """A `synthesize-start` ... `synthesize-stop` stream: its voice and the text not yet spoken."""

    voice_request: SynthesizeVoice | None
    pending: str = ""
    """Text received after the last complete sentence."""
    voice: Voice | None = None
    vocoder: VocoderName | None = None
    """The vocoder the stream's `speaker` chose (None: the voice's default)."""
    spoken: int = 0
    """Sentences spoken so far (each after the first is preceded by the sentence pause)."""
    failed: bool = False
    """An error was sent; the rest of the stream is dropped."""


@dataclass
class _Progress:
    """The sentence being spoken, for the log when a client hangs up."""

    spoken: int = 0
    total: int = 0
    active: bool = False


class SoriEventHandler(AsyncEventHandler):
    """Answers describe, synthesize (one-shot and streamed), transcript and ping."""

    def __init__(
        self, service: WyomingService, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        super().__init__(reader, writer)
        self._service = service
        self._jobs: asyncio.Queue[Job] = asyncio.Queue(MAX_QUEUED_JOBS)
        self._worker: asyncio.Task[None] | None = None
        self._stream: TextStream | None = None
        self._progress = _Progress()

    async def handle_event(self, event: Event) -> bool:
        """Queue the work an event asks for; unknown events are ignored, as the protocol says."""
        try:
            job = self._job_for(event)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            job = self._refusal(SpeechRequestError("bad-event", f"malformed {event.type!r} event: {error!r}"))
        if job is not None:
            if self._worker is None:
                self._worker = asyncio.create_task(self._work(), name="sori wyoming connection")
            await self._jobs.put(job)
        return True

    async def run(self) -> None:
        """Serve the connection until it ends; a connection reset by the client ends it quietly."""
        try:
            await super().run()
        except ConnectionError:  # disconnect() has run: the client's work is already cancelled
            logger.debug("connection reset by the client")

    async def disconnect(self) -> None:
        """The client is gone (or the server stops): cancel its queued and running work."""
        if self._worker is None or self._worker.done():
            return
        self._hung_up()
        self._worker.cancel()

    def _hung_up(self) -> None:
        """Log and count a synthesis its client left before the last sentence."""
        progress = self._progress
        if progress.active:
            progress.active = False
            logger.info("client hung up: stopped after %d of %d sentence(s)", progress.spoken, progress.total)
            self._service.speech.hang_ups += 1

    def _job_for(self, event: Event) -> Job | None:
        """The work for one event, or None for events that need no answer."""
        if Describe.is_type(event.type):
            return lambda: self.write_event(self._service.info)
        if Ping.is_type(event.type):
            text = Ping.from_event(event).text
            return lambda: self.write_event(Pong(text=text).event())
        if Transcript.is_type(event.type):
            utterance = _text_field(event)
            return lambda: self._answer(utterance)
        if Synthesize.is_type(event.type):
            if self._stream is not None:
                return None  # the whole text again, sent inside a stream for servers that cannot stream
            request = Synthesize.from_event(event)
            _text_field(event)
            return lambda: self._synthesize(request)
        if SynthesizeStart.is_type(event.type):
            stream = TextStream(SynthesizeStart.from_event(event).voice)
            self._stream = stream
            return lambda: self._open(stream)
        if SynthesizeChunk.is_type(event.type):
            return self._take_chunk(_text_field(event))
        if SynthesizeStop.is_type(event.type):
            ending, self._stream = self._stream, None
            if ending is None:
                return self._refusal(no_stream("synthesize-stop"))
            return lambda: self._close(ending)
        return None

    def _take_chunk(self, text: str) -> Job | None:
        """Add streamed text; the sentences it completes are spoken now, the rest waits."""
        stream = self._stream
        if stream is None:
            return self._refusal(no_stream("synthesize-chunk"))
        max_chars = self._service.speech.options.max_sentence_chars
        sentences, stream.pending = complete_sentences(stream.pending + text, max_chars)
        if not sentences:
            return None
        return lambda: self._speak_sentences(stream, sentences)

    async def _work(self) -> None:
        """Run the connection's jobs in order until it closes."""
        while True:
            job = await self._jobs.get()
            try:
                await job()
            except ConnectionError:
                self._hung_up()
                return
            except SpeechRequestError as error:
                await self._refuse(error)
                await self.stop()
                return
            except Exception:
                logger.exception("a Wyoming request failed")
                await self._refuse(synthesis_failed())
                await self.stop()
                return

    def _refusal(self, error: SpeechRequestError) -> Job:
        """A job that fails with `error`: answered, then the connection is closed."""

        async def refuse() -> None:
            raise error

        return refuse

    async def _refuse(self, error: SpeechRequestError) -> None:
        """Send an `error` event (a client that already left is not an error of ours)."""
        logger.info("refused (%s): %s", error.code, error)
        with contextlib.suppress(ConnectionError):
            await self.write_event(Error(text=str(error), code=error.code).event())

    # ----- the assistant -------------------------------------------------------------------------

    async def _answer(self, utterance: str) -> None:
        """`handled` with the reply, or `not-handled` when no intent matched or the input is bad."""
        if len(utterance) > self._service.max_utterance_chars:
            reason = f"the utterance is longer than {self._service.max_utterance_chars} characters"
            await self.write_event(NotHandled(text=reason).event())
            return
        try:
            loop = asyncio.get_running_loop()
            answer = await loop.run_in_executor(None, self._service.assistant.ask, utterance)
        except StoreUnavailableError as error:
            logger.warning("assistant store unavailable: %s", error)
            busy = "the assistant's store is busy; try again shortly"
            await self.write_event(NotHandled(text=busy).event())
            return
        except AssistantError as error:
            await self.write_event(NotHandled(text=str(error)).event())
            return
        except Exception:  # Home Assistant waits for handled or not-handled, never for error
            logger.exception("the assistant failed on %r", utterance)
            await self.write_event(NotHandled(text="the assistant failed; the error has been logged").event())
            return
        if answer.intent is None:
            await self.write_event(NotHandled(text=answer.reply).event())
        else:
            await self.write_event(Handled(text=answer.reply).event())

    # ----- speech ---------------------------------------------------------------------------------

    async def _synthesize(self, request: Synthesize) -> None:
        """One-shot: `audio-start`, a text's audio sentence by sentence, `audio-stop`."""
        text = request.text.strip()
        if not text:
            raise SpeechRequestError("empty-text", "the text to synthesize is empty")
        if len(text) > self._service.max_text_chars:
            raise SpeechRequestError(
                "text-too-long",
                f"the text has {len(text)} characters; at most {self._service.max_text_chars}",
            )
        voice = await self._voice(request.voice)
        vocoder = self._service.speech.vocoder(voice, request.voice.speaker if request.voice else None)
        analyzed = await self._service.speech.analyze(voice, text)
        await self._speak(voice, analyzed, pause=0, vocoder=vocoder)

    async def _open(self, stream: TextStream) -> None:
        """A stream's voice, resolved before its first sentence."""
        try:
            voice = await self._voice(stream.voice_request)
            speaker = stream.voice_request.speaker if stream.voice_request else None
            stream.vocoder = self._service.speech.vocoder(voice, speaker)
            stream.voice = voice
        except SpeechRequestError as error:
            await self._fail(stream, error)

    async def _speak_sentences(self, stream: TextStream, sentences: list[str]) -> None:
        """A stream's complete sentences, each as its own `audio-start` ... `audio-stop`."""
        for sentence in sentences:
            await self._speak_streamed(stream, sentence)

    async def _close(self, stream: TextStream) -> None:
        """The stream's last words, then `synthesize-stopped`."""
        if stream.pending.strip():
            await self._speak_streamed(stream, stream.pending)
        if not stream.failed and stream.spoken == 0:
            nothing = SpeechRequestError("unspeakable-text", "the stream had nothing speakable")
            await self._fail(stream, nothing)
        await self.write_event(SynthesizeStopped().event())

    async def _speak_streamed(self, stream: TextStream, text: str) -> None:
        """Speak part of a stream; a part with nothing speakable is skipped (and logged)."""
        if stream.failed or stream.voice is None:
            return
        try:
            analyzed = await self._service.speech.analyze(stream.voice, text)
        except SpeechRequestError as error:
            logger.warning("streamed text skipped: %s", error)
            return
        try:
            rate = stream.voice.synthesizer.sample_rate
            pause = self._service.speech.pause_samples(rate) if stream.spoken else 0
            await self._speak(stream.voice, analyzed, pause=pause, vocoder=stream.vocoder)
        except ConnectionError:
            raise
        except Exception:
            logger.exception("a streamed sentence failed")
            await self._fail(stream, synthesis_failed())
            return
        stream.spoken += len(analyzed)

    async def _fail(self, stream: TextStream, error: SpeechRequestError) -> None:
        """Answer a stream's error once; the rest of its text is dropped."""
        if not stream.failed:
            stream.failed = True
            await self._refuse(error)

    async def _voice(self, request: SynthesizeVoice | None) -> Voice:
        """The voice a request asks for: by name, or the default for Korean or no preference."""
        language = request.language if request is not None and request.name is None else None
        if language is not None and not language.lower().startswith("ko"):
            message = f"Sori speaks Korean (ko) only, not {language!r}"
            raise SpeechRequestError("unsupported-language", message)
        return await self._service.speech.voice(request.name if request is not None else None)

    async def _speak(self, voice: Voice, analyzed: Analyzed, pause: int, vocoder: VocoderName | None) -> None:
        """`audio-start`, each sentence's audio as soon as it is decoded (by `vocoder`, None: the
        voice's default), `audio-stop`."""
        rate = voice.synthesizer.sample_rate
        progress = self._progress
        progress.spoken, progress.total, progress.active = 0, len(analyzed), True
        lead = silence(pause)
        wanted = lambda: not self.writer.is_closing()  # noqa: E731
        # Closed as soon as this loop ends, however it ends: what is not yet decoded is dropped then.
        async with contextlib.aclosing(self._service.speech.chunks(voice, analyzed, wanted, vocoder)) as chunks:
            async for chunk in chunks:
                if progress.spoken == 0:  # started once there is audio, so a failure before it is a plain error
                    await self.write_event(AudioStart(rate=rate, width=SAMPLE_WIDTH, channels=CHANNELS).event())
                await self._write_audio(np.concatenate([lead, chunk.waveform]), rate)
                lead = silence(0)
                progress.spoken += 1
        if self.writer.is_closing():
            raise ConnectionResetError("the connection closed before the last sentence")
        progress.active = False
        await self.write_event(AudioStop().event())

    async def _write_audio(self, waveform: np.ndarray, rate: int) -> None:
        """A sentence's audio as 16-bit PCM, in `audio-chunk` events of samples_per_chunk samples."""
        pcm = encode_audio(waveform, rate, "pcm")
        step = self._service.samples_per_chunk * SAMPLE_WIDTH * CHANNELS
        for start in range(0, len(pcm), step):
            piece = pcm[start : start + step]
            await self.write_event(AudioChunk(rate, SAMPLE_WIDTH, CHANNELS, audio=piece).event())


def no_stream(event_type: str) -> SpeechRequestError:
    """A stream's event outside a stream."""
    return SpeechRequestError("no-stream", f"{event_type} without synthesize-start")


def synthesis_failed() -> SpeechRequestError:
    """What a client hears of a failure inside the model (the details go to the log)."""
    return SpeechRequestError("synthesis-failed", "synthesis failed; the error has been logged")


def _text_field(event: Event) -> str:
    """The event's `text`, which must be a string."""
    text: Any = event.data["text"]
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    return text
