"""The weather provider interface: what a forecast looks like to the skill, whoever delivers it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class DailyForecast:
    """One calendar day of a forecast, already in Korean words where words are needed."""

    day: date
    """The calendar day, in the forecast place's own time."""
    condition: str | None = None
    """The day's sky in Korean, e.g. "맑음", "비", "소낙눈"; None when unknown."""
    low_celsius: float | None = None
    """The day's lowest air temperature in °C, or None."""
    high_celsius: float | None = None
    """The day's highest air temperature in °C, or None."""
    precipitation_probability: int | None = None
    """The day's highest chance of precipitation in percent (0–100), or None."""


@dataclass(frozen=True)
class WeatherReport:
    """Conditions now at one place, and the days ahead (today first) when the provider has them."""

    condition: str
    """A short Korean description of the sky now, e.g. "맑음", "흐림", "비"."""
    temperature_celsius: float | None = None
    """Air temperature now in °C, or None when the provider does not know it."""
    location: str | None = None
    """The place the report is for, e.g. "서울"; None when the provider has no name for it."""
    days: tuple[DailyForecast, ...] = ()
    """Daily forecasts in date order; empty for a provider that knows only the present."""

    def day(self, wanted: date) -> DailyForecast | None:
        """The forecast for `wanted`, or None when the report does not reach that day."""
        return next((forecast for forecast in self.days if forecast.day == wanted), None)


class WeatherError(RuntimeError):
    """A provider could not deliver a report (offline, too slow, an answer it could not read…)."""


class UnknownPlaceError(WeatherError):
    """The provider cannot report on the place asked about (it knows only `known`, if any)."""

    def __init__(self, asked: str, known: str | None) -> None:
        super().__init__(f"no weather for {asked!r}; this provider reports on {known or 'one fixed place'}")
        self.asked = asked
        self.known = known


@runtime_checkable
class WeatherProvider(Protocol):
    """Anything that can report the weather; injected into `Assistant(weather=...)`."""

    def forecast(self, location: str | None) -> WeatherReport:
        """Conditions now and the days ahead at `location` (None: the provider's own place).

        Raises UnknownPlaceError for a place it cannot report on, WeatherError when no report can
        be had.
        """
        ...
