"""Korean number words: Sino-Korean cardinals, native Korean counting forms, decimals and digits.

Pure functions from integers (or digit strings) to Hangul. Sino-Korean groups by 만 (10^4) and
is spaced at every 만 unit as the spelling rules require; native Korean is used only up to 99,
the way speakers count, and falls back to Sino-Korean above that.
"""

from __future__ import annotations

SINO_DIGITS = ("영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
"""Sino-Korean digit names, 0..9, as read one by one."""

PHONE_ZERO = "공"
"""How 0 is read in phone numbers, codes and other digit strings (공일공, not 영일영)."""

SMALL_UNITS = ("", "십", "백", "천")
"""Positions inside one four-digit group."""

GROUP_UNITS = ("", "만", "억", "조", "경")
"""Group names for successive powers of 10^4; 경 (10^16) ends the supported range."""

MAX_SINO = 10 ** (4 * len(GROUP_UNITS)) - 1
"""The largest integer sino_korean reads as a cardinal (just under 10^20)."""

MAX_SINO_DIGITS = len(str(MAX_SINO))
"""Digits of MAX_SINO: a digit string with more significant digits is never read as a cardinal."""

NATIVE_ONES = ("", "하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉")
"""Native ones in counting form (하나, 둘, …), used alone."""

NATIVE_ONES_ATTRIBUTIVE = ("", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉")
"""Native ones before a counter: 하나→한, 둘→두, 셋→세, 넷→네."""

NATIVE_TENS = ("", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔")
"""Native tens 10..90; 스물 shortens to 스무 before a counter when nothing follows it."""

_NATIVE_RANGES = {
    (1, 2): "한두",
    (2, 3): "두세",
    (3, 4): "서너",
    (4, 5): "네다섯",
    (5, 6): "대여섯",
    (6, 7): "예닐곱",
    (7, 8): "일고여덟",
    (8, 9): "여덟아홉",
}
"""Fused native readings of two neighbouring small numbers before a counter (3~4명 → 서너 명)."""

_MONTHS_IRREGULAR = {6: "유월", 10: "시월"}
"""Months whose names drop a consonant (육월 → 유월, 십월 → 시월)."""


class NumberReadingError(ValueError):
    """A number outside what a reading function can say (negative native number, too large)."""


def read_digits(digits: str, zero: str = SINO_DIGITS[0]) -> str:
    """Read a string of ASCII digits one by one (3.14's 14 → 일사; with zero='공' for phones)."""
    if not digits.isascii() or not digits.isdigit():
        raise NumberReadingError(f"not a string of digits: {digits!r}")
    return "".join(zero if d == "0" else SINO_DIGITS[int(d)] for d in digits)


def whole_number(digits: str) -> int:
    """The value of a string of ASCII digits, or MAX_SINO + 1 for any beyond the readable range.

    Numbers past MAX_SINO are read digit by digit, so their value is never needed; and int()
    refuses strings of more than 4,300 digits, which a long enough text contains.
    """
    significant = digits.lstrip("0") or "0"
    if len(significant) > MAX_SINO_DIGITS:
        return MAX_SINO + 1
    return int(significant)


def _sino_group(value: int) -> str:
    """Read 1..9999 without spaces; a leading 1 before 십/백/천 is silent (십, 백, 천)."""
    words = []
    for position in range(3, -1, -1):
        digit = value // 10**position % 10
        if digit == 0:
            continue
        if digit == 1 and position > 0:
            words.append(SMALL_UNITS[position])
        else:
            words.append(SINO_DIGITS[digit] + SMALL_UNITS[position])
    return "".join(words)


def sino_korean(n: int) -> str:
    """Read an integer in Sino-Korean: 0 → 영, 12345 → 만 이천삼백사십오, -5 → 마이너스 오.

    Groups of four digits are spaced apart (일억 이천만); 10,000 alone is 만, not 일만.
    """
    if n < 0:
        return "마이너스 " + sino_korean(-n)
    if n == 0:
        return SINO_DIGITS[0]
    if n > MAX_SINO:
        raise NumberReadingError(f"{n} is beyond the largest readable number (경 range)")
    groups = []
    for index, unit in enumerate(GROUP_UNITS):
        value = n // 10 ** (4 * index) % 10_000
        if value == 0:
            continue
        word = "" if (value == 1 and unit == "만") else _sino_group(value)
        groups.append(word + unit)
    return " ".join(reversed(groups))


def native_korean(n: int, attributive: bool = True) -> str:
    """Read an integer the native way: 3 → 세 (before a counter) or 셋, 20 → 스무 / 스물.

    1..99 are native; 0 is 영 and anything from 100 up is Sino-Korean (100명 → 백 명), which
    is how Korean speakers count large quantities.
    """
    if n < 0:
        raise NumberReadingError(f"native Korean numbers are not negative: {n}")
    if n == 0 or n >= 100:
        return sino_korean(n)
    tens, ones = divmod(n, 10)
    ones_table = NATIVE_ONES_ATTRIBUTIVE if attributive else NATIVE_ONES
    if tens == 2 and ones == 0 and attributive:
        return "스무"
    return NATIVE_TENS[tens] + ones_table[ones]


def native_ordinal(n: int) -> str:
    """The number part of an ordinal with 번째: 1 → 첫, 2 → 두, 21 → 스물한, 101 → 백한."""
    if n < 1:
        raise NumberReadingError(f"ordinals start at 1: {n}")
    if n == 1:
        return "첫"
    if n < 100:
        return native_korean(n)
    rest = n % 100
    head = sino_korean(n - rest)
    return head if rest == 0 else head + native_korean(rest)


def native_range(low: int, high: int) -> str | None:
    """The fused reading of two neighbouring small numbers (3, 4 → 서너), or None if none."""
    return _NATIVE_RANGES.get((low, high))


def sino_decimal(number: str) -> str:
    """Read a decimal written with a point: '3.14' → 삼 점 일사, '-0.5' → 마이너스 영 점 오."""
    sign, body = ("마이너스 ", number[1:]) if number.startswith("-") else ("", number)
    whole, point, fraction = body.partition(".")
    if not whole.isdigit() or not whole.isascii() or (point and not fraction):
        raise NumberReadingError(f"not a decimal number: {number!r}")
    value = whole_number(whole)
    reading = sino_korean(value) if value <= MAX_SINO else read_digits(whole)
    if point:
        reading += " 점 " + read_digits(fraction)
    return sign + reading


def month_name(month: int) -> str:
    """The name of a month 1..12 with the irregular forms: 6 → 유월, 10 → 시월, 11 → 십일월."""
    if not 1 <= month <= 12:
        raise NumberReadingError(f"no month {month}")
    return _MONTHS_IRREGULAR.get(month, sino_korean(month) + "월")
