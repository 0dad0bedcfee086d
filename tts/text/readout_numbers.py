"""Read-out rules for numbers in context: dates, times, phones, money, units, counters, ranges.

Each rule is a pure `str -> str` pass that replaces what it recognises with Hangul; the read-out
pipeline runs them from most to least specific and ends with `readout_counters`, which reads every
digit that is left.
"""

from __future__ import annotations

import re

from tts.text import hangul
from tts.text.numbers import (
    MAX_SINO,
    PHONE_ZERO,
    month_name,
    native_korean,
    read_digits,
    sino_decimal,
    sino_korean,
    whole_number,
)
from tts.text.tables import (
    COUNTERS,
    CURRENCY_SIGNS,
    OPERATORS,
    SILENT_ONE_MAGNITUDES,
    UNITS,
)

NUM = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?"
"""A written number: thousands separators and a decimal part are optional."""

_NOT_AFTER_NUMBER = r"(?<![0-9A-Za-z.,])"
"""A number starts here only if it does not continue a word, a number or a code."""


def _alternation(words: list[str] | tuple[str, ...]) -> str:
    """A regex alternation of literal words, longest first so the longest one wins."""
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


COUNTER_PATTERN = _alternation(list(COUNTERS))
"""Any known counter word, longest first."""
MAGNITUDE_PATTERN = "(?:[십백천]?[만억조경]|[십백천])(?!각|화점)"
"""A number word written after digits: 3천, 5만, 2천만, 1억."""


def read_number(number: str) -> str:
    """Read a written number in Sino-Korean: '39,900' → 삼만 구천구백, '3.14' → 삼 점 일사.

    Leading zeros make it a code read digit by digit ('007' → 공공칠); numbers beyond the 경
    range are read digit by digit too, since no listener follows them as cardinals.
    """
    plain = number.replace(",", "")
    if "." in plain:
        return sino_decimal(plain)
    if len(plain) > 1 and plain.startswith("0"):
        return read_digits(plain, zero=PHONE_ZERO)
    value = whole_number(plain)
    return sino_korean(value) if value <= MAX_SINO else read_digits(plain)


def topic_particle(reading: str) -> str:
    """은 after a closed syllable, 는 after an open one (삼은, 이는)."""
    last = reading[-1]
    return "은" if hangul.is_syllable(last) and hangul.decompose(last).coda else "는"


# --- dates and times -------------------------------------------------------------------------

_DATE = re.compile(
    r"(?<![0-9.])([0-9]{4})([-./])([0-9]{1,2})\2([0-9]{1,2})(?![0-9])(?:\.(?= ?[(가-힣]))?"
)
_WEEKDAY = re.compile(r"일 ?\(([월화수목금토일])\)")
_CLOCK = re.compile(
    r"(?<![0-9:.])([01]?[0-9]|2[0-4]):([0-5][0-9])(?::([0-5][0-9]))?(?![0-9:])"
    r"(?: ?([AaPp])\.?[Mm]\.?(?![A-Za-z]))?"
)
_HOUR_AMPM = re.compile(r"(?<![0-9A-Za-z.:])(1[0-2]|0?[1-9]) ?([AaPp])\.?[Mm]\.?(?![A-Za-z])")


def read_dates(text: str) -> str:
    """2026-11-21, 2026.11.21 and 2026/11/21 → 이천이십육 년 십일월 이십일 일."""

    def replace(match: re.Match[str]) -> str:
        year, _, month, day = match.groups()
        if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
            return match.group(0)
        return f"{sino_korean(int(year))} 년 {month_name(int(month))} {sino_korean(int(day))} 일"

    return _WEEKDAY.sub(r"일 \1요일", _DATE.sub(replace, text))


def _clock(hour: int, minute: int = 0, second: int = 0, meridiem: str | None = None) -> str:
    """열네 시 삼십 분; with a meridiem, 오전/오후 first and the hour kept as written."""
    words = ["오전" if meridiem.lower() == "a" else "오후"] if meridiem else []
    words += [f"{native_korean(hour) if hour else sino_korean(0)} 시"]
    if minute:
        words.append(f"{sino_korean(minute)} 분")
    if second:
        words.append(f"{sino_korean(second)} 초")
    return " ".join(words)


def read_times(text: str) -> str:
    """14:30 → 열네 시 삼십 분, 18:05 → 열여덟 시 오 분, 3pm → 오후 세 시."""

    def clock(match: re.Match[str]) -> str:
        hour, minute, second, meridiem = match.groups()
        return _clock(int(hour), int(minute), int(second or 0), meridiem)

    def hour_only(match: re.Match[str]) -> str:
        return _clock(int(match.group(1)), meridiem=match.group(2))

    return _HOUR_AMPM.sub(hour_only, _CLOCK.sub(clock, text))


