"""Numbers the assistant hears (digits, Sino-Korean and native Korean words) and writes (digits).

Parsing returns exact `Fraction`s so arithmetic never meets binary floating point; formatting
gives integers when whole and short decimals otherwise, never "5.0" or "0.30000000000000004".
"""

from __future__ import annotations

import re
from fractions import Fraction

from tts.text.numbers import (
    GROUP_UNITS,
    NATIVE_ONES,
    NATIVE_ONES_ATTRIBUTIVE,
    NATIVE_TENS,
    PHONE_ZERO,
    SINO_DIGITS,
    SMALL_UNITS,
    native_korean,
)

# The words are the frontend's own (tts.text.numbers), inverted; only what a listener hears
# besides them is added here.
_SINO_DIGITS = {**{word: value for value, word in enumerate(SINO_DIGITS)}, PHONE_ZERO: 0, "륙": 6}
"""Sino-Korean digits, with 공 (as in phone numbers) and 륙 (육 after a vowel or ㄹ: 오륙, 칠륙)."""
_SINO_SMALL_UNITS = {word: 10**position for position, word in enumerate(SMALL_UNITS) if word}
_SINO_LARGE_UNITS = {word: 10 ** (4 * position) for position, word in enumerate(GROUP_UNITS[:4]) if word}
"""만, 억, 조; not 경, which would take the 경 of "3시경" (about three o'clock) for a number."""
_NATIVE_TENS = {**{word: 10 * tens for tens, word in enumerate(NATIVE_TENS) if word}, native_korean(20): 20}
"""열 … 아흔, and 스무 (20 before a counter)."""
_NATIVE_UNITS = {
    word: value for table in (NATIVE_ONES, NATIVE_ONES_ATTRIBUTIVE) for value, word in enumerate(table) if word
}
"""하나 … 아홉 and their forms before a counter (한, 두, 세, 네)."""
_NATIVE_NUMBER = re.compile(
    "(?P<tens>" + "|".join(sorted(_NATIVE_TENS, key=len, reverse=True)) + ")?"
    "(?P<units>" + "|".join(sorted(_NATIVE_UNITS, key=len, reverse=True)) + ")?"
)
_DIGITS_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+")
_NEGATIVE_PREFIX = re.compile(r"^(?:-|−|마이너스|음수)\s*")

# Characters a Korean-word number may be built from (used by the normaliser to find candidates).
SINO_NUMBER_CHARS = "".join(_SINO_DIGITS) + "".join(_SINO_SMALL_UNITS) + "".join(_SINO_LARGE_UNITS)
NATIVE_NUMBER_WORDS = tuple(sorted({*_NATIVE_TENS, *_NATIVE_UNITS}, key=len, reverse=True))


def parse_sino_korean(text: str) -> int | None:
    """A Sino-Korean number word (십이 → 12, 삼백오십 → 350, 3만 → 30000), or None if it is not one."""
    total, group, current = 0, 0, None
    last_small_unit, last_large_unit = 10**5, 10**17
    position = 0
    while position < len(text):
        digits = re.match(r"\d+", text[position:])
        char = text[position]
        if digits is not None or char in _SINO_DIGITS:
            if current is not None:
                return None
            if digits is not None:
                current = int(digits.group(0))
                position += len(digits.group(0))
                continue
            current = _SINO_DIGITS[char]
        elif char in _SINO_SMALL_UNITS:
            unit = _SINO_SMALL_UNITS[char]
            if unit >= last_small_unit:
                return None
            group += (1 if current is None else current) * unit
            last_small_unit, current = unit, None
        elif char in _SINO_LARGE_UNITS:
            unit = _SINO_LARGE_UNITS[char]
            if unit >= last_large_unit:
                return None
            group += 0 if current is None else current
            total += (group or 1) * unit
            group, current, last_small_unit, last_large_unit = 0, None, 10**5, unit
        else:
            return None
        position += 1
    return total + group + (0 if current is None else current)


def parse_native_korean(text: str) -> int | None:
    """A native Korean number word of 1–99 (다섯 → 5, 열두 → 12, 스물 → 20), or None."""
    match = _NATIVE_NUMBER.fullmatch(text)
    if match is None or not text:
        return None
    return _NATIVE_TENS.get(match.group("tens") or "", 0) + _NATIVE_UNITS.get(
        match.group("units") or "", 0
    )


def _parse_unsigned(text: str) -> Fraction | None:
    if _DIGITS_NUMBER.fullmatch(text):
        return Fraction(text.replace(",", ""))
    if "점" in text:
        integer_part, _, decimal_part = text.partition("점")
        integer = parse_sino_korean(integer_part) if integer_part else 0
        decimals = [_SINO_DIGITS.get(char) for char in decimal_part]
        if integer is None or not decimals or any(digit is None for digit in decimals):
            return None
        return integer + Fraction("0." + "".join(str(digit) for digit in decimals))
    for parse in (parse_sino_korean, parse_native_korean):
        value = parse(text)
        if value is not None:
            return Fraction(value)
    return None


def parse_number(text: str) -> Fraction | None:
    """The number spoken or written in `text` (12, 2.5, 십이, 이 점 오, 마이너스 삼, 다섯), or None.

    Spaces inside the number are ignored ("만 이천" → 12000).
    """
    compact = re.sub(r"\s+", "", text)
    sign = 1
    negative = _NEGATIVE_PREFIX.match(compact)
    if negative is not None:
        sign, compact = -1, compact[negative.end():]
    if not compact:
        return None
    value = _parse_unsigned(compact)
    return None if value is None else sign * value


def round_decimal(value: Fraction, max_decimals: int) -> tuple[Fraction, bool]:
    """`value` rounded half-up to `max_decimals` places, and whether that was exact."""
    quantum = Fraction(1, 10**max_decimals)
    scaled = abs(value) / quantum
    rounded = int(scaled) + (1 if scaled - int(scaled) >= Fraction(1, 2) else 0)
    result = (rounded * quantum) * (1 if value >= 0 else -1)
    return result, result == value


def format_number(value: Fraction | int, max_decimals: int = 2) -> str:
    """Digits for `value`: "7", "2.5", "-0.33" (rounded to `max_decimals`); never "5.0" or "1e-05"."""
    fraction = Fraction(value)
    rounded, _ = round_decimal(fraction, max_decimals)
    if rounded.denominator == 1:
        return str(rounded.numerator)
    # Exact integer arithmetic: a Decimal context (28 digits) fails on long operands.
    whole, part = divmod(int(abs(rounded) * 10**max_decimals), 10**max_decimals)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{whole}.{part:0{max_decimals}d}".rstrip("0").rstrip(".")


def as_slot_value(value: Fraction) -> int | str:
    """A JSON-friendly slot value: an int when whole, else the exact decimal text ("2.5")."""
    if value.denominator == 1:
        return value.numerator
    return format_number(value, max_decimals=12)
