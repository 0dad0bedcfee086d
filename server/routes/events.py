"""GET /assistant/events: announcements (timer-finished) as server-sent events.

The stream opens with a comment, sent once the client is subscribed (so an announcement after it
arrives), carries a keep-alive comment after every `events_keepalive_s` of silence, and ends when
the server starts to shut down. A client gets only what is announced while it is connected.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from server.deps import SettingsDep
from server.events import EventHub
from server.lifecycle import Lifecycle, Phase
from server.metrics import Metrics
from server.routes.common import error_responses

router = APIRouter(tags=["assistant"], responses=error_responses(401))

SHUTDOWN_CHECK_S = 0.5
"""How often an idle stream checks whether its client left or the server is shutting down."""

CONNECTED = ": connected\n\n"
KEEP_ALIVE = ": keep-alive\n\n"

EVENTS_DESCRIPTION = (
    "`text/event-stream`. Each `event: timer-finished` has `data` "
    '`{"id", "duration_seconds", "due_at", "reply", "audio"}` (`due_at` ISO 8601 in UTC, `audio` '
    "a base64 WAV of `reply`, or null if it could not be spoken). Comments (`:` lines) open the "
    "stream and keep it alive."
)


async def _stream(request: Request, keepalive_s: float) -> AsyncIterator[str]:
    """Subscribe, then yield each event, keep-alives while idle, until the client leaves or the
    server shuts down (both noticed within SHUTDOWN_CHECK_S)."""
    hub: EventHub = request.app.state.events
    lifecycle: Lifecycle = request.app.state.lifecycle
    metrics: Metrics = request.app.state.metrics
    with hub.subscribe() as queue:
        metrics.event_clients.inc()
        try:
            yield CONNECTED
            last_sent = time.monotonic()
            while lifecycle.phase not in (Phase.DRAINING, Phase.STOPPED):
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=SHUTDOWN_CHECK_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    if time.monotonic() - last_sent >= keepalive_s:
                        yield KEEP_ALIVE
                        last_sent = time.monotonic()
                    continue
                if event is None:  # the hub closed
                    return
                yield event.to_sse()
                last_sent = time.monotonic()
        finally:
            metrics.event_clients.dec()


@router.get(
    "/assistant/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": EVENTS_DESCRIPTION}},
)
async def events(request: Request, settings: SettingsDep) -> StreamingResponse:
    """Announcements as server-sent events (`event: timer-finished`), from when the client connects."""
    return StreamingResponse(
        _stream(request, settings.events_keepalive_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