# --- digit strings: phones, emergency numbers, versions ---------------------------------------

_PHONE = re.compile(
    r"(?<![0-9])(?:(\+[0-9]{1,3})[- ]?)?\(?(0?[0-9]{1,3})\)?[-. ]([0-9]{3,4})[-. ]([0-9]{4})"
    r"(?![0-9])"
)
_PHONE_UNBROKEN = re.compile(r"(?<![0-9])(01[016789])([0-9]{3,4})([0-9]{4})(?![0-9])")
_PHONE_SERVICE = re.compile(r"(?<![0-9-])(1[5-9][0-9]{2})-([0-9]{4})(?![0-9-])")
_EMERGENCY = re.compile(
    r"(?<![0-9])(11[2-9]|12[0-9]|182|1330|1366)"
    r"(?=(?:에|로|으로|를|은|는|이|에서|에게|번|신고| ?(?:신고|상황실|구급|구조|종합|안전|센터)))"
)
_VERSION = re.compile(r"(?<![0-9.])[0-9]+(?:\.[0-9]+){2,}(?![0-9])")


def _digits(*groups: str) -> str:
    """Digit groups read one digit at a time with 공 for zero, spaced like the groups."""
    return " ".join(read_digits(group, zero=PHONE_ZERO) for group in groups)


def read_phone_numbers(text: str) -> str:
    """010-1234-5678 → 공일공 일이삼사 오육칠팔, 1588-1234 → 일오팔팔 일이삼사, 119에 → 일일구에."""

    def phone(match: re.Match[str]) -> str:
        country, area, middle, last = match.groups()
        if not country and not area.startswith("0"):
            return match.group(0)
        prefix = f"플러스 {_digits(country[1:])} " if country else ""
        return prefix + _digits(area, middle, last)

    def groups(match: re.Match[str]) -> str:
        return _digits(*match.groups())

    text = _PHONE.sub(phone, text)
    text = _PHONE_UNBROKEN.sub(groups, text)
    text = _PHONE_SERVICE.sub(groups, text)
    return _EMERGENCY.sub(groups, text)


def read_versions(text: str) -> str:
    """Dotted numbers with two or more points: 3.14.1 → 삼 점 십사 점 일 (versions, addresses)."""
    return _VERSION.sub(lambda m: " 점 ".join(read_number(p) for p in m.group(0).split(".")), text)


# --- money and units ---------------------------------------------------------------------------

_SIGNS = _alternation(list(CURRENCY_SIGNS))
_MONEY_BEFORE = re.compile(rf"(-)?({_SIGNS}) ?({NUM})({MAGNITUDE_PATTERN})?")
_MONEY_AFTER = re.compile(rf"{_NOT_AFTER_NUMBER}(-)?({NUM})({MAGNITUDE_PATTERN})? ?({_SIGNS})")
_UNIT = re.compile(
    rf"{_NOT_AFTER_NUMBER}(-)?({NUM})(?: ?~ ?(-)?({NUM}))? ?({_alternation(list(UNITS))})"
    r"(?![A-Za-z0-9²³])"
)
_TEMPERATURE_WORDS = ("도",)


def read_amount(number: str, magnitude: str | None) -> str:
    """A number with an optional written magnitude: ('3', '만') → 삼만, ('1', '천') → 천."""
    if not magnitude:
        return read_number(number)
    if number == "1" and magnitude[0] in SILENT_ONE_MAGNITUDES:
        return magnitude
    return read_number(number) + magnitude


def read_money(text: str) -> str:
    """$5 → 오 달러, ₩39,900 → 삼만 구천구백 원, 10€ → 십 유로."""

    def money(minus: str | None, number: str, magnitude: str | None, sign: str) -> str:
        amount = read_amount(number, magnitude)
        return ("마이너스 " if minus else "") + f"{amount} {CURRENCY_SIGNS[sign]}"

    def before(match: re.Match[str]) -> str:
        minus, sign, number, magnitude = match.groups()
        return money(minus, number, magnitude, sign)

    def after(match: re.Match[str]) -> str:
        minus, number, magnitude, sign = match.groups()
        return money(minus, number, magnitude, sign)

    return _MONEY_AFTER.sub(after, _MONEY_BEFORE.sub(before, text))


def read_units(text: str) -> str:
    """5km → 오 킬로미터, 36.5℃ → 섭씨 삼십육 점 오 도, -3°C → 영하 삼 도, 30% → 삼십 퍼센트."""

    def replace(match: re.Match[str]) -> str:
        minus, low, high_minus, high, unit = match.groups()
        before, word = UNITS[unit]
        is_temperature = word in _TEMPERATURE_WORDS
        if minus and is_temperature and not high:
            return f"영하 {read_number(low)} {word}"
        reading = ("마이너스 " if minus else "") + read_number(low)
        if high:
            reading += "에서 " + ("마이너스 " if high_minus else "") + read_number(high)
        if before and match.string[: match.start()].rstrip().endswith(before):
            before = ""  # 시속 80km/h: the text already says 시속
        return " ".join(part for part in (before, reading, word) if part)

    return _UNIT.sub(replace, text)


