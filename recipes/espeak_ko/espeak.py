"""espeak-ng's Korean voice as a function: Hangul text in, a 16-bit mono WAV at 44.1 kHz out.

espeak-ng is a formant synthesiser packaged by Debian (`espeak-ng`); it writes 22,050 Hz WAVs, so
each rendering is resampled to the corpus rate with torchaudio (via `tts.audio.load_audio`) and
saved atomically. Text goes in on stdin as UTF-8, never on the command line, so no sentence can be
mistaken for an option.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from recipes.espeak_ko.errors import CorpusError
from tts.audio import AudioError, load_audio, save_wav

ESPEAK = "espeak-ng"
VOICE = "ko"
CORPUS_SAMPLE_RATE = 44_100
"""KSS's sample rate; the corpus matches it so one prepare step reads both."""
TIMEOUT_SECONDS = 120.0
INSTALL_HINT = (
    "install it with `sudo bash scripts/install_system.sh` (Debian/Ubuntu: "
    "`sudo apt-get install espeak-ng`)"
)


def find_espeak() -> str:
    """The espeak-ng executable on PATH; CorpusError saying how to install it when missing."""
    binary = shutil.which(ESPEAK)
    if binary is None:
        raise CorpusError(f"{ESPEAK} is not installed: {INSTALL_HINT}")
    return binary


def _command(binary: str, wav_path: Path) -> list[str]:
    """espeak-ng with the Korean voice, UTF-8 input from stdin, WAV output to wav_path."""
    return [binary, "-v", VOICE, "-b", "1", "-w", str(wav_path), "--stdin"]


def check_korean_voice(binary: str) -> None:
    """Speak one syllable to make sure this espeak-ng has a working Korean voice."""
    with tempfile.TemporaryDirectory(prefix="sori-espeak-") as scratch:
        probe = Path(scratch) / "probe.wav"
        run = subprocess.run(
            _command(binary, probe),
            input="가".encode(),
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        if run.returncode != 0 or not probe.exists() or probe.stat().st_size <= 44:
            detail = run.stderr.decode(errors="replace").strip() or f"exit status {run.returncode}"
            raise CorpusError(f"{binary} cannot speak Korean (voice {VOICE!r}): {detail}")


def synthesize(
    binary: str, text: str, wav_path: Path, sample_rate: int = CORPUS_SAMPLE_RATE
) -> None:
    """Speak text with espeak-ng's Korean voice into wav_path (16-bit mono WAV), atomically.

    The raw 22,050 Hz rendering goes to a temporary file beside wav_path and is removed afterwards.
    """
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    handle, raw_name = tempfile.mkstemp(
        prefix=f".{wav_path.stem}.", suffix=".espeak.wav", dir=wav_path.parent
    )
    os.close(handle)
    raw = Path(raw_name)
    try:
        run = subprocess.run(
            _command(binary, raw),
            input=text.encode(),
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        if run.returncode != 0:
            detail = run.stderr.decode(errors="replace").strip() or f"exit status {run.returncode}"
            raise CorpusError(f"{ESPEAK} failed on {text[:40]!r}: {detail}")
        try:
            wave = load_audio(raw, sample_rate)  # [T]
        except AudioError as error:
            raise CorpusError(
                f"{ESPEAK} wrote no usable audio for {text[:40]!r}: {error}"
            ) from error
        save_wav(wav_path, wave, sample_rate)
    finally:
        with contextlib.suppress(FileNotFoundError):
            raw.unlink()
