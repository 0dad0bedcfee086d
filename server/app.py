"""`create_app(settings)`: the FastAPI app; its lifespan loads the voice and assistant and runs the worker.

Nothing happens at import. A default voice that exists but cannot be loaded does not stop the app:
it starts degraded (/healthz 200; /readyz and synthesis 503 with the reason). Errors are JSON
`{"detail": ...}` everywhere; unexpected exceptions are logged and answered with a plain message,
never their text. With an API key set, requests without it are refused (401) before anything else
looks at them, their bodies included.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from server.announcer import TimerAnnouncer, speak_and_publish
from server.assistant_service import open_assistant, weather_provider
from server.backend import SpeechBackend
from server.cache import SingleFlightCache
from server.errors import ServiceError, VoiceUnavailableError
from server.events import EventHub
from server.inference_process import InferenceProcess
from server.lifecycle import Lifecycle
from server.metrics import Metrics
from server.middleware import ApiKeyMiddleware, BodySizeLimitMiddleware, MetricsMiddleware
from server.plotter import Plotter
from server.routes import assistant, events, meta, openai, page, speak
from server.settings import Settings, usable_cores
from server.speech import Speech, SpeechService
from server.voice_registry import VoiceRegistry
from server.webhook import WebhookNotifier
from server.worker import InferenceWorker
from tts import SpeechSynthesizer as Synthesizer
from tts.plot import PlotUnavailableError

logger = logging.getLogger(__name__)

WARMUP_TEXT = "안녕하세요."

BackendFactory = Callable[[Settings, Synthesizer, Metrics], SpeechBackend]
"""Makes the app's speech backend from its settings, default voice and metrics (server.backend)."""


def _warm_up(registry: VoiceRegistry, settings: Settings) -> None:
    """Load the default voice and start the frontend; with settings.warmup also synthesise once.

    The frontend always starts here, before any request: g2pk loads MeCab and the CMU dictionary
    on first use, which takes seconds and must not happen in several request threads at once.
    """
    voice = registry.load(registry.default_name)
    voice.synthesizer.analyze(WARMUP_TEXT)
    if settings.warmup and not settings.inference_processes:  # else each child warms its own copy
        voice.synthesizer.synthesize(WARMUP_TEXT)


