"""`sori wyoming`: serve Sori's voices and assistant to Home Assistant over the Wyoming protocol."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from typing import Any

from sori.commands import checks, serve_ray
from sori.commands.options import add_runtime_argument

EXIT_BAD_OPTIONS = 2
"""Invalid options or settings, no voice to serve, or --zeroconf without the zeroconf package."""
EXIT_NOT_STARTED = 3
"""The voice could not be loaded, or the address could not be bound."""


def register(subparsers: Any) -> None:
    """Add the `wyoming` subcommand."""
    parser = subparsers.add_parser(
        "wyoming", help="serve TTS and the assistant over the Wyoming protocol (Home Assistant)",
        description="Answer Wyoming clients such as Home Assistant: describe, synthesize (also "
        "streamed: synthesize-start/chunk/stop) and transcript (the Korean assistant). Options "
        "override the SORI_* environment variables.",
    )
    parser.add_argument("--uri", default="tcp://127.0.0.1:10200",
                        help="where to listen: tcp://HOST:PORT or unix://PATH "
                        "(default tcp://127.0.0.1:10200; use tcp://0.0.0.0:10200 for other machines)")
    parser.add_argument("--voice", default=None, metavar="DIR_OR_NAME",
                        help="default voice: directory or registry name (default: the bundled voice)")
    parser.add_argument("--voices-dir", default=None, metavar="DIR", help="extra directory of voices")
    parser.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"], help="where to run the model")
    add_runtime_argument(parser, default=None)
    parser.add_argument("--zeroconf", nargs="?", const="sori", default=None, metavar="NAME",
                        help="announce the service over zeroconf for discovery (default name: sori); "
                        "needs the zeroconf package")
    parser.add_argument("--database-url", default=None, metavar="URL",
                        help="the assistant's store: postgresql://USER:PASSWORD@HOST/DB or "
                        "sqlite:///PATH (SORI_DATABASE_URL; default: SQLite in the data dir)")
    serve_ray.add_arguments(parser, ingress=False)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the voice and the assistant, then serve until SIGTERM or Ctrl+C."""
    from pydantic import ValidationError

    from server import Settings
    from server.assistant_service import check_store
    from server.voice_registry import VoiceRegistry
    from server.wyoming import WyomingConfig
    from tts import VoiceError

    if args.zeroconf is not None and importlib.util.find_spec("zeroconf") is None:
        print("sori wyoming: --zeroconf needs the zeroconf package: pip install zeroconf "
              "(or pip install 'sori[zeroconf]')", file=sys.stderr)
        return EXIT_BAD_OPTIONS
    overrides = {"voice": args.voice, "voices_dir": args.voices_dir, "device": args.device,
                 "database_url": args.database_url, "runtime": args.runtime}
    try:
        config = WyomingConfig(uri=args.uri, zeroconf_name=args.zeroconf)
        settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
        checks.device(settings.device)
        checks.input_dir(settings.voices_dir, "--voices-dir")
        registry = VoiceRegistry.from_settings(settings)
        check_store(settings)
    except ValidationError as error:
        print(f"sori wyoming: invalid settings:\n{error}", file=sys.stderr)
        return EXIT_BAD_OPTIONS
    except ValueError as error:  # a bad URI, or a store that cannot be opened (AssistantError)
        print(f"sori wyoming: {error}", file=sys.stderr)
        return EXIT_BAD_OPTIONS
    except VoiceError as error:
        print(f"sori wyoming: no voice to serve: {error}", file=sys.stderr)
        return EXIT_BAD_OPTIONS
    if args.ray:
        from sori.commands import wyoming_ray

        return wyoming_ray.run(args, settings, config)
    if (option := serve_ray.ray_options_without_ray(args)) is not None:
        print(f"sori wyoming: {option} is for a Ray cluster; add --ray", file=sys.stderr)
        return EXIT_BAD_OPTIONS
    print(f"sori wyoming: voice {registry.default_name} on {config.uri}", flush=True)
    return serve_wyoming(settings, config, registry)


def serve_wyoming(settings: Any, config: Any, registry: Any, backend: Any = None) -> int:
    """Serve until SIGTERM or Ctrl+C; the exit status."""
    from server.errors import VoiceUnavailableError
    from server.wyoming import serve

    try:
        asyncio.run(serve(settings, config, registry, backend))
    except KeyboardInterrupt:
        return 0
    except VoiceUnavailableError as error:
        print(f"sori wyoming: {error.detail}", file=sys.stderr)
        return EXIT_NOT_STARTED
    except OSError as error:
        print(f"sori wyoming: cannot listen on {config.uri}: {error}", file=sys.stderr)
        return EXIT_NOT_STARTED
    return 0
