"""English words and acronyms come out as readable Hangul, the way a Korean reader says them."""

from __future__ import annotations

import pytest

from tts.text import hangul
from tts.text.english import (
    EnglishError,
    cmu_dictionary,
    english_to_hangul,
    spell_letters,
    transcribe,
)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("computer", "컴퓨터"),
        ("hello", "헬로"),
        ("model", "모델"),
        ("speech", "스피치"),
        ("voice", "보이스"),
        ("python", "파이선"),
        ("google", "구글"),
        ("internet", "인터넷"),
        ("smart", "스마트"),
        ("phone", "폰"),
        ("music", "뮤직"),
        ("english", "잉글리시"),
        ("film", "필름"),
        ("online", "온라인"),
        ("network", "네트워크"),
        ("robot", "로봇"),
        ("button", "버튼"),
        ("open", "오픈"),
        ("system", "시스템"),
        ("power", "파워"),
        ("action", "액션"),
        ("queen", "퀸"),
        ("sports", "스포츠"),
        ("table", "테이블"),
        ("beer", "비어"),
        ("korea", "코리아"),
        ("wifi", "와이파이"),
        ("Google", "구글"),
    ],
)
def test_dictionary_words(word: str, expected: str) -> None:
    assert english_to_hangul(word) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("KSS", "케이에스에스"),
        ("GPU", "지피유"),
        ("AI", "에이아이"),
        ("TTS", "티티에스"),
        ("USB", "유에스비"),
        ("NASA", "엔에이에스에이"),
        ("gpu", "지피유"),
        ("x", "엑스"),
        ("I", "아이"),
    ],
)
def test_acronyms_single_letters_and_unknown_words_are_spelled(word: str, expected: str) -> None:
    assert english_to_hangul(word) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("iPhone", "아이폰"),
        ("GitHub", "깃허브"),
        ("OpenAI", "오픈에이아이"),
        ("ChatGPT", "챗지피티"),
    ],
)
def test_mixed_case_names_are_read_part_by_part(word: str, expected: str) -> None:
    assert english_to_hangul(word) == expected


def test_spell_letters_names_every_letter() -> None:
    assert spell_letters("abcdefghijklmnopqrstuvwxyz") == (
        "에이비씨디이에프지에이치아이제이케이엘엠엔오피큐알에스티유브이더블유엑스와이제트"
    )
    assert spell_letters("Zz") == "제트제트"
    with pytest.raises(EnglishError, match="'1'"):
        spell_letters("A1")


@pytest.mark.parametrize("bad", ["", "3D", "hello world", "한글", "é", "-x"])
def test_non_words_are_rejected_with_a_clear_error(bad: str) -> None:
    with pytest.raises(EnglishError, match="not an English word"):
        english_to_hangul(bad)


def test_every_dictionary_word_transcribes_to_hangul_syllables() -> None:
    entries = list(cmu_dictionary().items())
    assert len(entries) > 100_000
    for word, phones in entries[::10]:
        text = transcribe(phones, spelling=word)
        assert text and all(hangul.is_syllable(char) for char in text), (word, phones, text)


def test_unknown_phones_are_rejected() -> None:
    with pytest.raises(EnglishError, match="'QQ'"):
        transcribe(["K", "QQ1"])
