"""Korean particles chosen by the final consonant (받침) of the word they follow, as it is READ.

Particles such as 이/가 or 을/를 depend on whether the preceding syllable ends in a consonant.
Digits are judged by their Sino-Korean reading (3 → 삼, so "3을"; 10 → 십, so "10을"),
uppercase acronyms by their letter names (TV → 티비), and 으로/로 treats ㄹ like a vowel.
"""

from __future__ import annotations

import re

from assistant.errors import AssistantError

_HANGUL_FIRST = 0xAC00
_HANGUL_LAST = 0xD7A3
_FINALS_PER_SYLLABLE = 28
_FINAL_RIEUL = 8  # index of ㄹ among the 28 syllable finals (0 = none)

# Pair key → (form after a consonant, form after a vowel).
PARTICLES: dict[str, tuple[str, str]] = {
    "이/가": ("이", "가"),
    "은/는": ("은", "는"),
    "을/를": ("을", "를"),
    "과/와": ("과", "와"),
    "으로/로": ("으로", "로"),
    "이에요/예요": ("이에요", "예요"),
    "이야/야": ("이야", "야"),
    "아/야": ("아", "야"),
    "이랑/랑": ("이랑", "랑"),
    "이나/나": ("이나", "나"),
    "이라고/라고": ("이라고", "라고"),
}

# Last syllable of each Sino-Korean digit's reading (0 → 영).
_SINO_DIGIT_SYLLABLES = "영일이삼사오육칠팔구"
# Last syllable of a number ending in zeros, by the count of trailing zeros modulo 4 (1→십 …).
_SINO_SMALL_UNITS = {1: "십", 2: "백", 3: "천"}
# Large units by trailing-zero count // 4 when that count is a multiple of 4.
_SINO_LARGE_UNITS = {1: "만", 2: "억", 3: "조", 4: "경"}
# Native readings (하나, 둘 …, 열, 스물 …): last syllable by units digit, and by tens when units is 0.
_NATIVE_UNIT_SYLLABLES = {1: "나", 2: "둘", 3: "셋", 4: "넷", 5: "섯", 6: "섯", 7: "곱", 8: "덟", 9: "홉"}
_NATIVE_TEN_SYLLABLES = {1: "열", 2: "물", 3: "른", 4: "흔", 5: "쉰", 6: "순", 7: "흔", 8: "든", 9: "흔"}
# The last syllable of each Latin letter's Korean name (A 에이 … Z 제트).
_LETTER_SYLLABLES = dict(
    zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "이비씨디이프지치이이이엘엠엔오피큐알스티유이유스이트", strict=True)
)

_TRAILING_NUMBER = re.compile(r"(\d+)(?:\.(\d+))?$")
_TRAILING_ACRONYM = re.compile(r"(?<![A-Za-z])[A-Z]+$")
_SPOKEN_END = re.compile(r"[\s\"'()\[\]{}<>«»“”‘’.,!?~…:;]+$")


def _is_hangul_syllable(char: str) -> bool:
    return _HANGUL_FIRST <= ord(char) <= _HANGUL_LAST


def _final_index(syllable: str) -> int:
    """The index (0 = none, 8 = ㄹ) of a precomposed Hangul syllable's final consonant."""
    return (ord(syllable) - _HANGUL_FIRST) % _FINALS_PER_SYLLABLE


def _sino_last_syllable(integer_digits: str, decimal_digits: str | None) -> str:
    """The last syllable of a number read in Sino-Korean (12 → 이, 10 → 십, 2.5 → 오)."""
    if decimal_digits:
        return _SINO_DIGIT_SYLLABLES[int(decimal_digits[-1])]
    stripped = integer_digits.lstrip("0")
    if not stripped:
        return "영"
    zeros = len(stripped) - len(stripped.rstrip("0"))
    if zeros == 0:
        return _SINO_DIGIT_SYLLABLES[int(stripped[-1])]
    if zeros % 4:
        return _SINO_SMALL_UNITS[zeros % 4]
    return _SINO_LARGE_UNITS.get(zeros // 4, "경")


def _native_last_syllable(value: int) -> str:
    """The last syllable of 1–99 read as a native Korean number (2 → 둘, 20 → 스물)."""
    units, tens = value % 10, value // 10 % 10
    return _NATIVE_UNIT_SYLLABLES[units] if units else _NATIVE_TEN_SYLLABLES[tens]


def spoken_last_syllable(word: str, *, native: bool = False) -> str | None:
    """The last syllable a listener hears for `word`, or None when it cannot be told.

    `native` reads a trailing number of 1–99 in native Korean (하나, 둘 …) instead of Sino-Korean.
    """
    text = _SPOKEN_END.sub("", word)
    if not text:
        return None
    if _is_hangul_syllable(text[-1]):
        return text[-1]
    number = _TRAILING_NUMBER.search(text)
    if number is not None:
        integer_digits, decimal_digits = number.group(1), number.group(2)
        if native and decimal_digits is None and 1 <= int(integer_digits) <= 99:
            return _native_last_syllable(int(integer_digits))
        return _sino_last_syllable(integer_digits, decimal_digits)
    acronym = _TRAILING_ACRONYM.search(text)
    if acronym is not None:
        return _LETTER_SYLLABLES[acronym.group(0)[-1]]
    return None


def has_final_consonant(word: str, *, native: bool = False) -> bool:
    """True when `word`, as read aloud, ends in a final consonant (받침); False when unknown."""
    syllable = spoken_last_syllable(word, native=native)
    return syllable is not None and _final_index(syllable) != 0


def particle_for(word: str, particle: str, *, native: bool = False) -> str:
    """The form of `particle` (a pair key such as "을/를") that follows `word`.

    Words whose reading cannot be told (a lowercase English word) take the after-vowel form.
    """
    forms = PARTICLES.get(particle)
    if forms is None:
        raise AssistantError(f"unknown particle {particle!r}; expected one of {sorted(PARTICLES)}")
    after_consonant, after_vowel = forms
    syllable = spoken_last_syllable(word, native=native)
    if syllable is None:
        return after_vowel
    final = _final_index(syllable)
    if particle == "으로/로" and final == _FINAL_RIEUL:
        return after_vowel
    return after_consonant if final else after_vowel


def with_particle(word: str, particle: str, *, native: bool = False) -> str:
    """`word` followed by the right form of `particle`: ("우유", "을/를") → "우유를"."""
    return word + particle_for(word, particle, native=native)


# Particles removed from captured items, with the finals they require on the syllable before them.
_STRIPPABLE = (("을", True), ("를", False), ("은", True), ("는", False))


def strip_particle(word: str) -> str:
    """`word` without a trailing object or topic particle (우유를 → 우유, 계란을 → 계란).

    A particle is removed only when it agrees with the syllable before it, so words that merely
    end in such a syllable stay whole (마을, 가을: 을 after a vowel is not the particle).
    """
    text = word.strip()
    if len(text) < 2:
        return text
    for particle, needs_consonant in _STRIPPABLE:
        if text.endswith(particle):
            stem = text[: -len(particle)]
            if spoken_last_syllable(stem) is None:
                continue
            if has_final_consonant(stem) == needs_consonant:
                return stem
    return text
