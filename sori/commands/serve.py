"""`sori serve`: run the HTTP service (API and web page) with uvicorn."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_NO_VOICE = 2
EXIT_CUT_OFF = 1
"""The drain was cut short (its time limit or a second signal) with requests unfinished."""
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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check that the voice exists, then serve until SIGTERM or Ctrl+C, draining first.

    A voice that exists but cannot be loaded does not stop the server: it starts degraded
    (/readyz 503 with the reason, logged). Exit 0 after a complete drain, 1 when it was cut short.
    """
    import uvicorn
    from pydantic import ValidationError

    from server import Settings, create_app
    from server.lifecycle import DrainingServer
    from server.voices import VoiceRegistry
    from tts import VoiceError

    overrides = {
        "host": args.host, "port": args.port, "voice": args.voice,
        "voices_dir": args.voices_dir, "device": args.device,
    }
    try:
        settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
        registry = VoiceRegistry.from_settings(settings)
    except ValidationError as error:
        print(f"sori serve: invalid settings:\n{error}", file=sys.stderr)
        return EXIT_NO_VOICE
    except VoiceError as error:
        print(f"sori serve: no voice to serve: {error}", file=sys.stderr)
        return EXIT_NO_VOICE
    print(f"sori serve: voice {registry.default_name} on http://{settings.host}:{settings.port}/", flush=True)
    app = create_app(settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level=settings.log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = DrainingServer(config, app.state.lifecycle, settings.drain_timeout_s)
    server.run()
    if server.cut_off:
        print(f"sori serve: stopped with {server.cut_off} request(s) unfinished", file=sys.stderr)
        return EXIT_CUT_OFF
    return 0
