"""`sori g2p TEXT [--json]`: show what the Korean frontend makes of a sentence, stage by stage."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sori.commands import checks


def register(subparsers: Any) -> None:
    """Add the `g2p` subcommand."""
    parser = subparsers.add_parser(
        "g2p",
        help="show each frontend stage of a sentence (read-out, pronunciation, symbols, ids)",
        description="Run the Korean text frontend on TEXT and print every stage.",
    )
    parser.add_argument("text", metavar="TEXT", help="the sentence to process; - reads standard input")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: normalized, pronounced, symbols, ids, dropped",
    )
    parser.add_argument(
        "--no-g2p", action="store_true", help="skip g2pk: symbols follow spelling, not sound"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the stages; exit 2 with the reason on stderr when the text cannot be spoken."""
    from tts.text import FrontendError, TextConfig, text_to_ids

    text = checks.stdin_text().strip() if args.text == "-" else args.text
    try:
        result = text_to_ids(text, TextConfig(use_g2p=not args.no_g2p))
    except FrontendError as error:
        print(f"sori g2p: {error}", file=sys.stderr)
        return 2
    stages = {
        "normalized": result.normalized,
        "pronounced": result.pronounced,
        "symbols": list(result.symbols),
        "ids": list(result.ids),
        "dropped": list(result.dropped),
    }
    if args.json:
        print(json.dumps(stages, ensure_ascii=False))
        return 0
    print(f"input:      {text}")
    print(f"normalized: {result.normalized}")
    print(f"pronounced: {result.pronounced}")
    print(f"symbols:    {' '.join('␣' if s == ' ' else s for s in result.symbols)}")
    print(f"ids:        {' '.join(map(str, result.ids))}")
    print(f"dropped:    {' '.join(result.dropped) if result.dropped else '(none)'}")
    return 0
