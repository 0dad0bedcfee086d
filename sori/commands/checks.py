"""Checks a command makes before its work starts: output paths, the device, text on standard input.

Each raises `UsageError` with a one-line message; `sori.cli.main` prints it after the command's
name and exits 2, as for every other bad input.
"""

from __future__ import annotations

import sys
from pathlib import Path


class UsageError(Exception):
    """Bad input found before any work: one line for the user; the command exits 2."""


def output_file(path: Path, option: str) -> None:
    """UsageError unless `path` can be written as a file: not a folder, and its folder exists."""
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name")
    folder = path.parent
    if not folder.exists():
        raise UsageError(f"{option} {path}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: {folder} is not a folder")


def output_dir(path: Path, option: str) -> None:
    """UsageError when `path` cannot be a folder: it, or a folder above it, is a file."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                shown = "it is a file" if candidate == path else f"{candidate} is a file"
                raise UsageError(f"{option} {path} must be a folder, but {shown}")
            return


def input_dir(path: Path | None, option: str) -> None:
    """UsageError when a folder to read from is given (not None) but is not a folder."""
    if path is not None and not path.is_dir():
        shown = "does not exist" if not path.exists() else "is not a folder"
        raise UsageError(f"{option} {path} {shown}")


def device(name: str | None) -> None:
    """UsageError for a CUDA device (cuda, cuda:N) when no CUDA GPU is available."""
    if name is None or not name.startswith("cuda"):
        return
    try:
        import torch
    except ImportError:
        available = False
    else:
        available = torch.cuda.is_available()
    if not available:
        raise UsageError(f"--device {name}: no CUDA GPU is available here; use --device cpu or auto")


def stdin_text() -> str:
    """Standard input as text, which must be UTF-8 (UsageError naming the first bad byte)."""
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(
            f"standard input is not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start})"
        ) from None
