"""GET /voices, /healthz (liveness), /readyz (readiness) and /metrics (Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from server.deps import MetricsDep, VoicesDep
from server.lifecycle import Lifecycle
from server.routes.common import error_responses
from server.schemas import ReadyResponse, VoiceInfo, VoicesResponse
from server.speech import SpeechService
from server.voice_registry import VoiceRegistry

public = APIRouter(tags=["health"])
protected = APIRouter(tags=["meta"], responses=error_responses(401))
"""Routes behind the API key (when one is set); `public` ones never need it."""


@public.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers HTTP."""
    return {"status": "ok"}


@public.get("/readyz", response_model=None, responses={200: {"model": ReadyResponse}, **error_responses(503)})
async def readyz(request: Request) -> dict[str, Any] | JSONResponse:
    """Readiness: the default voice is loaded and the backend can synthesise (the inference worker
    runs; on Ray, a model replica answers); else 503 with the reason
    (starting, a default voice that could not be loaded, shutting down)."""
    state = request.app.state
    lifecycle: Lifecycle = state.lifecycle
    if lifecycle.reason is not None:
        return JSONResponse({"detail": f"not ready: {lifecycle.reason}"}, status_code=503)
    voices: VoiceRegistry | None = getattr(state, "voices", None)
    speech: SpeechService | None = getattr(state, "speech", None)
    problems = []
    if voices is None or not voices.is_loaded(voices.default_name):
        problems.append("the default voice is not loaded")
    backend_problem = "the inference worker is not running" if speech is None else await speech.worker.ready()
    if backend_problem is not None:
        problems.append(backend_problem)
    if voices is None or speech is None or problems:
        return JSONResponse({"detail": "not ready: " + "; ".join(problems)}, status_code=503)
    return {
        "status": "ready",
        "voice": voices.default_name,
        "device": str(speech.worker.name),
        "queue_depth": speech.worker.depth,
    }


@protected.get("/voices", response_model=VoicesResponse, responses=error_responses(503))
async def list_voices(voices: VoicesDep) -> VoicesResponse:
    """The voices this server offers, by registry name."""
    described = await run_in_threadpool(voices.describe)
    return VoicesResponse(default=voices.default_name, voices=[VoiceInfo(**entry) for entry in described])


@protected.get(
    "/metrics", response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus text exposition of this app's registry."""
    return Response(metrics.render(), media_type=metrics.content_type)
