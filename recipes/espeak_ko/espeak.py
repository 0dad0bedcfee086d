"""espeak-ng's Korean voice as a function: Hangul text in, a 16-bit mono WAV at 44.1 kHz out.

espeak-ng is a formant synthesiser packaged by Debian (`espeak-ng`); `tts.espeak` runs it and
resamples its 22,050 Hz rendering to the corpus rate; this module saves it atomically and turns
its errors into the recipe's `CorpusError`.
"""

from __future__ import annotations

from pathlib import Path

from recipes.espeak_ko.errors import CorpusError
from tts.audio import save_wav
from tts.espeak import VOICE, EspeakError, espeak_wave
from tts.espeak import find_espeak as _find_espeak

CORPUS_SAMPLE_RATE = 44_100
"""KSS's sample rate; the corpus matches it so one prepare step reads both."""


def find_espeak() -> str:
    """The espeak-ng executable on PATH; CorpusError saying how to install it when missing."""
    try:
        return _find_espeak()
    except EspeakError as error:
        raise CorpusError(str(error)) from error


def check_korean_voice(binary: str) -> None:
    """Speak one syllable to make sure this espeak-ng has a working Korean voice."""
    try:
        espeak_wave("가", CORPUS_SAMPLE_RATE, binary=binary)
    except EspeakError as error:
        raise CorpusError(f"{binary} cannot speak Korean (voice {VOICE!r}): {error}") from error


def synthesize(
    binary: str, text: str, wav_path: Path, sample_rate: int = CORPUS_SAMPLE_RATE
) -> None:
    """Speak text with espeak-ng's Korean voice into wav_path (16-bit mono WAV), atomically."""
    try:
        wave = espeak_wave(text, sample_rate, binary=binary)  # [T]
    except EspeakError as error:
        raise CorpusError(str(error)) from error
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    save_wav(wav_path, wave, sample_rate)
