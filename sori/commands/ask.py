"""`sori ask TEXT [-o reply.wav] [--json]`: ask the assistant, print its reply, optionally speak it."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from sori.commands.options import add_runtime_argument

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
    add_runtime_argument(parser)
    parser.set_defaults(func=run)


def _speak(text: str, output: Path, voice: Path | None, device: str, runtime: str) -> int:
    """Synthesise `text` into `output`; returns the exit status."""
    from tts import default_voice_dir, load_synthesizer
    from tts.audio import save_wav

    try:
        voice_dir = voice if voice is not None else default_voice_dir()
        synthesizer = load_synthesizer(voice_dir, runtime=runtime, device=device)
        result = synthesizer.synthesize(text)
        save_wav(output, result.waveform, result.sample_rate)
    except (OSError, ValueError, RuntimeError) as error:
        print(f"sori ask: could not speak the reply: {error}", file=sys.stderr)
        return EXIT_NO_VOICE
    LOGGER.info("wrote %s", output)
    return 0


def run(args: argparse.Namespace) -> int:
    """Print the assistant's answer; with -o also write it as speech."""
    from assistant import Assistant, AssistantError

    try:
        answer = Assistant().ask(args.text)
    except AssistantError as error:
        print(f"sori ask: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        print(f"intent: {answer.intent}")
        print(f"slots:  {json.dumps(answer.slots, ensure_ascii=False)}")
        print(f"reply:  {answer.reply if answer.reply is not None else '(nothing to say)'}")
    if args.output is None:
        return 0
    if answer.reply is None:
        print("sori ask: nothing to say, so no audio was written", file=sys.stderr)
        return 0
    return _speak(answer.reply, args.output, args.voice, args.device, args.runtime)
