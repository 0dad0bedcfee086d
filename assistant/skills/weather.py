"""HassGetWeather: now and today, tomorrow, the day after, the weekend, or a weekday, from the provider.

Which days are meant is worked out from the `day` and `week` slots and the assistant's clock (so
"내일" is tomorrow in the assistant's timezone); the provider's report is then read for those
days. Past days, whole weeks, places the provider does not cover and days beyond its forecast get a
plain answer saying so, never another day's weather passed off as the one asked about.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from assistant.numbers import format_number
from assistant.particles import with_particle
from assistant.skills.context import SkillContext, Slots
from assistant.weather import DailyForecast, UnknownPlaceError, WeatherError, WeatherReport

LOGGER = logging.getLogger(__name__)

NOT_CONFIGURED = "날씨 정보가 설정되어 있지 않아서 날씨는 알려 드릴 수 없어요."
UNAVAILABLE = "지금은 날씨 정보를 가져올 수 없어요. 잠시 후에 다시 물어봐 주세요."
PAST = "지난 날씨는 알 수 없어요. 오늘이나 앞으로의 날씨를 물어봐 주세요."
WHOLE_WEEK = "한 주 날씨를 한꺼번에 알려 드리기는 어려워요. 내일이나 주말처럼 날을 정해서 물어봐 주세요."
NO_FORECAST = "{when} 날씨는 아직 예보가 없어요."
OTHER_PLACE = "저는 {known} 날씨만 알 수 있어서 {asked} 날씨는 알려 드릴 수 없어요."
UNNAMED_PLACE = "설정된 곳의"
"""What OTHER_PLACE calls a provider's place that has no name."""

WEEKDAYS = ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일")
"""Weekday names in `date.weekday()` order."""
SATURDAY = WEEKDAYS.index("토요일")

# `day` slot value → (days after today, what the reply calls it). Parts of a day are answered with
# that whole day's forecast, and the reply names the day, not the part.
RELATIVE_DAYS: dict[str, tuple[int, str]] = {
    "오늘": (0, "오늘"), "오늘 오후": (0, "오늘"), "오늘 저녁": (0, "오늘"), "오늘 밤": (0, "오늘"),
    "이따": (0, "오늘"), "이따가": (0, "오늘"),
    "내일": (1, "내일"), "내일 아침": (1, "내일"), "내일 오전": (1, "내일"), "내일 오후": (1, "내일"),
    "내일 저녁": (1, "내일"), "내일 밤": (1, "내일"),
    "모레": (2, "모레"), "내일모레": (2, "모레"), "글피": (3, "글피"),
}
PAST_DAYS = frozenset({"어제", "그제", "그저께"})
WEEKENDS = {"주말": "이번 주", "이번 주말": "이번 주", "다음 주말": "다음 주"}
"""`day` slot values meaning a weekend → the week it is in (a `week` slot can move 주말 on)."""
WEEKS = frozenset({"이번 주", "다음 주"})


@dataclass(frozen=True)
class AskedDays:
    """The days a question is about, and what the reply calls them."""

    label: str
    """How the reply names the time asked about: "오늘", "내일", "이번 주말", "다음 주 금요일"."""
    days: tuple[date, ...]
    """The calendar days, in order (two for a weekend, else one)."""
    now: bool = False
    """True when the question is about the present: the reply starts with conditions now."""


def asked_days(slots: Slots, today: date) -> AskedDays | str:
    """The days the `day` and `week` slots mean, seen from `today`; or the reply when they cannot be
    answered from a forecast (a past day, a whole week)."""
    day = slots.get("day")
    week = str(slots["week"]) if "week" in slots else None
    if day is None:
        return AskedDays("오늘", (today,), now=True)
    day = str(day)
    monday = today - timedelta(days=today.weekday())
    if day in PAST_DAYS:
        return PAST
    if day in WEEKS:
        return WHOLE_WEEK
    if day in RELATIVE_DAYS:
        offset, label = RELATIVE_DAYS[day]
        return AskedDays(label, (today + timedelta(days=offset),))
    if day in WEEKENDS:
        which = week or WEEKENDS[day]
        saturday = monday + timedelta(days=SATURDAY + (7 if which == "다음 주" else 0))
        days = tuple(d for d in (saturday, saturday + timedelta(days=1)) if d >= today)
        return AskedDays(f"{which}말", days)
    if day in WEEKDAYS:
        index = WEEKDAYS.index(day)
        if week is None:  # a bare weekday is its next occurrence, today included
            return AskedDays(day, (today + timedelta(days=(index - today.weekday()) % 7),))
        wanted = monday + timedelta(days=index + (7 if week == "다음 주" else 0))
        return PAST if wanted < today else AskedDays(f"{week} {day}", (wanted,))
    raise ValueError(f"HassGetWeather got a day slot it does not know: {day!r}")


