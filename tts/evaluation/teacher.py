"""The teacher a demo voice is measured against: espeak-ng's Korean voice speaking the same
normalised Hangul the voice was given (as the bootstrap corpus did).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

from tts.audio import AudioError, load_audio

TIMEOUT_SECONDS = 60.0


class EvaluationError(RuntimeError):
    """The evaluation cannot run (no teacher, unreadable sentences file, ...)."""


def espeak_wave(text: str, sample_rate: int) -> torch.Tensor:
    """espeak-ng -v ko speaking `text` (already normalised Hangul). -> [T] float32 at sample_rate."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise EvaluationError(
            "espeak-ng is not installed; it renders the teacher audio "
            "(install it with `sudo apt-get install espeak-ng`)"
        )
    handle, name = tempfile.mkstemp(prefix="sori-teacher-", suffix=".wav")
    os.close(handle)
    path = Path(name)
    try:
        run = subprocess.run(
            [binary, "-v", "ko", "-b", "1", "-w", str(path), "--stdin"],
            input=text.encode("utf-8"), capture_output=True, timeout=TIMEOUT_SECONDS, check=False,
        )
        if run.returncode != 0:
            raise EvaluationError(f"espeak-ng failed on {text[:40]!r}: {run.stderr.decode(errors='replace')}")
        try:
            return load_audio(path, sample_rate)
        except AudioError as error:
            raise EvaluationError(f"espeak-ng wrote no usable audio for {text[:40]!r}") from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
