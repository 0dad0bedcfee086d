"""HassGetWeather: the current weather from the injected provider, or a plain "not configured".

Providers report current conditions only, so a question about another time (내일, 주말, 오늘 밤 …)
gets a plain answer saying so rather than today's weather passed off as a forecast."""

from __future__ import annotations

import logging
from decimal import Decimal
from fractions import Fraction

from assistant.numbers import format_number
from assistant.particles import with_particle
from assistant.skills.context import SkillContext, Slots
from assistant.weather import WeatherError, WeatherReport

LOGGER = logging.getLogger(__name__)

NOT_CONFIGURED = "날씨 정보가 설정되어 있지 않아서 날씨는 알려 드릴 수 없어요."
UNAVAILABLE = "지금은 날씨 정보를 가져올 수 없어요. 잠시 후에 다시 물어봐 주세요."
ONLY_NOW = "저는 지금 날씨만 알 수 있어서 {when} 날씨는 알려 드릴 수 없어요."
"""The answer for another time than now; `when` is what was asked about (내일, 내일 서울 …)."""


def temperature_phrase(celsius: float) -> str:
    """A temperature as said aloud: 12도, 3.5도, 영하 2도 (one decimal at most)."""
    value = Fraction(Decimal(str(celsius)))
    text = format_number(abs(value), max_decimals=1)
    return f"영하 {text}도" if value < 0 and text != "0" else f"{text}도"


def describe(report: WeatherReport) -> str:
    """A Korean sentence or two for `report`."""
    place = f"{report.location} 날씨는" if report.location else "지금 날씨는"
    sentence = f"{place} {with_particle(report.condition, '이에요/예요')}."
    if report.temperature_celsius is not None:
        temperature = temperature_phrase(report.temperature_celsius)
        sentence += f" 기온은 {with_particle(temperature, '이에요/예요')}."
    return sentence


def get_weather(slots: Slots, context: SkillContext) -> str:
    """HassGetWeather: ask the provider for `location` (optional slot); other times than now (the
    optional `week` and `day` slots) are answered honestly, without asking it."""
    if context.weather is None:
        return NOT_CONFIGURED
    location = slots.get("location")
    if "day" in slots:
        asked = (slots.get("week"), slots["day"], location)
        return ONLY_NOW.format(when=" ".join(str(part) for part in asked if part is not None))
    try:
        report = context.weather.current(str(location) if location is not None else None)
    except WeatherError as error:
        LOGGER.warning("weather provider failed: %s", error)
        return UNAVAILABLE
    return describe(report)
