"""Korean number words: Sino-Korean to the 조 range, native forms before counters, decimals, digits."""

from __future__ import annotations

import pytest

from tts.text.numbers import (
    MAX_SINO,
    NumberReadingError,
    month_name,
    native_korean,
    native_ordinal,
    native_range,
    read_digits,
    sino_decimal,
    sino_korean,
)


@pytest.mark.parametrize(
    ("n", "reading"),
    [
        (0, "영"),
        (1, "일"),
        (10, "십"),
        (11, "십일"),
        (16, "십육"),
        (100, "백"),
        (110, "백십"),
        (1000, "천"),
        (1001, "천일"),
        (2026, "이천이십육"),
        (10_000, "만"),
        (10_001, "만 일"),
        (11_000, "만 천"),
        (39_900, "삼만 구천구백"),
        (100_000, "십만"),
        (1_000_000, "백만"),
        (10_000_000, "천만"),
        (100_000_000, "일억"),
        (123_456_789, "일억 이천삼백사십오만 육천칠백팔십구"),
        (1_000_000_000_000, "일조"),
        (3_200_000_000_000, "삼조 이천억"),
        (10**16, "일경"),
        (-5, "마이너스 오"),
        (-10_000, "마이너스 만"),
    ],
)
def test_sino_korean(n: int, reading: str) -> None:
    assert sino_korean(n) == reading


def test_sino_korean_beyond_range_is_an_error() -> None:
    with pytest.raises(NumberReadingError, match="beyond"):
        sino_korean(MAX_SINO + 1)


@pytest.mark.parametrize(
    ("n", "attributive", "reading"),
    [
        (1, True, "한"),
        (1, False, "하나"),
        (2, True, "두"),
        (3, True, "세"),
        (4, True, "네"),
        (4, False, "넷"),
        (5, True, "다섯"),
        (10, True, "열"),
        (12, True, "열두"),
        (20, True, "스무"),
        (20, False, "스물"),
        (21, True, "스물한"),
        (24, True, "스물네"),
        (38, True, "서른여덟"),
        (99, True, "아흔아홉"),
        (100, True, "백"),
        (150, True, "백오십"),
        (0, True, "영"),
    ],
)
def test_native_korean(n: int, attributive: bool, reading: str) -> None:
    assert native_korean(n, attributive=attributive) == reading


def test_native_korean_rejects_negatives() -> None:
    with pytest.raises(NumberReadingError, match="negative"):
        native_korean(-1)


@pytest.mark.parametrize(
    ("n", "reading"), [(1, "첫"), (2, "두"), (11, "열한"), (20, "스무"), (100, "백"), (101, "백한")]
)
def test_native_ordinal(n: int, reading: str) -> None:
    assert native_ordinal(n) == reading


def test_native_range_fuses_neighbours_only() -> None:
    assert native_range(3, 4) == "서너"
    assert native_range(5, 6) == "대여섯"
    assert native_range(3, 5) is None


@pytest.mark.parametrize(
    ("number", "reading"),
    [
        ("3.14", "삼 점 일사"),
        ("0.5", "영 점 오"),
        ("0.05", "영 점 영오"),
        ("1.50", "일 점 오영"),
        ("-2.5", "마이너스 이 점 오"),
        ("12", "십이"),
    ],
)
def test_sino_decimal(number: str, reading: str) -> None:
    assert sino_decimal(number) == reading


@pytest.mark.parametrize("bad", ["3.", ".5", "3,5", "x"])
def test_sino_decimal_rejects_malformed(bad: str) -> None:
    with pytest.raises(NumberReadingError):
        sino_decimal(bad)


def test_read_digits_with_phone_zero() -> None:
    assert read_digits("010", zero="공") == "공일공"
    assert read_digits("2026") == "이영이육"
    with pytest.raises(NumberReadingError):
        read_digits("12a")


@pytest.mark.parametrize(
    ("month", "name"), [(1, "일월"), (6, "유월"), (10, "시월"), (11, "십일월"), (12, "십이월")]
)
def test_month_names(month: int, name: str) -> None:
    assert month_name(month) == name


def test_month_out_of_range() -> None:
    with pytest.raises(NumberReadingError, match="13"):
        month_name(13)
