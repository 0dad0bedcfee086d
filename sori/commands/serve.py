"""`sori serve`: run the HTTP service (API and web page) with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any, NoReturn

from sori.commands import checks, serve_ray
from sori.commands.options import add_runtime_argument

EXIT_NO_VOICE = 2
EXIT_CUT_OFF = 1
"""The drain was cut short (its time limit or a second signal) with requests unfinished."""
EXIT_NOT_STARTED = 3
"""uvicorn did not start (the port is taken, the app's start-up failed); as `uvicorn.run` exits."""
GRACEFUL_SHUTDOWN_S = 10
"""After the drain, how long uvicorn waits for connections to finish sending before closing them."""


def register(subparsers: Any) -> None:
    """Add the `serve` subcommand."""
    parser = subparsers.add_parser(
        "serve", help="serve the HTTP API and web page",
        description="Serve /speak, /assistant, /v1/audio/speech and the web page with uvicorn. "
        "Options override the SORI_* environment variables.",
    )
    parser.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="TCP port (default 8000)")
    parser.add_argument("--voice", default=None, metavar="DIR_OR_NAME",
                        help="voice directory or registry name (default: the bundled voice)")
    parser.add_argument("--voices-dir", default=None, metavar="DIR", help="extra directory of voices")
    parser.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"], help="where to run the model")
    add_runtime_argument(parser, default=None)
    parser.add_argument("--no-cuda-graphs", dest="cuda_graphs", action="store_const", const=False,
                        default=None, help="on CUDA, decode with the eager loop instead of CUDA graphs")
    parser.add_argument("--inference-processes", dest="inference_processes", action="store_const", const=True,
                        default=None, help="synthesise in a child process per worker thread "
                                           "(SORI_INFERENCE_PROCESSES)")
    parser.add_argument("--database-url", default=None, metavar="URL",
                        help="the assistant's store: postgresql://USER:PASSWORD@HOST/DB (shared by "
                        "replicas) or sqlite:///PATH (SORI_DATABASE_URL; default: SQLite in the data dir)")
    serve_ray.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check that the voice exists, then serve until SIGTERM or Ctrl+C, draining first.

    A voice that exists but cannot be loaded does not stop the server: it starts degraded
    (/readyz 503 with the reason, logged). A store that cannot be opened (malformed or unreachable
    database URL) stops it before it starts, with exit 2 like invalid settings. Exit 0 after a
    complete drain, 1 when it was cut short, 3 when the server never started.
    """
    from pydantic import ValidationError

    from assistant import AssistantError
    from server import Settings
    from server.assistant_service import check_store
    from server.voice_registry import VoiceRegistry
    from tts import VoiceError

    overrides = {
        "host": args.host, "port": args.port, "voice": args.voice,
        "voices_dir": args.voices_dir, "device": args.device, "cuda_graphs": args.cuda_graphs, "runtime": args.runtime,
        "inference_processes": args.inference_processes, "database_url": args.database_url,
    }
    try:
        settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
        checks.device(settings.device)
        checks.input_dir(settings.voices_dir, "--voices-dir")
        registry = VoiceRegistry.from_settings(settings)
    except ValidationError as error:
        print(f"sori serve: invalid settings:\n{error}", file=sys.stderr)
        return EXIT_NO_VOICE
    except VoiceError as error:
        print(f"sori serve: no voice to serve: {error}", file=sys.stderr)
        return EXIT_NO_VOICE
    try:
        check_store(settings)
    except AssistantError as error:
        print(f"sori serve: {error}", file=sys.stderr)
        return EXIT_NO_VOICE
    if args.ray:
        return serve_ray.run(args, settings)
    if (option := serve_ray.ray_options_without_ray(args)) is not None:
        print(f"sori serve: {option} is for a Ray cluster; add --ray", file=sys.stderr)
        return EXIT_NO_VOICE
    return _serve_here(settings, registry.default_name)


def _serve_here(settings: Any, voice: str) -> int:
    """uvicorn in this process, draining on the first signal (exit codes as `run` says)."""
    import uvicorn

    from server import create_app
    from server.serving import DrainingServer

    if settings.switch_interval_ms is not None:  # this process is the server's own
        sys.setswitchinterval(settings.switch_interval_ms / 1000.0)
    print(f"sori serve: voice {voice} on http://{settings.host}:{settings.port}/", flush=True)
    app = create_app(settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level=settings.log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = DrainingServer(config, app.state.lifecycle, settings.drain_timeout_s)
    try:
        server.run()
    except SystemExit:  # uvicorn calls sys.exit itself when it cannot bind or start the app
        if server.started:
            raise
    if not server.started:
        print(f"sori serve: the server did not start on {settings.host}:{settings.port} "
              "(the reason is logged above)", file=sys.stderr)
        return EXIT_NOT_STARTED
    if server.cut_off:
        print(f"sori serve: drain cut off with {server.cut_off} request(s) unfinished (answered 503)",
              file=sys.stderr)
        _exit_now(EXIT_CUT_OFF)
    return 0


def _exit_now(status: int) -> NoReturn:
    """Flush the logs and end the process without the interpreter's teardown.

    After a cut-off the abandoned batch may still be running inside torch in the worker's daemon
    thread, and finalising the interpreter under it aborts the process (SIGABRT, "terminate called
    without an active exception") instead of exiting with `status`. Everything that needs closing
    (the assistant's store, the sockets) has been closed by the app's shutdown by now.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
