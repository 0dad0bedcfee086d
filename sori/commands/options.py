"""Options shared by the commands that synthesise."""

from __future__ import annotations

import argparse

RUNTIMES = ("auto", "torch", "onnx")


def add_runtime_argument(parser: argparse.ArgumentParser, default: str | None = "auto") -> None:
    """`--runtime torch|onnx|auto`: what runs the networks ('auto': torch when installed, else ONNX)."""
    parser.add_argument("--runtime", default=default, choices=RUNTIMES,
                        help="what runs the voice: torch, onnx (ONNX Runtime, CPU; needs `sori export-onnx` "
                             "files), or auto: torch when it is installed, else onnx (default: auto)")
