"""Hangul arithmetic: split precomposed syllables into jamo indices and build them back.

The Unicode block U+AC00..U+D7A3 is laid out as (onset * 21 + nucleus) * 28 + coda, so
decomposition is exact integer arithmetic; no table can drift out of step with the standard.
"""

from __future__ import annotations

from typing import NamedTuple

SYLLABLE_FIRST = 0xAC00
"""The first precomposed syllable, 가."""
N_ONSETS = 19
N_NUCLEI = 21
N_CODAS = 28
"""Coda index 0 means "no coda"; indices 1..27 are the real final consonants."""
N_SYLLABLES = N_ONSETS * N_NUCLEI * N_CODAS
SYLLABLE_LAST = SYLLABLE_FIRST + N_SYLLABLES - 1

ONSET_FIRST = 0x1100
NUCLEUS_FIRST = 0x1161
CODA_FIRST = 0x11A8
"""Conjoining coda jamo U+11A8 is coda index 1 (index 0 has no character)."""

COMPAT_ONSETS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
"""Compatibility letters in onset order: COMPAT_ONSETS[i] is the letter of onset index i."""
COMPAT_NUCLEI = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
"""Compatibility letters in nucleus order."""
COMPAT_CODAS = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"
"""Compatibility letters in coda order: COMPAT_CODAS[i - 1] is the letter of coda index i."""


class Jamo(NamedTuple):
    """The three indices of a syllable; coda 0 means the syllable is open."""

    onset: int
    nucleus: int
    coda: int = 0


def is_syllable(char: str) -> bool:
    """Whether char is one precomposed Hangul syllable (가..힣)."""
    return len(char) == 1 and SYLLABLE_FIRST <= ord(char) <= SYLLABLE_LAST


def decompose(syllable: str) -> Jamo:
    """The onset, nucleus and coda indices of a precomposed syllable."""
    if not is_syllable(syllable):
        raise ValueError(f"not a precomposed Hangul syllable: {syllable!r}")
    offset = ord(syllable) - SYLLABLE_FIRST
    onset, rest = divmod(offset, N_NUCLEI * N_CODAS)
    nucleus, coda = divmod(rest, N_CODAS)
    return Jamo(onset, nucleus, coda)


def compose(jamo: Jamo) -> str:
    """The precomposed syllable of the given indices."""
    onset, nucleus, coda = jamo
    if not (0 <= onset < N_ONSETS and 0 <= nucleus < N_NUCLEI and 0 <= coda < N_CODAS):
        raise ValueError(f"jamo indices out of range: {tuple(jamo)}")
    return chr(SYLLABLE_FIRST + (onset * N_NUCLEI + nucleus) * N_CODAS + coda)


def onset_char(index: int) -> str:
    """The conjoining onset jamo (U+1100..U+1112) of an onset index."""
    return chr(ONSET_FIRST + index)


def nucleus_char(index: int) -> str:
    """The conjoining nucleus jamo (U+1161..U+1175) of a nucleus index."""
    return chr(NUCLEUS_FIRST + index)


def coda_char(index: int) -> str:
    """The conjoining coda jamo (U+11A8..U+11C2) of a coda index 1..27."""
    if index == 0:
        raise ValueError("coda index 0 is the absence of a coda and has no character")
    return chr(CODA_FIRST + index - 1)
