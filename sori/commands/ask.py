"""`sori ask TEXT [-o reply.wav] [--json]`: ask the assistant, print its reply, optionally speak it."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sori.commands import checks
from sori.commands.options import add_runtime_argument

if TYPE_CHECKING:
    from assistant import WeatherProvider
    from tts import SpeechSynthesizer

LOGGER = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
EXIT_NO_VOICE = 3


def register(subparsers: Any) -> None:
    """Add the `ask` subcommand."""
    parser = subparsers.add_parser(
        "ask",
        help="ask the Korean assistant (intent, slots, reply; optionally a spoken WAV)",
        description="Recognise the intent of TEXT, run its skill and print the Korean reply.",
    )
    parser.add_argument("text", metavar="TEXT", help="the utterance, e.g. '지금 몇 시야?'")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="WAV", help="also synthesise the reply into this WAV"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object: intent, slots, reply"
    )
    parser.add_argument(
        "--voice", type=Path, metavar="DIR", help="voice directory for -o (default: bundled voice)"
    )
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="device for -o"
    )
    parser.add_argument(
        "--database-url", metavar="URL", default=None,
        help="the assistant's store: postgresql://USER:PASSWORD@HOST/DB or sqlite:///PATH "
        "(default: SORI_DATABASE_URL, else SQLite in the data dir)",
    )
    add_runtime_argument(parser)
    parser.set_defaults(func=run)


class VoiceUnusableError(Exception):
    """The voice for -o cannot be loaded."""


def _load_voice(voice: Path | None, device: str, runtime: str) -> SpeechSynthesizer:
    """The voice that will speak the reply, loaded before the skill runs (a skill may start a
    timer: a voice found broken afterwards would make the user's retry start a second one)."""
    from tts import default_voice_dir, load_synthesizer

    try:
        return load_synthesizer(voice if voice is not None else default_voice_dir(), runtime=runtime, device=device)
    except (OSError, ValueError, RuntimeError) as error:
        raise VoiceUnusableError(str(error)) from None


def _speak(text: str, output: Path, synthesizer: SpeechSynthesizer) -> int:
    """Synthesise `text` into `output`; returns the exit status."""
    from tts.audio import save_wav

    try:
        result = synthesizer.synthesize(text)
        save_wav(output, result.waveform, result.sample_rate)
    except (OSError, ValueError, RuntimeError) as error:
        print(f"sori ask: could not speak the reply: {error}", file=sys.stderr)
        return EXIT_NO_VOICE
    LOGGER.info("wrote %s", output)
    return 0


def _weather_provider() -> WeatherProvider | None:
    """Open-Meteo as the SORI_WEATHER_* settings configure it (as `sori serve` does), or None.

    Raises ValueError with one line naming every invalid setting.
    """
    from pydantic import ValidationError

    from assistant import OpenMeteoProvider
    from server.settings import Settings

    from_environment: dict[str, Any] = {}  # no options of its own: the SORI_* environment alone
    try:
        config = Settings(**from_environment).weather_config()
    except ValidationError as error:
        problems = "; ".join(
            (f"SORI_{str(problem['loc'][0]).upper()}: " if problem["loc"] else "")
            + str(problem["msg"]).removeprefix("Value error, ")
            for problem in error.errors()
        )
        raise ValueError(f"invalid settings: {problems}") from None
    return OpenMeteoProvider(config) if config is not None else None


def run(args: argparse.Namespace) -> int:
    """Print the assistant's answer; with -o also write it as speech (the output and the voice
    are checked before the skill runs)."""
    from assistant import Assistant, AssistantError, default_store_path
    from assistant.store import open_store

    synthesizer = None
    if args.output is not None:
        checks.output_file(args.output, "-o")
        checks.device(args.device)
        try:
            synthesizer = _load_voice(args.voice, args.device, args.runtime)
        except VoiceUnusableError as error:
            print(f"sori ask: cannot speak with this voice, so nothing was asked: {error}", file=sys.stderr)
            return EXIT_NO_VOICE
    url = args.database_url if args.database_url is not None else os.environ.get("SORI_DATABASE_URL")
    try:
        weather = _weather_provider()
    except ValueError as error:
        print(f"sori ask: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        assistant = Assistant(store=open_store(url, default_store_path()), weather=weather)
    except AssistantError as error:
        print(f"sori ask: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        answer = assistant.ask(args.text)
    except AssistantError as error:
        print(f"sori ask: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        assistant.close()
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        print(f"intent: {answer.intent}")
        print(f"slots:  {json.dumps(answer.slots, ensure_ascii=False)}")
        print(f"reply:  {answer.reply if answer.reply is not None else '(nothing to say)'}")
    if synthesizer is None or args.output is None:
        return 0
    if answer.reply is None:
        print("sori ask: nothing to say, so no audio was written", file=sys.stderr)
        return 0
    return _speak(answer.reply, args.output, synthesizer)
