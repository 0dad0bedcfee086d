"""espeak-ng's Korean voice as a function: Hangul text in, a float wave [T] out.

The one place that runs espeak-ng, for both of its users: the bootstrap corpus recipe
(`recipes/espeak_ko`) and the teacher a demo voice is measured against (`tts.evaluation`), each of
which turns `EspeakError` into its own error where it calls in. Text goes in on stdin as UTF-8,
never on the command line, so no sentence can be mistaken for an option.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

from tts.audio import AudioError, load_audio

ESPEAK = "espeak-ng"
VOICE = "ko"
TIMEOUT_SECONDS = 120.0
INSTALL_HINT = (
    "install it with `sudo bash scripts/install_system.sh` (Debian/Ubuntu: "
    "`sudo apt-get install espeak-ng`)"
)


class EspeakError(RuntimeError):
    """espeak-ng is missing, failed, or wrote no usable audio; the message says which."""


def find_espeak() -> str:
    """The espeak-ng executable on PATH; EspeakError saying how to install it when missing."""
    binary = shutil.which(ESPEAK)
    if binary is None:
        raise EspeakError(f"{ESPEAK} is not installed: {INSTALL_HINT}")
    return binary


def check_korean_voice(binary: str) -> None:
    """Speak one syllable to make sure this espeak-ng has a working Korean voice."""
    try:
        espeak_wave("가", 22_050, binary=binary)
    except EspeakError as error:
        raise EspeakError(f"{binary} cannot speak Korean (voice {VOICE!r}): {error}") from error


def espeak_wave(
    text: str,
    sample_rate: int,
    *,
    binary: str | None = None,
    timeout_s: float = TIMEOUT_SECONDS,
) -> torch.Tensor:
    """espeak-ng -v ko speaking `text` (Hangul). -> [T] float32 at sample_rate.

    espeak-ng writes 22,050 Hz WAVs; the rendering goes to a private temporary directory and is
    resampled by `tts.audio.load_audio`. `binary` defaults to `find_espeak()`.
    """
    executable = binary if binary is not None else find_espeak()
    with tempfile.TemporaryDirectory(prefix="sori-espeak-") as scratch:
        path = Path(scratch) / "espeak.wav"
        try:
            run = subprocess.run(
                [executable, "-v", VOICE, "-b", "1", "-w", str(path), "--stdin"],
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise EspeakError(f"{ESPEAK} took over {timeout_s:g} s on {text[:40]!r}") from None
        if run.returncode != 0:
            detail = run.stderr.decode(errors="replace").strip() or f"exit status {run.returncode}"
            raise EspeakError(f"{ESPEAK} failed on {text[:40]!r}: {detail}")
        try:
            return load_audio(path, sample_rate)  # [T]
        except AudioError as error:
            raise EspeakError(f"{ESPEAK} wrote no usable audio for {text[:40]!r}: {error}") from error
