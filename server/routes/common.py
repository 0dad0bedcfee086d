"""Helpers shared by the routes: length limits, voice lookup, and the error responses they declare."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from server.errors import TextTooLongError, VoiceUnavailableError
from server.routes.body import JSONBodyRoute, require_json
from server.schemas import ErrorResponse
from server.voice_registry import Voice, VoiceRegistry

ERROR_DESCRIPTIONS = {
    400: "The body could not be parsed (not UTF-8, nested too deeply, a number of thousands of "
    "digits) or its Content-Length is malformed.",
    401: "An API key is configured and the request lacks `Authorization: Bearer <key>`.",
    413: "The body is over the server's byte limit, or the text over the endpoint's character limit.",
    415: "The body is not declared as JSON (Content-Type: application/json).",
    422: "The body breaks the schema (a list of problems), or its text has nothing speakable "
    "or names an unknown voice (a message).",
    500: "Synthesis failed inside the model; the error is in the server log, not in the answer.",
    503: "Starting, degraded, the voice could not be loaded, shutting down or the queue is full; "
    "Retry-After, when present, says how many seconds to wait.",
    504: "Synthesis did not finish within the per-request timeout.",
}
"""What each error status means, for the OpenAPI schema; every body is an ErrorResponse."""

_ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Always 'Bearer'.", "schema": {"type": "string"}}},
    503: {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}},
}

SPEECH_HEADERS = {
    name: {"description": description, "schema": {"type": "string"}}
    for name, description in (
        ("X-Sori-Voice", "The voice that spoke."),
        ("X-Sori-Sample-Rate", "Samples per second of the audio."),
        ("X-Sori-Audio-Seconds", "Length of the audio."),
        ("X-Sori-Sentences", "Sentences the text was split into."),
        ("X-Sori-Attention-OK", "'true' when every sentence's attention was healthy."),
        ("X-Sori-Attention-Failed-Sentences", "Sentences whose attention failed."),
        ("X-Sori-Cache", "'hit', 'miss' or 'shared' (joined an identical request in flight)."),
        ("X-Sori-Dropped", "Characters that could not be spoken and were left out: a JSON array of "
                           "the distinct ones (at most 32) with \\u escapes, '[]' when none."),
    )
}
"""Headers describing a synthesis, on every successful speech response."""

SPEECH_ERRORS = (400, 413, 415, 422, 500, 503, 504)
"""What a synthesis route may answer besides 200 (401 comes with the router)."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for these statuses: JSON ErrorResponse, description, headers."""
    return {
        status: {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[status]}
        | ({"headers": _ERROR_HEADERS[status]} if status in _ERROR_HEADERS else {})
        for status in statuses
    }


def check_length(text: str, limit: int, field: str = "text") -> None:
    """TextTooLongError (413) when text has more than `limit` characters."""
    if len(text) > limit:
        raise TextTooLongError(f"{field} has {len(text)} characters; the limit is {limit}")


async def voice_for(voices: VoiceRegistry, requested: str | None, *, openai_names: bool = False) -> Voice:
    """The requested voice by registry name, loading it in the thread pool the first time;
    VoiceUnavailableError (503 with the reason) for one that could not be loaded."""
    name = voices.resolve(requested, openai_names=openai_names)
    voice = voices.loaded(name)
    if voice is not None:
        return voice
    failure = voices.failure(name)
    if failure is not None:  # known already: no trip to the thread pool
        raise VoiceUnavailableError(failure)
    return await run_in_threadpool(voices.load, name)


def json_api_router(tag: str) -> APIRouter:
    """A router for JSON-body API routes: JSON required, bodies parsed by JSONBodyRoute (named
    400s), and the API key's 401 documented on every operation."""
    return APIRouter(
        tags=[tag],
        dependencies=[Depends(require_json)],
        route_class=JSONBodyRoute,
        responses=error_responses(401),
    )
