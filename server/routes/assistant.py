"""POST /assistant: recognise the intent, run its skill, and speak the Korean reply."""

from __future__ import annotations

import base64
import logging

from fastapi import Response
from starlette.concurrency import run_in_threadpool

from assistant import AssistantError, StoreUnavailableError
from server.deps import AssistantDep, MetricsDep, SettingsDep, SpeechDep, VoicesDep
from server.errors import InvalidInputError, QueueFullError, ServiceError, StoreBusyError
from server.routes.common import check_length, error_responses, json_api_router, voice_for
from server.schemas import AssistantRequest, AssistantResponse
from tts import VoiceError

logger = logging.getLogger(__name__)

AUDIO_STATUS_HEADER = {
    "X-Sori-Audio-Status": {
        "description": "'ok', 'none' (nothing to say), or 'failed (<status>)' when the reply was not spoken.",
        "schema": {"type": "string"},
    }
}

router = json_api_router("assistant")


@router.post(
    "/assistant",
    response_model=AssistantResponse,
    responses={200: {"headers": AUDIO_STATUS_HEADER}, **error_responses(400, 413, 415, 422, 503)},
)
async def ask(
    body: AssistantRequest,
    response: Response,
    settings: SettingsDep,
    voices: VoicesDep,
    speech: SpeechDep,
    assistant: AssistantDep,
    metrics: MetricsDep,
) -> AssistantResponse:
    """Answer an utterance; `audio` is the spoken reply as base64 WAV, or null with nothing to say.

    Skills have effects (timers, the shopping list), so once one has run the answer is 200 even
    if the reply could not be spoken; X-Sori-Audio-Status then says why audio is null.
    """
    check_length(body.text, settings.max_text_chars_assistant)
    if not speech.has_capacity():
        # Refuse before the skill runs, so a client's retry does not repeat its effect.
        raise QueueFullError(speech.worker.retry_after_s())
    options = speech.options(vocoder=body.vocoder)
    if body.vocoder is not None:  # a vocoder the voice lacks: 422 before the skill has any effect
        try:
            (await voice_for(voices, None)).synthesizer.vocoder_for(options)
        except VoiceError as error:
            raise InvalidInputError(str(error)) from None
    try:
        answer = await run_in_threadpool(assistant.ask, body.text)
    except StoreUnavailableError as error:
        logger.warning("assistant store unavailable: %s", error)
        metrics.store_errors.labels(source="assistant").inc()
        raise StoreBusyError() from None
    except AssistantError as error:
        raise InvalidInputError(str(error)) from None
    audio: str | None = None
    status = "none"
    if answer.reply is not None:
        try:
            voice = await voice_for(voices, None)
            spoken, lookup = await speech.synthesize_owed(voice, answer.reply, options)
            audio = base64.b64encode(await speech.encode(spoken, "wav")).decode("ascii")
            status = "ok"
            response.headers.update(spoken.headers(lookup))
        except ServiceError as error:
            logger.warning("assistant reply %r not spoken: %s", answer.reply, error.detail)
            status = f"failed ({error.status_code})"
    response.headers["X-Sori-Audio-Status"] = status
    return AssistantResponse(intent=answer.intent, slots=answer.slots, reply=answer.reply, audio=audio)
