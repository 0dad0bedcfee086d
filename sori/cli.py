"""The `sori` command line: one dispatcher, one module per subcommand under `sori.commands`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from sori.commands import (
    ask,
    evaluate,
    export,
    export_onnx,
    g2p,
    prepare,
    serve,
    speak,
    train,
    train_vocoder,
    vocode,
    wyoming,
)

COMMANDS = (
    ask,
    evaluate,
    export,
    export_onnx,
    g2p,
    prepare,
    serve,
    speak,
    train,
    train_vocoder,
    vocode,
    wyoming,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="sori", description="Sori (소리): Korean Tacotron text-to-speech and voice assistant."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the chosen subcommand and return its exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
