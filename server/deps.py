"""Request dependencies (`Annotated[..., Depends(...)]`) that tests can override.

The API key is checked before any of these, by server.middleware.ApiKeyMiddleware.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from assistant import Assistant
from server.errors import NotReadyError
from server.lifecycle import Lifecycle
from server.metrics import Metrics
from server.settings import Settings
from server.speech import SpeechService
from server.voice_registry import VoiceRegistry


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_metrics(request: Request) -> Metrics:
    """The app's metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_voices(request: Request) -> VoiceRegistry:
    """The voice registry (503 until the lifespan has loaded it)."""
    voices: VoiceRegistry | None = getattr(request.app.state, "voices", None)
    if voices is None:
        raise NotReadyError("voices are not loaded yet")
    return voices


async def get_speech(request: Request) -> AsyncIterator[SpeechService]:
    """The speech service as this request sees it, counted as in flight until answered.

    503 with the reason while the server starts, is degraded (no usable default voice) or drains.
    """
    lifecycle: Lifecycle = request.app.state.lifecycle
    speech: SpeechService | None = getattr(request.app.state, "speech", None)
    with lifecycle.serving():
        if speech is None:
            raise NotReadyError("the speech service is not running")
        yield speech.for_client(lambda: client_gone(request))


async def client_gone(request: Request) -> None:
    """Return once the client has closed its connection (Starlette does not cancel handlers then).

    The body has already been read, so the ASGI receive channel has nothing left but the
    disconnect; it blocks until then.
    """
    while (await request.receive())["type"] != "http.disconnect":
        pass


def get_assistant(request: Request) -> Assistant:
    """The assistant (503 until the lifespan has loaded it)."""
    assistant: Assistant | None = getattr(request.app.state, "assistant", None)
    if assistant is None:
        raise NotReadyError("the assistant is not loaded yet")
    return assistant


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
VoicesDep = Annotated[VoiceRegistry, Depends(get_voices)]
SpeechDep = Annotated[SpeechService, Depends(get_speech)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]
