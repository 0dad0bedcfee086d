"""Korean particles chosen by the final consonant (받침) of the word they follow, as it is READ.

Particles such as 이/가 or 을/를 depend on whether the preceding syllable ends in a consonant,
and what counts is the sound, not the spelling: the frontend (`tts.text`) is asked how the word
is read, so iPhone (아이폰) takes 을, 5L (오 리터) takes 를 and 3kg (삼 킬로그램) takes 을, exactly
as the voice will say them. 으로/로 treats ㄹ like a vowel.
"""

from __future__ import annotations

import re

from assistant.errors import AssistantError
from tts.text import hangul, spoken_last_syllable
from tts.text.numbers import native_korean

_RIEUL_CODA = hangul.COMPAT_CODAS.index("ㄹ") + 1
"""The coda index of ㄹ, after which 으로/로 takes the after-vowel form (서울로, 7로)."""

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

_TRAILING_COUNT = re.compile(r"(?<![\d.,])(\d{1,2})[\s.,!?…]*$")
"""A whole number of one or two digits at the end of a word: the one a native reading changes."""


def _last_syllable(word: str, *, native: bool = False) -> str | None:
    """The last syllable a listener hears for `word` (the frontend's reading), or None if none.

    `native` reads a trailing number of 1–99 in native Korean (하나, 둘 …) instead of Sino-Korean,
    for a number that the reply's wording makes a count.
    """
    count = _TRAILING_COUNT.search(word) if native else None
    if count is not None and int(count.group(1)) >= 1:
        return native_korean(int(count.group(1)), attributive=False)[-1]
    return spoken_last_syllable(word)


def _coda(word: str, native: bool) -> int | None:
    """The coda index (0: none) of the last syllable `word` is read with, or None when unknown."""
    syllable = _last_syllable(word, native=native)
    return None if syllable is None else hangul.decompose(syllable).coda


def has_final_consonant(word: str, *, native: bool = False) -> bool:
    """True when `word`, as read aloud, ends in a final consonant (받침); False when unknown."""
    return bool(_coda(word, native))


def particle_for(word: str, particle: str, *, native: bool = False) -> str:
    """The form of `particle` (a pair key such as "을/를") that follows `word`.

    Words with nothing the frontend reads as a Hangul syllable (an emoji) take the after-vowel form.
    """
    forms = PARTICLES.get(particle)
    if forms is None:
        raise AssistantError(f"unknown particle {particle!r}; expected one of {sorted(PARTICLES)}")
    after_consonant, after_vowel = forms
    coda = _coda(word, native)
    if not coda or (particle == "으로/로" and coda == _RIEUL_CODA):
        return after_vowel
    return after_consonant


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
            coda = _coda(stem, native=False)
            if coda is not None and bool(coda) == needs_consonant:
                return stem
    return text
