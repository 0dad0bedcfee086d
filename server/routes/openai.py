"""POST /v1/audio/speech: OpenAI's speech endpoint, so OpenAI clients can use Sori.

Differences, by design: response_format is wav (the default here), pcm (16-bit signed
little-endian mono at the voice's sample rate, given in X-Sori-Sample-Rate) or flac; `model` is
accepted and ignored; `voice` is a registry name, and OpenAI's names (alloy, nova, ...) mean the
default voice.
"""

from __future__ import annotations

from typing import cast

from fastapi import Response

from server.deps import SettingsDep, SpeechDep, VoicesDep
from server.routes.common import (
    SPEECH_ERRORS,
    SPEECH_HEADERS,
    check_length,
    error_responses,
    json_api_router,
    voice_for,
)
from server.schemas import OpenAISpeechRequest
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
    """Speak `input` in the requested format."""
    check_length(body.input, settings.max_text_chars_openai, field="input")
    voice = await voice_for(voices, body.voice, openai_names=True)
    result, lookup = await speech.synthesize(voice, body.input, speech.options(body.speed))
    fmt = cast(AudioFormat, body.response_format)
    audio = await speech.encode(result, fmt)
    return Response(audio, media_type=MEDIA_TYPES[fmt], headers=result.headers(lookup))