def temperature_phrase(celsius: float, max_decimals: int = 1) -> str:
    """A temperature as said aloud: 12도, 3.5도, 영하 2도 (rounded to `max_decimals`)."""
    value = Fraction(Decimal(str(celsius)))
    text = format_number(abs(value), max_decimals=max_decimals)
    return f"영하 {text}도" if value < 0 and text != "0" else f"{text}도"


def _is(word: str) -> str:
    """`word` + 이에요/예요 and a full stop."""
    return f"{with_particle(word, '이에요/예요')}."


def _daily_temperature(celsius: float) -> str:
    """A day's low or high in whole degrees, as forecasts say them (the 0.1 °C is not meaningful)."""
    return temperature_phrase(celsius, max_decimals=0)


def _details(forecast: DailyForecast) -> list[str]:
    """Sentences for a day's low, high and chance of precipitation (those the forecast has)."""
    sentences = []
    low = None if forecast.low_celsius is None else _daily_temperature(forecast.low_celsius)
    high = None if forecast.high_celsius is None else _daily_temperature(forecast.high_celsius)
    if low is not None and high is not None:
        sentences.append(f"최저 기온은 {low}, 최고 기온은 {_is(high)}")
    elif low is not None:
        sentences.append(f"최저 기온은 {_is(low)}")
    elif high is not None:
        sentences.append(f"최고 기온은 {_is(high)}")
    if forecast.precipitation_probability is not None:
        sentences.append(f"강수 확률은 {forecast.precipitation_probability}퍼센트예요.")
    return sentences


def _with_subject(subject: str, sentences: list[str]) -> list[str]:
    """`sentences` with `subject` ("오늘", "토요일") said before the first one."""
    return [f"{subject} {sentences[0]}", *sentences[1:]] if sentences else []


def _describe_day(forecast: DailyForecast, heading: str, subject: str) -> list[str]:
    """The day's sky after `heading` ("내일 서울 날씨는", "토요일은"), then its details; without a
    sky, the details with `subject` ("내일 서울", "토요일") before the first."""
    if forecast.condition is None:
        return _with_subject(subject, _details(forecast))
    return [f"{heading} {_is(forecast.condition)}", *_details(forecast)]


def describe(report: WeatherReport, today: date | None = None) -> str:
    """The weather now at the report's place, then today's forecast when the report has `today`."""
    place = f"지금 {report.location} 날씨는" if report.location else "지금 날씨는"
    sentences = [f"{place} {_is(report.condition)}"]
    if report.temperature_celsius is not None:
        sentences.append(f"기온은 {_is(temperature_phrase(report.temperature_celsius))}")
    forecast = report.day(today) if today is not None else None
    if forecast is not None:
        if forecast.condition is not None and forecast.condition != report.condition:
            sentences.append(f"오늘 예보는 {_is(forecast.condition)}")
        sentences.extend(_with_subject("오늘", _details(forecast)))
    return " ".join(sentences)


def describe_days(report: WeatherReport, asked: AskedDays) -> str:
    """The forecast for the asked days (one, or a weekend's two), or NO_FORECAST when it has none."""
    subject = f"{asked.label} {report.location}" if report.location else asked.label
    forecasts = [forecast for day in asked.days if (forecast := report.day(day)) is not None]
    sentences: list[str] = []
    for forecast in forecasts:
        if len(asked.days) == 1:
            sentences.extend(_describe_day(forecast, f"{subject} 날씨는", subject))
        else:  # a weekend: each day by its name
            weekday = WEEKDAYS[forecast.day.weekday()]
            sentences.extend(_describe_day(forecast, with_particle(weekday, "은/는"), weekday))
    if sentences and len(asked.days) > 1:
        sentences.insert(0, f"{subject} 날씨를 알려 드릴게요.")
    return " ".join(sentences) if sentences else NO_FORECAST.format(when=asked.label)


def get_weather(slots: Slots, context: SkillContext) -> str:
    """HassGetWeather: the days asked about (slots `day`, `week`; none means now) at `location`
    (optional slot; None is the provider's own place)."""
    if context.weather is None:
        return NOT_CONFIGURED
    asked = asked_days(slots, context.now.date())
    if isinstance(asked, str):
        return asked
    location = slots.get("location")
    try:
        report = context.weather.forecast(str(location) if location is not None else None)
    except UnknownPlaceError as error:
        LOGGER.info("weather asked for %s: %s", error.asked, error)
        return OTHER_PLACE.format(known=error.known or UNNAMED_PLACE, asked=error.asked)
    except WeatherError as error:
        LOGGER.warning("weather unavailable: %s", error)
        return UNAVAILABLE
    if asked.now:
        return describe(report, asked.days[0])
    return describe_days(report, asked)
