"""The assistant's pure Korean-language helpers: particles, number parsing and formatting, normalisation."""

from __future__ import annotations

from fractions import Fraction

import pytest

from assistant import (
    AssistantError,
    has_final_consonant,
    normalize_utterance,
    strip_particle,
    with_particle,
)
from assistant.numbers import as_slot_value, format_number, parse_number


@pytest.mark.parametrize(
    ("word", "particle", "expected"),
    [
        ("우유", "을/를", "우유를"),
        ("계란", "을/를", "계란을"),
        ("사과", "이/가", "사과가"),
        ("수박", "이/가", "수박이"),
        ("소리", "은/는", "소리는"),
        ("오늘", "은/는", "오늘은"),
        ("우유", "과/와", "우유와"),
        ("빵", "과/와", "빵과"),
        ("학교", "으로/로", "학교로"),
        ("집", "으로/로", "집으로"),
        ("서울", "으로/로", "서울로"),  # ㄹ takes 로
        ("소리", "이에요/예요", "소리예요"),
        ("토요일", "이에요/예요", "토요일이에요"),
        # Digits by their Sino-Korean reading: 3 삼, 1 일, 2 이, 10 십, 0 영, 100 백, 20000 이만.
        ("3분", "이/가", "3분이"),
        ("30초", "이/가", "30초가"),
        ("1개", "을/를", "1개를"),
        ("3", "을/를", "3을"),
        ("2", "을/를", "2를"),
        ("10", "은/는", "10은"),
        ("0", "으로/로", "0으로"),
        ("1", "으로/로", "1로"),  # 일: ㄹ
        ("7", "으로/로", "7로"),  # 칠: ㄹ
        ("6", "으로/로", "6으로"),  # 육
        ("100", "이에요/예요", "100이에요"),
        ("20000", "이에요/예요", "20000이에요"),
        ("2.5", "이에요/예요", "2.5예요"),
        ("3.3", "이에요/예요", "3.3이에요"),
        ("TV", "을/를", "TV를"),
        ("URL", "이/가", "URL이"),
        ("1시간 30분 타이머", "을/를", "1시간 30분 타이머를"),
    ],
)
def test_with_particle(word: str, particle: str, expected: str) -> None:
    assert with_particle(word, particle) == expected


def test_native_reading_changes_the_particle() -> None:
    assert with_particle("2", "이/가") == "2가"  # 이
    assert with_particle("2", "이/가", native=True) == "2이"  # 둘
    assert with_particle("5", "은/는") == "5는"  # 오
    assert with_particle("5", "은/는", native=True) == "5은"  # 다섯
    assert has_final_consonant("5", native=True)


def test_unknown_particle_is_an_assistant_error() -> None:
    with pytest.raises(AssistantError, match="unknown particle"):
        with_particle("우유", "에게")


@pytest.mark.parametrize(
    ("captured", "expected"),
    [
        ("우유를", "우유"),
        ("계란을", "계란"),
        ("사과를", "사과"),
        ("바나나를", "바나나"),
        ("빵은", "빵"),
        ("두부는", "두부"),
        ("가을", "가을"),  # 을 after a vowel is part of the word
        ("마을", "마을"),
        ("우유", "우유"),
        ("를", "를"),
        ("4는", "4"),
        ("3은", "3"),
    ],
)
def test_strip_particle(captured: str, expected: str) -> None:
    assert strip_particle(captured) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", Fraction(12)),
        ("1,000", Fraction(1000)),
        ("2.5", Fraction(5, 2)),
        ("-3", Fraction(-3)),
        ("십이", Fraction(12)),
        ("삼백오십", Fraction(350)),
        ("천이백삼십사", Fraction(1234)),
        ("만 이천", Fraction(12000)),
        ("3만", Fraction(30000)),
        ("영", Fraction(0)),
        ("이 점 오", Fraction(5, 2)),
        ("마이너스 삼", Fraction(-3)),
        ("다섯", Fraction(5)),
        ("열두", Fraction(12)),
        ("스물다섯", Fraction(25)),
        ("아흔아홉", Fraction(99)),
        ("사과", None),
        ("삼오", None),
        ("십백", None),
        ("만억", None),
        ("3만5천", Fraction(35000)),
        ("일억 이천만", Fraction(120_000_000)),
        ("", None),
        ("마이너스", None),
    ],
)
def test_parse_number(text: str, expected: Fraction | None) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(7), "7"),
        (Fraction(10, 2), "5"),
        (Fraction(5, 2), "2.5"),
        (Fraction(1, 10) + Fraction(2, 10), "0.3"),
        (Fraction(10, 3), "3.33"),
        (Fraction(2, 3), "0.67"),
        (Fraction(-1, 3), "-0.33"),
        (Fraction(1, 100000), "0"),
        (Fraction(10**20), "100000000000000000000"),
    ],
)
def test_format_number_never_writes_floats(value: Fraction, expected: str) -> None:
    text = format_number(value)
    assert text == expected
    assert "e" not in text and not text.endswith(".0")


def test_slot_values_are_ints_or_exact_decimals() -> None:
    assert as_slot_value(Fraction(4)) == 4
    assert as_slot_value(Fraction(5, 2)) == "2.5"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("５분 타이머 맞춰 줘！", "5분 타이머 맞춰줘"),  # full-width forms
        ("5 분 타이머 맞춰주세요.", "5분 타이머 맞춰줘"),
        ("5분 타이머 맞춰 주세요", "5분 타이머 맞춰줘"),
        ("오 분 타이머", "5분 타이머"),
        ("한 시간 반 타이머", "1시간 반 타이머"),
        ("1 시간30 분 타이머", "1시간 30분 타이머"),
        ("시간 알려 줘", "시간 알려줘"),
        ("시간 알려주세요", "시간 알려줘"),
        ("날씨 알려줄래요?", "날씨 알려줘"),
        ("우유를 장보기 목록에 추가 해 줘", "우유를 장보기 목록에 추가해줘"),
        ("음악 해 줘", "음악해줘"),
        ("지금 몇 시야???", "지금 몇 시야"),
        ("음, 지금 몇 시야", "음 지금 몇 시야"),
        ("3+4=?", "3 더하기 4"),
        ("12×3", "12 곱하기 3"),
        ("1,000 더하기 2", "1,000 더하기 2"),  # a thousands comma is not a pause
        ("우유 주세요", "우유 주세요"),  # 주세요 after a noun is not a request ending
        ("타이머 시작", "타이머 시작"),
        ("\u3000안녕\u200b", "안녕"),
    ],
)
def test_normalize_utterance(text: str, expected: str) -> None:
    assert normalize_utterance(text) == expected


def test_normalize_composes_decomposed_hangul() -> None:
    decomposed = "\u1112\u1161\u11ab"  # 한 as conjoining jamo
    assert normalize_utterance(decomposed + " 시간 타이머") == "1시간 타이머"
