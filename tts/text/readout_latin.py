"""Read-out rules for Latin script: web addresses, codes like MP3 or 4K, English words and acronyms.

Words go through the CMU dictionary (`english_to_hangul`); acronyms and unknown words are spelled.
Accented letters are folded to ASCII first (café → cafe). Single digits inside a Latin code are
said in English, as Korean speakers do (MP3 → 엠피쓰리, 4K → 포케이); longer numbers stay Sino-Korean.
"""

from __future__ import annotations

import re
import unicodedata

from tts.text.english import english_to_hangul
from tts.text.numbers import MAX_SINO, PHONE_ZERO, native_ordinal, read_digits, whole_number
from tts.text.readout_numbers import read_number
from tts.text.tables import ENGLISH_DIGITS, ENGLISH_ORDINALS, LATIN_ABBREVIATIONS

_TLD = "com|net|org|kr|io|ai|co|dev|me|app|edu|gov|info|biz|tv|jp|cn|uk|de|fr|us"
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_URL = re.compile(
    rf"(?:https?://)?(?<![\w.@-])(?:[A-Za-z0-9-]+\.)+(?:{_TLD})(?![A-Za-z0-9-])(?:/[A-Za-z0-9._~%/-]*)?"
)
_SCHEME = re.compile(r"^https?://")
"""The scheme is not said, as on air (네이버 닷컴, not 에이치티티피에스 …)."""
_ADDRESS_PART = re.compile(r"[A-Za-z]+|[0-9]+|.")
_ADDRESS_SIGNS = {"@": "골뱅이", ".": "닷", "/": "슬래시", "-": "대시", "_": "언더바", "+": "플러스",
                  "%": "퍼센트", "~": "물결"}  # fmt: skip
"""How the punctuation of e-mail and web addresses is said."""
_ADDRESS_WORDS = {"www": "더블유더블유더블유", "com": "컴", "net": "넷", "org": "오알지",
                  "co": "씨오", "kr": "케이알", "io": "아이오", "ai": "에이아이", "http": "",
                  "https": ""}  # fmt: skip
"""Address parts said by convention rather than by dictionary (닷컴, 닷넷)."""

_ABBREVIATION = re.compile(
    r"(?<![A-Za-z.])("
    + "|".join(re.escape(a) for a in sorted(LATIN_ABBREVIATIONS, key=len, reverse=True))
    + r")(?:(?<=\.)|(?![A-Za-z]))( ?[0-9]+(?![0-9.,]))?"
)
_ORDINAL_SUFFIX = re.compile(r"(?<![A-Za-z0-9.,])([0-9]+)(st|nd|rd|th)(?![A-Za-z])")
_LETTERS_DIGITS = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]+)([0-9]+)(?![0-9.,]?[0-9])")
_LETTERS_DECIMAL = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]+)([0-9]+(?:\.[0-9]+)+)(?![0-9])")
_DIGITS_LETTERS = re.compile(r"(?<![A-Za-z0-9.,])([0-9]+)([A-Za-z]+)(?![A-Za-z])")
_LATIN_WORD = re.compile(
    r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+(?:'[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+)*"
)
_ASCII_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
_FOLD_MAP = {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
                       "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "ð": "d",
                       "Ð": "D", "ı": "i"}  # fmt: skip
_FOLD = str.maketrans(_FOLD_MAP)
"""Latin letters that do not decompose into a base letter plus accents."""


def _address(text: str) -> str:
    """One e-mail or web address, part by part: naver.com → 네이버 닷 컴 (spelled if unknown)."""
    words = []
    for part in _ADDRESS_PART.findall(_SCHEME.sub("", text)):
        if part.lower() in _ADDRESS_WORDS:
            words.append(_ADDRESS_WORDS[part.lower()])
        elif part.isascii() and part.isalpha():
            words.append(english_to_hangul(part))
        elif part.isdigit():
            words.append(read_digits(part, zero=PHONE_ZERO))
        else:
            words.append(_ADDRESS_SIGNS.get(part, part))
    return " ".join(words)


def read_web_addresses(text: str) -> str:
    """sori@example.com → 소리 골뱅이 이그잼플 닷 컴; www.naver.com → 더블유더블유더블유 닷 …."""
    text = _EMAIL.sub(lambda m: _address(m.group(0)), text)
    return _URL.sub(lambda m: _address(m.group(0)), text)


def read_abbreviations(text: str) -> str:
    """Mr. → 미스터, Dr. → 닥터, vs → 대, No.1 → 넘버원 (a number after No. is a code)."""

    def replace(match: re.Match[str]) -> str:
        word = LATIN_ABBREVIATIONS[match.group(1)]
        number = (match.group(2) or "").strip()
        if match.group(1) == "No." and not number:
            return english_to_hangul("No") + "."
        if not number:
            return f" {word} "
        if match.group(1) == "No.":
            joiner = "" if len(number) == 1 else " "
            return f" {word}{joiner}{_code_digits(number)} "
        return f" {word} {number}"

    return _ABBREVIATION.sub(replace, text)


def _code_digits(digits: str) -> str:
    """Digits inside a Latin code: one digit in English (쓰리), more as a Sino number (이십)."""
    return ENGLISH_DIGITS[int(digits)] if len(digits) == 1 else read_number(digits)


def read_english_ordinals(text: str) -> str:
    """1st → 퍼스트, 3rd → 서드, up to 10th; 21st → 스물한 번째; past the 경 range, digit by digit."""

    def replace(match: re.Match[str]) -> str:
        value = whole_number(match.group(1))
        if value in ENGLISH_ORDINALS:
            return ENGLISH_ORDINALS[value]
        if value > MAX_SINO:
            return f"{read_number(match.group(1))} 번째"
        return f"{native_ordinal(value)} 번째" if value else read_number(match.group(1))

    return _ORDINAL_SUFFIX.sub(replace, text)


def read_mixed_alphanumerics(text: str) -> str:
    """Codes of letters and digits: MP3 → 엠피쓰리, G20 → 지 이십, 4K → 포케이, v1.2 → 브이 일 점 이."""

    def letters_digits(match: re.Match[str]) -> str:
        letters, digits = match.groups()
        joiner = "" if len(digits) == 1 else " "
        return english_to_hangul(letters) + joiner + _code_digits(digits)

    def digits_letters(match: re.Match[str]) -> str:
        digits, letters = match.groups()
        joiner = "" if len(digits) == 1 else " "
        return _code_digits(digits) + joiner + english_to_hangul(letters)

    def letters_decimal(match: re.Match[str]) -> str:
        letters, number = match.groups()
        return english_to_hangul(letters) + " " + " 점 ".join(map(read_number, number.split(".")))

    text = _LETTERS_DECIMAL.sub(letters_decimal, text)
    return _DIGITS_LETTERS.sub(digits_letters, _LETTERS_DIGITS.sub(letters_digits, text))


def fold_latin(word: str) -> str:
    """Latin letters without accents: café → cafe, Straße → Strasse; other letters kept."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_FOLD))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def read_latin_words(text: str) -> str:
    """English words and acronyms in Hangul: computer → 컴퓨터, KSS → 케이에스에스, café → 카페.

    A word whose letters cannot all be folded to ASCII is left as it is, for the final sweep to
    report.
    """

    def replace(match: re.Match[str]) -> str:
        word = fold_latin(match.group(0))
        if not _ASCII_WORD.fullmatch(word):
            return match.group(0)
        return english_to_hangul(word)

    return _LATIN_WORD.sub(replace, text)
