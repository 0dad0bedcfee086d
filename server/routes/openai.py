"""POST /v1/audio/speech: OpenAI's speech endpoint, so OpenAI clients can use Sori.

`stream_format` streams as OpenAI does: "audio" is a chunked body (wav with an unknown-length
header, or pcm; flac is not streamed: 422), "sse" is `speech.audio.delta` events carrying base64
pcm and a closing `speech.audio.done`. Without it the whole file comes at once, with its length.

Differences, by design: response_format is wav (the default here), pcm (16-bit signed
little-endian mono at the voice's sample rate, given in X-Sori-Sample-Rate) or flac; `model` is
accepted and ignored; `voice` is a registry name, and OpenAI's names (alloy, nova, ...) mean the
default voice.
"""

from __future__ import annotations

from typing import cast

from fastapi import Response

from server.deps import SettingsDep, SpeechDep, VoicesDep
from server.errors import InvalidInputError
from server.routes.common import (
    SPEECH_ERRORS,
    SPEECH_HEADERS,
    check_length,
    error_responses,
    json_api_router,
    voice_for,
)
from server.routes.streams import audio_response, event_response
from server.schemas import OpenAISpeechRequest
from server.streaming import open_stream
from tts import AudioFormat

router = json_api_router("openai")

MEDIA_TYPES = {"wav": "audio/wav", "pcm": "audio/pcm", "flac": "audio/flac"}


@router.post(
    "/v1/audio/speech",
    response_class=Response,
    responses={
        200: {
            "content": {media: {} for media in MEDIA_TYPES.values()},
            "description": "The audio in response_format",
            "headers": SPEECH_HEADERS,
        },
        **error_responses(*SPEECH_ERRORS),
    },
)
async def openai_speech(
    body: OpenAISpeechRequest, settings: SettingsDep, voices: VoicesDep, speech: SpeechDep
) -> Response:
    """Speak `input` in the requested format; with `stream_format`, sentence by sentence."""
    check_length(body.input, settings.max_text_chars_openai, field="input")
    fmt = cast(AudioFormat, body.response_format)
    if body.stream_format is not None and fmt == "flac":
        raise InvalidInputError("flac is not streamed; use wav or pcm with stream_format, or leave it out")
    voice = await voice_for(voices, body.voice, openai_names=True)
    if body.stream_format is not None:
        stream = await open_stream(speech, voice, body.input, speech.options(body.speed, body.vocoder))
        first = await stream.first()
        if body.stream_format == "sse":
            return event_response(stream, first, "openai", len(body.input), body.speed)
        return audio_response(stream, first, "pcm" if fmt == "pcm" else "wav")
    result, lookup = await speech.synthesize(voice, body.input, speech.options(body.speed, body.vocoder))
    audio = await speech.encode(result, fmt)
    return Response(audio, media_type=MEDIA_TYPES[fmt], headers=result.headers(lookup))
