"""Streamed speech responses: a `SentenceStream` as chunked audio (wav or pcm) or server-sent events.

The route awaits the first sentence before answering, so every error up to then is the usual JSON
4xx/5xx. An error after the first byte is logged and counted (`sori_stream_errors_total`); an audio
body is then cut off (the client sees an incomplete chunked body, never audio that merely stops),
and an event stream ends with an `error` event.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import numpy as np
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from server.errors import ClientDisconnectedError, ServiceError
from server.speech import dropped_header, replica_header
from server.streaming import SentenceStream
from tts import SpeechChunk, encode_audio
from tts.audio import streaming_wav_header

logger = logging.getLogger(__name__)

StreamAudio = Literal["wav", "pcm"]
EventStyle = Literal["sori", "openai"]

AUDIO_MEDIA_TYPES = {"wav": "audio/wav", "pcm": "audio/pcm"}

EVENT_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Event streams must reach the client as written, not held by a cache or a buffering proxy."""

ALIGNMENT_DECIMALS = 3
"""Attention weights sent to the page are rounded: enough to draw, a quarter of the bytes."""


class StreamBrokenError(Exception):
    """Raised inside a streamed audio body after its first byte, so the server cuts the connection."""


def stream_dropped(stream: SentenceStream) -> list[str]:
    """Every character of the stream's text that could not be spoken, in order."""
    return [char for _, frontend in stream.sentences for char in frontend.dropped]


def stream_headers(stream: SentenceStream, media: str) -> dict[str, str]:
    """Headers known before the audio: voice, rate, sentence count, dropped characters, the model
    replica of the first sentence, and that the body is a stream."""
    return {
        "X-Sori-Voice": stream.voice.name.encode("ascii", "replace").decode(),
        "X-Sori-Sample-Rate": str(stream.sample_rate),
        "X-Sori-Sentences": str(len(stream.sentences)),
        "X-Sori-Dropped": dropped_header(stream_dropped(stream)),
        "X-Sori-Replica": replica_header(stream.replica),
        "X-Sori-Stream": "true",
        "X-Audio-Media-Type": media,
    }


def pcm_bytes(chunk: SpeechChunk) -> bytes:
    """A chunk's samples as 16-bit signed little-endian mono."""
    return encode_audio(chunk.waveform, chunk.sample_rate, "pcm")


async def _chunks(stream: SentenceStream, first: SpeechChunk) -> AsyncIterator[SpeechChunk]:
    """The first chunk (already here), then the rest as they come."""
    yield first
    async for chunk in stream.rest():
        yield chunk


def audio_response(stream: SentenceStream, first: SpeechChunk, fmt: StreamAudio) -> StreamingResponse:
    """Chunked wav (a header of unknown length, then samples) or raw pcm, sentence by sentence."""
    metrics = stream.metrics

    async def body() -> AsyncIterator[bytes]:
        if fmt == "wav":
            yield streaming_wav_header(stream.sample_rate)
        try:
            async for chunk in _chunks(stream, first):
                yield await run_in_threadpool(pcm_bytes, chunk)
        except ClientDisconnectedError:
            return
        except ServiceError as error:
            metrics.stream_errors.inc()
            logger.error("stream cut off after its first byte: %s", error.detail)
            raise StreamBrokenError(error.detail) from None
        finally:
            stream.close()  # a client that left mid-stream: drop its queued sentences now

    media = AUDIO_MEDIA_TYPES[fmt]
    return StreamingResponse(body(), media_type=media, headers=stream_headers(stream, media))


def sse(data: dict[str, Any], event: str | None = None) -> bytes:
    """One server-sent event: an optional `event:` line and one `data:` line of JSON."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def sori_event(chunk: SpeechChunk, step_seconds: float) -> bytes:
    """A `sentence` event: its audio (base64 pcm), text, symbols, alignment, attention health and
    the characters of it that could not be spoken: everything the page needs to play it and move a
    cursor over its attention."""
    sentence = chunk.sentence
    return sse({
        "index": chunk.index,
        "text": sentence.text,
        "sample_rate": chunk.sample_rate,
        "pause_samples": chunk.pause_samples,
        "samples": chunk.waveform.size,
        "audio": base64.b64encode(pcm_bytes(chunk)).decode("ascii"),
        "labels": list(sentence.labels),
        "alignment": sentence.alignment.astype(np.float64).round(ALIGNMENT_DECIMALS).tolist(),
        "step_seconds": step_seconds,
        "attention_ok": sentence.health.ok,
        "dropped": list(sentence.frontend.dropped),
    }, event="sentence")


def openai_event(chunk: SpeechChunk) -> bytes:
    """OpenAI's `speech.audio.delta`: base64 pcm."""
    audio = base64.b64encode(pcm_bytes(chunk)).decode("ascii")
    return sse({"type": "speech.audio.delta", "audio": audio})


def event_response(
    stream: SentenceStream, first: SpeechChunk, style: EventStyle, input_chars: int, speed: float
) -> StreamingResponse:
    """Server-sent events, one per sentence, then a closing event (`done`, or OpenAI's
    `speech.audio.done` with usage); an error after the start ends the stream with an error event."""
    metrics = stream.metrics
    config = stream.voice.synthesizer.config
    step_seconds = config.model.reduction_factor * config.audio.hop_length / config.audio.sample_rate / speed
    encode: Callable[[SpeechChunk], bytes] = (
        (lambda chunk: sori_event(chunk, step_seconds)) if style == "sori" else openai_event
    )

    async def body() -> AsyncIterator[bytes]:
        samples = failed = sent = 0
        try:
            async for chunk in _chunks(stream, first):
                yield await run_in_threadpool(encode, chunk)
                samples += chunk.waveform.size
                failed += not chunk.sentence.health.ok
                sent += 1
        except ClientDisconnectedError:
            return
        except ServiceError as error:
            metrics.stream_errors.inc()
            logger.error("event stream ended by an error after its first event: %s", error.detail)
            if style == "sori":
                yield sse({"detail": error.detail, "status": error.status_code}, event="error")
            else:
                yield sse({"type": "error", "error": {"message": error.detail, "code": error.status_code}})
            return
        finally:
            stream.close()  # a client that left mid-stream: drop its queued sentences now
        if style == "sori":
            yield sse({"sentences": sent, "seconds": samples / stream.sample_rate,
                       "failed_sentences": failed, "dropped": stream_dropped(stream)}, event="done")
        else:
            usage = {"input_tokens": input_chars, "output_tokens": 0, "total_tokens": input_chars}
            yield sse({"type": "speech.audio.done", "usage": usage})

    headers = stream_headers(stream, "audio/pcm") | EVENT_HEADERS
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)
