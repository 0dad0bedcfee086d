"""POST /speak (WAV) and POST /speak/alignment (PNG of the attention alignment)."""

from __future__ import annotations

from fastapi import Response

from server.cache import Lookup
from server.deps import SettingsDep, SpeechDep, VoicesDep
from server.routes.common import (
    SPEECH_ERRORS,
    SPEECH_HEADERS,
    check_length,
    error_responses,
    json_api_router,
    voice_for,
)
from server.schemas import SpeakRequest
from server.settings import Settings
from server.speech import Speech, SpeechService
from server.voices import VoiceRegistry

router = json_api_router("speech")


async def _synthesize(
    body: SpeakRequest, settings: Settings, voices: VoiceRegistry, speech: SpeechService
) -> tuple[Speech, Lookup]:
    """Check the limit, find the voice, synthesise (or reuse) the speech."""
    check_length(body.text, settings.max_text_chars_speak)
    voice = await voice_for(voices, body.voice)
    return await speech.synthesize(voice, body.text, speech.options(body.speed))


@router.post(
    "/speak",
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "16-bit PCM mono WAV", "headers": SPEECH_HEADERS},
        **error_responses(*SPEECH_ERRORS),
    },
)
async def speak(body: SpeakRequest, settings: SettingsDep, voices: VoicesDep, speech: SpeechDep) -> Response:
    """Speak Korean text; attention health and audio length are in the X-Sori-* headers."""
    result, lookup = await _synthesize(body, settings, voices, speech)
    audio = await speech.encode(result, "wav")
    return Response(audio, media_type="audio/wav", headers=result.headers(lookup))


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
    """The attention alignment of the same synthesis /speak would give (shared through the cache)."""
    result, lookup = await _synthesize(body, settings, voices, speech)
    image = await speech.alignment_png(result)
    return Response(image, media_type="image/png", headers=result.headers(lookup))
