"""Helpers shared by the speech routes: length limits and voice lookup."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from server.errors import TextTooLongError
from server.voices import Voice, VoiceRegistry


def check_length(text: str, limit: int, field: str = "text") -> None:
    """TextTooLongError (413) when text has more than `limit` characters."""
    if len(text) > limit:
        raise TextTooLongError(f"{field} has {len(text)} characters; the limit is {limit}")


async def voice_for(voices: VoiceRegistry, requested: str | None, *, openai_names: bool = False) -> Voice:
    """The requested voice by registry name, loading it in the thread pool the first time."""
    name = voices.resolve(requested, openai_names=openai_names)
    voice = voices.loaded(name)
    if voice is None:
        voice = await run_in_threadpool(voices.load, name)
    return voice
