"""The `sori` command line: one dispatcher, one module per subcommand under `sori.commands`."""

from __future__ import annotations

import argparse
import logging
import os
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
    synthesize_batch,
    train,
    train_vocoder,
    vocode,
    wyoming,
)
from sori.commands.checks import UsageError

EXIT_USAGE = 2
"""Bad input, found before any work."""
EXIT_BROKEN_PIPE = 128 + 13
"""The reader of standard output went away (`| head`): what a tool ended by SIGPIPE returns."""

COMMANDS = (
    ask,
    evaluate,
    export,
    export_onnx,
    g2p,
    prepare,
    serve,
    speak,
    synthesize_batch,
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
    """Parse arguments, run the chosen subcommand and return its exit status: 2 with one line on
    bad input, and quietly 141 when the reader of standard output stops early."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except UsageError as error:
        print(f"sori {args.command}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush of what is left in its
    buffer does not fail again on the closed pipe (and print a second error)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file behind stdout (captured, closed): nothing to flush
        pass


if __name__ == "__main__":
    sys.exit(main())