async def _start_default_voice(registry: VoiceRegistry, settings: Settings) -> str | None:
    """Warm the default voice up; None when it worked, else why not (logged in full; the reason
    returned for clients names files relative to the voices' folder, not the server's paths)."""
    name = registry.default_name
    try:
        await run_in_threadpool(_warm_up, registry, settings)
    except VoiceUnavailableError as error:  # the registry has logged it in full
        reason = error.detail
    except Exception as error:  # any load or warm-up failure degrades the app instead of killing it
        logger.exception("the default voice %s failed to start", name)
        reason = f"the default voice {name} failed to start ({type(error).__name__}; see the server log)"
    else:
        return None
    logger.error("serving degraded: /readyz and synthesis answer 503 until a working voice is configured")
    return reason


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load voices and the assistant (its store opened and migrated), start the worker, the timer
    announcer and the webhook; on shutdown end the event streams, stop them all and close the
    store. A drain that is cut off makes the worker answer what it holds at once.

    The default voice must exist (else start-up fails); one that fails to load leaves the app
    degraded but serving its probes.
    """
    settings: Settings = app.state.settings
    metrics: Metrics = app.state.metrics
    lifecycle: Lifecycle = app.state.lifecycle
    registry = await run_in_threadpool(VoiceRegistry.from_settings, settings)
    app.state.voices = registry
    failure = await _start_default_voice(registry, settings)
    if failure is not None:
        lifecycle.degrade(failure)
        try:
            yield
        finally:
            lifecycle.stop()
        return
    weather = weather_provider(settings, on_fetch=metrics.count_weather_fetch)
    assistant_ = await run_in_threadpool(open_assistant, settings, weather)
    try:
        synthesizer = registry.load(registry.default_name).synthesizer
        make_backend: BackendFactory = app.state.backend_factory or local_worker
        worker = make_backend(settings, synthesizer, metrics)
        cache: SingleFlightCache[Speech] = SingleFlightCache(
            settings.cache_size, settings.cache_max_bytes, lambda speech: speech.nbytes
        )
        plotter = Plotter()
        await run_in_threadpool(worker.start)
        hub: EventHub = app.state.events
        webhook = None
        if settings.webhook_url is not None:
            webhook = WebhookNotifier(settings.webhook_url, metrics, timeout_s=settings.webhook_timeout_s,
                                      retries=settings.webhook_retries)
        speech = SpeechService(worker, cache, metrics, settings.request_timeout_s, settings.griffin_lim_iters,
                               plotter=plotter)
        announcer = TimerAnnouncer(
            assistant_.store, speak_and_publish(registry, speech, hub, webhook, metrics), metrics,
            poll_s=settings.timer_poll_s,
        )
        try:
            lifecycle.when_cut_off(worker.abandon)
            metrics.track_queue(lambda: worker.depth)
            app.state.assistant = assistant_
            app.state.speech = speech
            if webhook is not None:
                webhook.start()
            announcer.start()
            lifecycle.ready()
            logger.info("serving voice %s on %s", registry.default_name, worker.name)
            yield
        finally:
            lifecycle.stop()
            hub.close()
            await announcer.stop()
            if webhook is not None:
                await webhook.stop()
            app.state.speech = None
            plotter.close()
            await run_in_threadpool(worker.stop)
    finally:
        app.state.assistant = None
        await run_in_threadpool(assistant_.close)


def local_worker(settings: Settings, synthesizer: Synthesizer, metrics: Metrics) -> InferenceWorker:
    """The in-process backend: the inference worker on the default voice's device."""
    device = synthesizer.device
    on_cpu = device.type == "cpu"
    threads = settings.worker_threads(on_cpu)
    # The cores shared out: with one worker per core, each batch runs on one thread.
    intra_op_threads = max(1, usable_cores() // threads) if on_cpu else None
    return InferenceWorker(
        queue_size=settings.queue_size,
        max_batch_size=settings.batch_limit(on_cpu),
        batch_wait_s=settings.batch_wait_s,
        threads=threads,
        intra_op_threads=intra_op_threads,
        metrics=metrics,
        name=str(device),
        processes=_inference_processes(settings, synthesizer, threads, intra_op_threads),
    )


def _inference_processes(
    settings: Settings, synthesizer: Synthesizer, threads: int, intra_op_threads: int | None
) -> list[InferenceProcess]:
    """One child process per worker thread when settings.inference_processes, else none."""
    if not settings.inference_processes:
        return []
    if synthesizer.runtime != "torch":
        raise ValueError("inference processes run the torch runtime; ONNX Runtime voices run in the worker threads")
    if synthesizer.source is None:
        raise ValueError("inference processes need voices loaded from a directory")
    warmup = synthesizer.analyze(WARMUP_TEXT) if settings.warmup else None
    return [InferenceProcess(f"{synthesizer.device}-{index}", synthesizer.source, intra_op_threads, warmup)
            for index in range(threads)]


async def _service_error(request: Request, error: Exception) -> JSONResponse:
    """A ServiceError's status, detail and headers."""
    if not isinstance(error, ServiceError):  # registered for ServiceError only
        raise error
    return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    """422 with each problem's location and message; the offending input is not echoed back
    (it may be huge, or bytes that are not valid UTF-8 and cannot be encoded as JSON)."""
    problems = error.errors() if isinstance(error, RequestValidationError) else []
    detail = [
        {"type": str(p.get("type", "")), "loc": [str(part) for part in p.get("loc", ())], "msg": str(p.get("msg", ""))}
        for p in problems
    ]
    return JSONResponse({"detail": detail or "invalid request"}, status_code=422)


async def _plot_unavailable(request: Request, error: Exception) -> JSONResponse:
    """501 on a slim install without matplotlib: the alignment plot is not part of it."""
    return JSONResponse({"detail": str(error)}, status_code=501)


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    """Log the exception; the client gets a plain message without its text."""
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


def _public_paths(app: FastAPI) -> list[str]:
    """Paths served without the API key: the probes, the page, and the API's own description."""
    own = [route.path for router in (meta.public, page.router) for route in router.routes
           if isinstance(route, APIRoute)]
    described = [app.openapi_url, app.docs_url, app.swagger_ui_oauth2_redirect_url, app.redoc_url]
    return own + [path for path in described if path]


def create_app(settings: Settings, backend: BackendFactory | None = None) -> FastAPI:
    """The Sori HTTP app for these settings (voices load when its lifespan starts); its speech
    comes from `backend(settings, default synthesizer, metrics)`, the in-process inference
    worker when None."""
    app = FastAPI(
        title="Sori",
        summary="Korean Tacotron text-to-speech and voice assistant",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.backend_factory = backend
    app.state.metrics = Metrics()
    app.state.lifecycle = Lifecycle()
    app.state.voices = None
    app.state.speech = None
    app.state.assistant = None
    app.state.events = EventHub()

    routers = (speak.router, assistant.router, events.router, openai.router, meta.public, meta.protected,
               page.router)
    for router in routers:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=page.static_dir()), name="static")
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PlotUnavailableError, _plot_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)

    routes = [route.path for router in routers for route in router.routes if isinstance(route, APIRoute)]
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.api_key is not None:
        app.add_middleware(
            ApiKeyMiddleware, api_key=settings.api_key.get_secret_value(),
            public_paths=_public_paths(app), public_prefixes=["/static"],
        )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics, routes=routes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After", "X-Sori-Voice", "X-Sori-Sample-Rate", "X-Sori-Audio-Seconds",
                            "X-Sori-Sentences", "X-Sori-Attention-OK", "X-Sori-Attention-Failed-Sentences",
                            "X-Sori-Cache", "X-Sori-Dropped", "X-Sori-Audio-Status", "X-Sori-Replica"],
        )
    return app
