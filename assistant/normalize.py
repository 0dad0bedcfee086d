"""Utterance normalisation before intent matching: one canonical spelling for many ways of typing.

Each step is a pure function of a string; `normalize_utterance` runs them in order so templates
need list only the canonical forms ("5분", "맞춰줘", "3 더하기 4").
"""

from __future__ import annotations

import re
import unicodedata

from assistant.numbers import NATIVE_NUMBER_WORDS, SINO_NUMBER_CHARS, parse_number
from tts.text import hangul
from tts.text.tables import OPERATORS

_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_SPACES = {0x3000: " ", 0x00A0: " ", 0x200B: None, 0xFEFF: None}

# Counters a number may be written against; "시" must not swallow 시작/시계/시각.
_UNITS = r"(?:시간|분|초|개|시(?![작계각]))"
_NATIVE = "|".join(NATIVE_NUMBER_WORDS)
_NUMBER_WORD_BEFORE_UNIT = re.compile(
    rf"(?<![가-힣\d])(?P<number>[{SINO_NUMBER_CHARS}]+|(?:{_NATIVE})+)\s*(?P<unit>{_UNITS})"
)
_DIGIT_SPACE_UNIT = re.compile(rf"(?<=\d)\s+(?={_UNITS})")
_UNIT_THEN_DIGIT = re.compile(r"(?:(?<=시간)|(?<=[분초]))(?=\d)")

_OPERATORS = {**OPERATORS, "−": "빼기", "x": "곱하기", "X": "곱하기", "/": "나누기"}
"""The frontend's operator words, plus the other signs people type for them (3−1, 3x4, 8/2)."""
_ARITHMETIC = re.compile(r"(?<=\d)\s*([-+−*×xX/÷])\s*(?=[\d-])")

_INNER_COMMA = re.compile(r"(?<!\d)[,，、]|[,，、](?!\d)")
_TRAILING_PUNCTUATION = re.compile(r"[\s?？!！.。~～…=]+$")
_LEADING_PUNCTUATION = re.compile(r"^[\s?？!！.。~～…,]+")
_WHITESPACE = re.compile(r"\s+")

# "추가 해 줘" → "추가해 줘": 해 written apart from the noun it verbalises.
_DETACHED_HAE = re.compile(r"(?<=[가-힣])\s+해(?=\s*(?:주세요|주시겠어요|주실래요|주실래|줄래요|줄래|줘요|줘)|$)")
# "맞춰 주세요", "알려줄래요" → "맞춰줘", "알려줘" (after the -아/-어 form of a verb).
_REQUEST_ENDING = re.compile(
    r"(?P<stem>[가-힣])\s*(?:주세요|주시겠어요|주실래요|주실래|줄래요|줄래|줘요|줘)(?=\s|$)"
)
_INFINITIVE_VOWELS = frozenset(hangul.COMPAT_NUCLEI.index(vowel) for vowel in "ㅏㅐㅓㅕㅘㅙㅝ")
"""Nuclei that end the -아/-어 form of a verb (맞춰, 알려, 해)."""


def to_halfwidth(text: str) -> str:
    """Full-width ASCII forms and ideographic spaces replaced by plain ones, then NFC."""
    return unicodedata.normalize("NFC", text.translate(_FULLWIDTH).translate(_SPACES))


def strip_punctuation(text: str) -> str:
    """Sentence punctuation at either end removed and inner commas turned into spaces."""
    text = _INNER_COMMA.sub(" ", text)
    text = _TRAILING_PUNCTUATION.sub("", _LEADING_PUNCTUATION.sub("", text))
    return _WHITESPACE.sub(" ", text).strip()


def spell_operators(text: str) -> str:
    """Arithmetic symbols between numbers spelled as words: "3+4" → "3 더하기 4"."""
    return _ARITHMETIC.sub(lambda match: f" {_OPERATORS[match.group(1)]} ", text)


def _is_infinitive_syllable(syllable: str) -> bool:
    """Whether a syllable can end the -아/-어 form: an open syllable with one of those vowels."""
    jamo = hangul.decompose(syllable)
    return jamo.coda == 0 and jamo.nucleus in _INFINITIVE_VOWELS


def unify_request_endings(text: str) -> str:
    """Polite and spaced request endings folded to "-줘": 맞춰 주세요 → 맞춰줘, 추가 해 줘 → 추가해줘."""
    text = _DETACHED_HAE.sub("해", text)

    def fold(match: re.Match[str]) -> str:
        stem = match.group("stem")
        return stem + "줘" if _is_infinitive_syllable(stem) else match.group(0)

    return _REQUEST_ENDING.sub(fold, text)


def number_words_to_digits(text: str) -> str:
    """Korean number words before a counter written as digits: 오 분 → 5분, 한 시간 → 1시간."""

    def convert(match: re.Match[str]) -> str:
        value = parse_number(match.group("number"))
        if value is None or value.denominator != 1:
            return match.group(0)
        return f"{value.numerator}{match.group('unit')}"

    return _NUMBER_WORD_BEFORE_UNIT.sub(convert, text)


def space_numbers_and_units(text: str) -> str:
    """A number joined to its counter and counters apart from the next number: "1 시간30분" → "1시간 30분"."""
    return _UNIT_THEN_DIGIT.sub(" ", _DIGIT_SPACE_UNIT.sub("", text))


def normalize_utterance(text: str) -> str:
    """The canonical form of an utterance for matching (see the module docstring)."""
    text = strip_punctuation(to_halfwidth(text))
    text = spell_operators(text)
    text = unify_request_endings(text)
    text = number_words_to_digits(text)
    text = space_numbers_and_units(text)
    return _WHITESPACE.sub(" ", text).strip()
