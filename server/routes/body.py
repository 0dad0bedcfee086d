"""Request bodies: JSON only (else 415), and a 400 that says why a body could not be read."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException


def _body_problem(cause: BaseException | None) -> str | None:
    """What was wrong with a body FastAPI could not parse, from the exception behind its 400."""
    if isinstance(cause, UnicodeDecodeError):
        return f"the body is not valid {cause.encoding} JSON (byte {cause.start}); send UTF-8"
    if isinstance(cause, RecursionError):
        return "the body's JSON is nested too deeply"
    if isinstance(cause, ValueError):  # int() refuses numbers of more than 4,300 digits
        return "the body's JSON has a number with too many digits"
    return None


class JSONBodyRoute(APIRoute):
    """A route whose 400 for an unreadable body says why, where FastAPI says only
    'There was an error parsing the body'."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, with its body-parsing 400 given a detail naming the problem."""
        handler = super().get_route_handler()

        async def named_body_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except StarletteHTTPException as error:  # FastAPI raises Starlette's class here
                problem = _body_problem(error.__cause__) if error.status_code == 400 else None
                if problem is None:
                    raise
                raise HTTPException(status_code=400, detail=problem) from error.__cause__

        return named_body_errors


def is_json_media_type(content_type: str) -> bool:
    """application/json or any application/*+json, parameters (charset) aside: what FastAPI parses."""
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def require_json(request: Request) -> None:
    """415 unless the body is declared as JSON; FastAPI would read any other body as bytes and
    answer a puzzling 'valid dictionary' 422."""
    content_type = request.headers.get("content-type", "")
    if not is_json_media_type(content_type):
        shown = repr(content_type[:50]) if content_type else "none"
        raise HTTPException(
            status_code=415,
            detail=f"send the body as JSON with Content-Type: application/json (got {shown})",
        )
