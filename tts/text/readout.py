"""Stage 2 of the frontend: read out everything that is not Hangul, like a Korean newsreader.

`read_out` runs the rules from most to least specific (addresses, dates, times, phones, money,
units, codes, counted numbers, English), speaks the remaining symbols, maps punctuation to the
pauses the symbol table knows, and finally removes what cannot be spoken (emoji, Hanja, other
scripts), returning it so the caller can report it: nothing is dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tts.text import hangul
from tts.text.readout_counters import read_counted_numbers
from tts.text.readout_latin import (
    read_abbreviations,
    read_english_ordinals,
    read_latin_words,
    read_mixed_alphanumerics,
    read_web_addresses,
)
from tts.text.readout_numbers import (
    read_arithmetic,
    read_codes,
    read_dates,
    read_money,
    read_phone_numbers,
    read_ratios_and_fractions,
    read_times,
    read_units,
    read_versions,
)
from tts.text.symbols import PUNCTUATION
from tts.text.tables import PAUSES, SYMBOL_WORDS

Rule = Callable[[str], str]

_HANGUL_THEN_DIGIT = re.compile(r"(?<=[가-힣])(?=[0-9])")
_RANGE_TILDE = re.compile(r"(?<=\S) ?~ ?(?=[^\s~])")
_SYMBOL = re.compile("|".join(re.escape(symbol) for symbol in sorted(SYMBOL_WORDS, key=len)[::-1]))
_PUNCTUATION_RUN = re.compile(rf"[{re.escape(PUNCTUATION)}](?: ?[{re.escape(PUNCTUATION)}])*")
_SPACE_BEFORE_PUNCTUATION = re.compile(rf" +(?=[{re.escape(PUNCTUATION)}])")
_LEADING_PAUSES = re.compile(rf"^[\s{re.escape(PUNCTUATION)}]+")
_SPACES = re.compile(r" {2,}")
_GLUED_AFTER_PUNCTUATION = re.compile(
    rf"([{re.escape(PUNCTUATION)}])(?=[^\s{re.escape(PUNCTUATION)}])"
)

_COMPAT_LETTERS = frozenset(hangul.COMPAT_ONSETS + hangul.COMPAT_NUCLEI + hangul.COMPAT_CODAS)
"""Standalone Hangul letters (ㅋ, ㅠ): the symbol table spells them, so they are kept."""

_PUNCTUATION_STRENGTH = "?!….,"
"""When punctuation piles up (?!, ..., !!), the first of these present in the run is kept."""


def separate_numbers(text: str) -> str:
    """A number glued to the word before it stands apart: 총3개 → 총 3개, 코로나19 → 코로나 19."""
    return _HANGUL_THEN_DIGIT.sub(" ", text)


def read_tildes(text: str) -> str:
    """~ between two words is a range (서울~부산 → 서울에서 부산); elsewhere a pause."""
    return _RANGE_TILDE.sub("에서 ", text).replace("~", ",")


def read_symbols(text: str) -> str:
    """Symbols that are words in Korean (& → 앤, + → 플러스, $ → 달러), padded by spaces."""
    return _SYMBOL.sub(lambda m: f" {SYMBOL_WORDS[m.group(0)]} ", text)


def map_pauses(text: str) -> str:
    """Silent punctuation to the pause it stands for: ; : ( ) → comma, / - · → space, quotes → ''."""
    return "".join(PAUSES.get(char, char) for char in text)


RULES: tuple[Rule, ...] = (
    separate_numbers,
    read_web_addresses,
    read_abbreviations,
    read_dates,
    read_times,
    read_phone_numbers,
    read_versions,
    read_money,
    read_units,
    read_english_ordinals,
    read_mixed_alphanumerics,
    read_arithmetic,
    read_ratios_and_fractions,
    read_codes,
    read_counted_numbers,
    read_latin_words,
    read_tildes,
    read_symbols,
    map_pauses,
)
"""The read-out rules in the order they run; each sees the output of the one before."""


def is_kept(char: str) -> bool:
    """Whether a character survives the read-out: Hangul, Hangul letters, space, prosody marks."""
    return hangul.is_syllable(char) or char in _COMPAT_LETTERS or char == " " or char in PUNCTUATION


def sweep(text: str) -> tuple[str, tuple[str, ...]]:
    """Remove every character that cannot be spoken; return the text and what was removed.

    The removed characters are listed once each, in order of first appearance.
    """
    kept: list[str] = []
    dropped: dict[str, None] = {}
    for char in text:
        if is_kept(char):
            kept.append(char)
        else:
            dropped.setdefault(char)
            kept.append(" ")
    return "".join(kept), tuple(dropped)


def _strongest(run: str) -> str:
    """The one punctuation mark a run of marks stands for."""
    return next((mark for mark in _PUNCTUATION_STRENGTH if mark in run), run[0])


def tidy(text: str) -> str:
    """One space between words, none before punctuation, no pile-ups of marks, no leading pause."""
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCTUATION.sub("", text)
    text = _PUNCTUATION_RUN.sub(lambda m: _strongest(m.group(0)), text)
    text = _GLUED_AFTER_PUNCTUATION.sub(r"\1 ", text)
    return _LEADING_PAUSES.sub("", text).strip()


def read_out(text: str) -> tuple[str, tuple[str, ...]]:
    """Normalised text to speakable Hangul, plus the characters that had to be dropped."""
    for rule in RULES:
        text = rule(text)
    text, dropped = sweep(text)
    return tidy(text), dropped
