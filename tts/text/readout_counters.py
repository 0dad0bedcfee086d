"""The last number rule: every remaining number, read by the counter that follows it.

Native or Sino-Korean is decided by the counter table (3시 → 세 시, 3분 → 삼 분), with the
irregular cases spelled out: months (유월, 시월), ordinals (첫 번째, 둘째), 대 as age group or
vehicles, 번 as label or frequency, written magnitudes (3만 명 → 삼만 명) and 제 (제1장 → 제일 장).
"""

from __future__ import annotations

import re

from tts.text.numbers import (
    MAX_SINO,
    month_name,
    native_korean,
    native_ordinal,
    native_range,
    sino_korean,
    whole_number,
)
from tts.text.readout_numbers import (
    COUNTER_PATTERN,
    MAGNITUDE_PATTERN,
    NUM,
    read_amount,
    read_number,
)
from tts.text.tables import COUNTERS, FREQUENCY_FOLLOWERS, FREQUENCY_LEADERS, Reading

_COUNTED = re.compile(
    r"(?P<ordinal>(?<![가-힣])제 ?)?"
    r"(?P<minus>(?<![0-9A-Za-z가-힣.,)])-)?"
    rf"(?P<low>{NUM})"
    rf"(?: ?~ ?(?P<high>{NUM}))?"
    rf"(?P<magnitude>{MAGNITUDE_PATTERN})?"
    r"(?P<space> ?)"
    rf"(?P<counter>{COUNTER_PATTERN})?"
)

_PARTICLE_WORDS = (
    "은 는 이 가 을 를 의 에 에서 에게 도 만 까지 부터 씩 쯤 과 와 로 으로 이나 나 이며 이면 면 "
    "이다 다 이고 고 동안 간 째 마다 보다 밖에 께 정도 가량 이상 이하 이내 전 후 뒤 입니다 "
    "이에요 예요 이었다 였다 이라 라"
)
_PARTICLES = tuple(_PARTICLE_WORDS.split())
"""Words that may follow a counter written apart from its number (3 명이 → 세 명이)."""

_JJAE_SMALL = {1: "첫", 2: "둘", 3: "셋", 4: "넷"}
"""째 takes the counting form for 1..4: 첫째, 둘째, 셋째, 넷째 (but 열두째)."""

_HANGUL_RUN = re.compile(r"[가-힣]*")


def _integer(number: str) -> int | None:
    """The value of a written whole number, or None when it has a decimal part."""
    plain = number.replace(",", "")
    return None if "." in plain else whole_number(plain)


def _is_frequency(text: str, start: int, end: int) -> bool:
    """Whether 번 at text[start:end] counts times (하루 3번, 3번씩) rather than labels (3번 출구)."""
    after = text[end:].lstrip()
    before = text[:start].rstrip()
    return after.startswith(FREQUENCY_FOLLOWERS) or before.endswith(FREQUENCY_LEADERS)


def _standalone_counter(text: str, end: int) -> bool:
    """Whether a counter written apart from its number is a word of its own (3 명이, not 3 시민)."""
    run = _HANGUL_RUN.match(text, end)
    rest = run.group(0) if run else ""
    return not rest or rest.startswith(_PARTICLES)


def _kind(counter: str, value: int, text: str, start: int, end: int) -> Reading:
    """The reading a counter asks for, with the context-dependent counters resolved."""
    kind = COUNTERS[counter]
    if kind is Reading.DECADE:
        return Reading.SINO if value >= 10 and value % 10 == 0 else Reading.NATIVE
    if kind is Reading.FREQUENCY:
        return Reading.NATIVE if _is_frequency(text, start, end) else Reading.SINO
    return kind


def _one(value: int, kind: Reading) -> str:
    """One whole number read for a counter kind (the counter itself not included)."""
    if kind is Reading.ORDINAL and value >= 1:
        return native_ordinal(value)
    if kind is Reading.JJAE and value >= 1:
        return _JJAE_SMALL.get(value) or native_korean(value)
    if kind in (Reading.NATIVE, Reading.HOUR, Reading.ORDINAL, Reading.JJAE) and 1 <= value < 100:
        return native_korean(value)
    return sino_korean(value)


def _with_counter(value: int, counter: str, kind: Reading) -> str:
    """A whole number and its counter: 세 시, 첫째, 유월, 삼 분."""
    if kind is Reading.MONTH and 1 <= value <= 12:
        return month_name(value)
    joiner = "" if kind is Reading.JJAE else " "
    return _one(value, kind) + joiner + counter


def _range(low: int, high: int, counter: str, kind: Reading) -> str:
    """Two numbers joined by ~: 서너 명, 다섯 명에서 열 명, 아홉 시에서 열 시, 삼에서 오 일."""
    if kind is Reading.NATIVE:
        fused = native_range(low, high)
        if fused:
            return f"{fused} {counter}"
    if kind in (Reading.NATIVE, Reading.HOUR, Reading.MONTH):
        return f"{_with_counter(low, counter, kind)}에서 {_with_counter(high, counter, kind)}"
    return f"{sino_korean(low)}에서 {_with_counter(high, counter, kind)}"


def _read(match: re.Match[str]) -> str:
    """The reading of one match of _COUNTED."""
    text = match.string
    ordinal, minus, low, high, magnitude, space, counter = match.group(
        "ordinal", "minus", "low", "high", "magnitude", "space", "counter"
    )
    tail = ""
    if counter and space and not _standalone_counter(text, match.end()):
        tail, counter = space + counter, None
    elif not counter:
        tail = space
    counter = counter or ""
    sign = "마이너스 " if minus else ""
    low_value, high_value = _integer(low), _integer(high) if high else None
    if ordinal:
        number = "제" + read_amount(low, magnitude)
        return number + (f" {counter}" if counter else tail)
    too_large = max(low_value or 0, high_value or 0) > MAX_SINO
    if magnitude or low_value is None or minus or too_large or (high and high_value is None):
        reading = sign + read_amount(low, magnitude)
        if high:
            reading += "에서 " + read_number(high)
        return reading + (f" {counter}" if counter else tail)
    if not counter:
        reading = read_number(low)
        if high_value is not None:
            reading += "에서 " + read_number(high)
        return reading + tail
    kind = _kind(counter, low_value, text, match.start(), match.end())
    if high_value is not None:
        return _range(low_value, high_value, counter, kind)
    return _with_counter(low_value, counter, kind)


def read_counted_numbers(text: str) -> str:
    """Read every remaining number with its counter: 3시 15분 → 세 시 십오 분, 7살 → 일곱 살."""
    return _COUNTED.sub(_read, text)
