"""Stage 1 of the frontend: make Unicode canonical before anything is read out.

NFC composition, full-width to half-width, one spelling per quote, dash, tilde and ellipsis,
compatibility characters (㎞, ℃, ①, Ⅳ) spelled in ASCII, and whitespace collapsed. Every
function is pure and idempotent; none removes a character that could carry sound.
"""

from __future__ import annotations

import re
import unicodedata

_FULLWIDTH_FIRST = 0xFF01
_FULLWIDTH_LAST = 0xFF5E
_FULLWIDTH_OFFSET = 0xFEE0
"""Full-width ASCII (！ .. ～) sits at a fixed offset above ASCII (! .. ~)."""

_HALFWIDTH_PUNCTUATION = {"\u3000": " ", "\uff61": ".", "\uff64": ",", "\u3002": ".", "\u3001": ","}
"""Ideographic space and CJK full stops/commas written the ASCII way."""

_COMPATIBILITY = {
    "㎜": "mm", "㎝": "cm", "㎞": "km", "㎡": "m²", "㎢": "km²", "㎥": "m³", "㎠": "cm²",
    "㎏": "kg", "㎎": "mg", "㎍": "μg", "㎖": "mL", "㎗": "dL", "ℓ": "L", "㎘": "kL", "㏄": "cc",
    "℃": "°C", "℉": "°F", "㎈": "cal", "㎉": "kcal", "㎾": "kW", "㎽": "mW", "㎿": "MW",
    "㎐": "Hz", "㎑": "kHz", "㎒": "MHz", "㎓": "GHz", "㏈": "dB", "㎳": "ms",
    "㎸": "kV", "㎃": "mA", "㎂": "μA", "㏊": "ha", "µ": "μ",
}  # fmt: skip
"""Squared unit signs and look-alikes, spelled the way the unit table knows them."""

_ROMAN_NUMERALS = "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ"
"""Roman numeral signs U+2160.. read as their value (제Ⅱ장 → 제2장)."""

_CIRCLED_RANGES = ((0x2460, 0x2473), (0x2474, 0x2487), (0x24B6, 0x24E9), (0x3251, 0x325F))
"""Circled / parenthesised numbers and letters (①, ⑴, Ⓐ, ㉑), unfolded by NFKC."""

_PUNCTUATION_MAP = {
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2033": '"', "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2212": "-", "\ufe63": "-",
    "\u2014": "—", "\u2015": "—", "\u301c": "~", "\u223c": "~", "\u02dc": "~",
    "\u22ef": "…", "\u2026": "…", "\u00b7": "·", "\u30fb": "·", "\u2022": "·", "\u2027": "·",
    "\u2219": "·", "\u00d7": "×", "\u2715": "×",
}  # fmt: skip
_PUNCTUATION = str.maketrans(_PUNCTUATION_MAP)
"""Quotes to ASCII quotes, hyphen-like dashes to '-', long dashes to '—', tildes to '~'."""

_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufe0e\ufe0f\ufeff]")
"""Zero-width characters, soft hyphens and emoji variation selectors: no sound, no meaning."""

_WHITESPACE = re.compile(r"\s+")
_ELLIPSIS_DOTS = re.compile(r"\.{3,}|…+")


def to_nfc(text: str) -> str:
    """Compose Hangul (and everything else) to NFC: conjoining jamo become syllables."""
    return unicodedata.normalize("NFC", text)


def fold_width(text: str) -> str:
    """Full-width ASCII to half-width (３시 → 3시, ＡＢＣ → ABC), ideographic space to space."""
    out = []
    for char in text:
        code = ord(char)
        if _FULLWIDTH_FIRST <= code <= _FULLWIDTH_LAST:
            out.append(chr(code - _FULLWIDTH_OFFSET))
        else:
            out.append(_HALFWIDTH_PUNCTUATION.get(char, char))
    return "".join(out)


def _unfold_compatibility_char(char: str) -> str:
    """The ASCII spelling of one compatibility character, or the character itself."""
    if char in _COMPATIBILITY:
        return _COMPATIBILITY[char]
    if char in _ROMAN_NUMERALS:
        return str(_ROMAN_NUMERALS.index(char) + 1)
    code = ord(char)
    if any(first <= code <= last for first, last in _CIRCLED_RANGES):
        return unicodedata.normalize("NFKC", char).strip("()")
    return char


def ascii_digits(text: str) -> str:
    """Decimal digits of any script as ASCII (٣ → 3, ३ → 3), so every number is read out."""
    return "".join(
        str(unicodedata.decimal(char))
        if not char.isascii() and unicodedata.decimal(char, None) is not None
        else char
        for char in text
    )


def unfold_compatibility(text: str) -> str:
    """Spell squared units, Roman numerals and circled numbers in ASCII (㎞ → km, ① → 1)."""
    return "".join(_unfold_compatibility_char(char) for char in text)


def canonical_punctuation(text: str) -> str:
    """One spelling per quote, dash, tilde, middle dot and ellipsis ('...' and '⋯' → '…')."""
    return _ELLIPSIS_DOTS.sub("…", text.translate(_PUNCTUATION))


def canonical_whitespace(text: str) -> str:
    """Drop invisible format characters, collapse whitespace runs to one space, strip ends."""
    return _WHITESPACE.sub(" ", _INVISIBLE.sub("", text)).strip()


def normalize(text: str) -> str:
    """The whole stage: NFC, width, digits, compatibility forms, punctuation, whitespace."""
    text = unfold_compatibility(ascii_digits(fold_width(to_nfc(text))))
    return canonical_whitespace(canonical_punctuation(text))