# --- arithmetic, ratios, fractions, dotted dates, ranges, codes ------------------------------

_OPERATOR = r"(?: ?[+×x*÷] ?| - )"
_ARITHMETIC = re.compile(
    rf"{_NOT_AFTER_NUMBER}(-?(?:{NUM})(?:{_OPERATOR}-?(?:{NUM}))+)(?: ?= ?(-?(?:{NUM})))?"
    r"(?![0-9A-Za-z])"
)
_ARITHMETIC_TOKEN = re.compile(rf"(?<![0-9])-?(?:{NUM})|[+×x*÷]|(?<= )-(?= )")
_EQUATION = re.compile(rf"{_NOT_AFTER_NUMBER}(-?(?:{NUM})) ?= ?(-?(?:{NUM}))(?![0-9])")
_RATIO = re.compile(r"(?<![0-9:])([0-9]+):([0-9]+)(?![0-9:])")
_SCORE = re.compile(
    r"(?<![0-9.,])([0-9]{1,3}) ?대 ?([0-9]{1,3})"
    r"(?=$|[^0-9가-힣,.]|[.,](?![0-9])|(?:로|으로|의|가|이|는|은|를|을|에|에서|까지)(?![가-힣]))"
)
"""Scores and match-ups written with 대: 2대 1로 → 이 대 일로, 1대1 → 일 대 일."""
_FRACTION = re.compile(r"(?<![0-9/.,])([0-9]+)/([0-9]+)(?![0-9/])")
_DOTTED = re.compile(r"(?<![0-9])([0-9]{1,2})·([0-9]{1,2})(?![0-9])")
_HYPHEN_RANGE = re.compile(rf"{_NOT_AFTER_NUMBER}({NUM})-({NUM})(?= ?(?:{COUNTER_PATTERN}))")
_CODE = re.compile(r"(?<![0-9A-Za-z])[0-9]+(?:-[0-9]+)+(?![0-9])")
_YEAR_RANGE = re.compile(
    r"(?<![0-9-])(1[89][0-9]{2}|20[0-9]{2})-(1[89][0-9]{2}|20[0-9]{2})(?![0-9-])"
)


def _signed(number: str) -> str:
    """A number that may carry a minus sign."""
    return "마이너스 " + read_number(number[1:]) if number.startswith("-") else read_number(number)


def read_arithmetic(text: str) -> str:
    """1+2=3 → 일 더하기 이는 삼, 10 - 4 → 십 빼기 사, 3×4 → 삼 곱하기 사."""

    def expression(match: re.Match[str]) -> str:
        words = []
        for token in _ARITHMETIC_TOKEN.findall(match.group(1)):
            is_operator = token in OPERATORS or token == "x"
            words.append(OPERATORS.get(token, "곱하기") if is_operator else _signed(token))
        reading = " ".join(words)
        if match.group(2):
            reading += f"{topic_particle(reading)} {_signed(match.group(2))}"
        return reading

    def equation(match: re.Match[str]) -> str:
        left = _signed(match.group(1))
        return f"{left}{topic_particle(left)} {_signed(match.group(2))}"

    return _EQUATION.sub(equation, _ARITHMETIC.sub(expression, text))


def read_ratios_and_fractions(text: str) -> str:
    """3:2 → 삼 대 이, 2대 1 → 이 대 일, 1/2 → 이 분의 일, 3·1절 → 삼일절, 6·25 → 육이오."""

    def ratio(match: re.Match[str]) -> str:
        return f"{read_number(match.group(1))} 대 {read_number(match.group(2))}"

    text = _SCORE.sub(ratio, _RATIO.sub(ratio, text))
    text = _FRACTION.sub(
        lambda m: f"{read_number(m.group(2))} 분의 {read_number(m.group(1))}", text
    )
    return _DOTTED.sub(lambda m: read_number(m.group(1)) + read_digits(m.group(2)), text)


def read_codes(text: str) -> str:
    """3-4명 → a range (서너 명); 2024-2025 → 이천이십사에서 이천이십오; 123-4 → 백이십삼 다시 사."""
    text = _HYPHEN_RANGE.sub(r"\1~\2", text)
    text = _YEAR_RANGE.sub(r"\1~\2", text)

    def code(match: re.Match[str]) -> str:
        return " 다시 ".join(read_number(part) for part in match.group(0).split("-"))

    return _CODE.sub(code, text)
