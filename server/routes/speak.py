"""POST /speak (WAV) and POST /speak/alignment (PNG of the attention alignment)."""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import StreamingResponse

from server.cache import Lookup
from server.deps import SettingsDep, SpeechDep, VoicesDep
from server.errors import InvalidInputError, TextTooLongError
from server.routes.common import (
    SPEECH_ERRORS,
    SPEECH_HEADERS,
    check_length,
    error_responses,
    json_api_router,
    voice_for,
)
from server.routes.streams import AUDIO_MEDIA_TYPES, audio_response, event_response
from server.schemas import SpeakRequest
from server.settings import Settings
from server.speech import Speech, SpeechService
from server.streaming import open_stream
from server.voice_registry import VoiceRegistry
from tts.plot import require_matplotlib
from tts.text.sentences import split_sentences

router = json_api_router("speech")


async def _synthesize(
    body: SpeakRequest, settings: Settings, voices: VoiceRegistry, speech: SpeechService,
    deadline: float | None = None,
) -> tuple[Speech, Lookup]:
    """Check the limit, find the voice, synthesise (or reuse) the speech (by `deadline`, if given)."""
    check_length(body.text, settings.max_text_chars_speak)
    voice = await voice_for(voices, body.voice)
    return await speech.synthesize(voice, body.text, speech.options(body.speed, body.vocoder), deadline)


def check_plot_size(text: str, max_sentence_chars: int, limit: int) -> None:
    """TextTooLongError (413) when text splits into more sentences than one alignment image shows."""
    count = len(split_sentences(text, max_sentence_chars))
    if count > limit:
        raise TextTooLongError(
            f"text has {count} sentences; /speak/alignment draws at most {limit} in one image "
            "(split the text, or stream /speak with stream_format 'sse' for every sentence's alignment)"
        )


async def _stream(
    body: SpeakRequest, settings: Settings, voices: VoiceRegistry, speech: SpeechService
) -> StreamingResponse:
    """Check the limit, find the voice, wait for the first sentence, then stream the rest."""
    check_length(body.text, settings.max_text_chars_speak)
    voice = await voice_for(voices, body.voice)
    stream = await open_stream(speech, voice, body.text, speech.options(body.speed, body.vocoder))
    first = await stream.first()
    if body.stream_format == "sse":
        return event_response(stream, first, "sori", len(body.text), body.speed)
    return audio_response(stream, first, body.response_format)


@router.post(
    "/speak",
    response_class=Response,
    responses={
        200: {
            "content": {"audio/wav": {}, "audio/pcm": {}, "text/event-stream": {}},
            "description": "16-bit mono WAV or PCM, whole or streamed sentence by sentence, or events",
            "headers": SPEECH_HEADERS,
        },
        **error_responses(*SPEECH_ERRORS),
    },
)
async def speak(body: SpeakRequest, settings: SettingsDep, voices: VoicesDep, speech: SpeechDep) -> Response:
    """Speak Korean text; attention health and audio length are in the X-Sori-* headers.

    With `stream`, each sentence is sent as soon as it is ready (errors before the first byte
    are JSON as usual); the X-Sori-* headers then hold only what is known before the audio.
    `stream_format` "sse" streams events with or without `stream` (events only come as a stream).
    """
    if body.stream or body.stream_format == "sse":
        return await _stream(body, settings, voices, speech)
    result, lookup = await _synthesize(body, settings, voices, speech)
    audio = await speech.encode(result, body.response_format)
    return Response(audio, media_type=AUDIO_MEDIA_TYPES[body.response_format], headers=result.headers(lookup))


@router.post(
    "/speak/alignment",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "one panel per sentence", "headers": SPEECH_HEADERS},
        **error_responses(*SPEECH_ERRORS),
    },
)
async def speak_alignment(
    body: SpeakRequest, settings: SettingsDep, voices: VoicesDep, speech: SpeechDep
) -> Response:
    """The attention alignment of the same synthesis /speak would give (shared through the cache),
    at most `max_alignment_sentences` panels; the whole request, plot included, within
    request_timeout_s (504 after it)."""
    deadline = speech.deadline()
    if body.stream or body.stream_format == "sse":
        raise InvalidInputError("stream applies to /speak (as does stream_format 'sse', which streams); "
                                "/speak/alignment answers with one image")
    check_length(body.text, settings.max_text_chars_speak)
    options = speech.options(body.speed, body.vocoder)
    check_plot_size(body.text, options.max_sentence_chars, settings.max_alignment_sentences)
    require_matplotlib()
    result, lookup = await _synthesize(body, settings, voices, speech, deadline)
    image = await speech.alignment_png(result, deadline)
    return Response(image, media_type="image/png", headers=result.headers(lookup))
