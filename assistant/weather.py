"""The weather provider interface: Sori has no network, so weather comes only from what is injected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class WeatherReport:
    """Current conditions at one place, already in Korean words."""

    condition: str
    """A short Korean description of the sky, e.g. "맑음", "흐림", "비"."""
    temperature_celsius: float | None = None
    """Air temperature in °C, or None when the provider does not know it."""
    location: str | None = None
    """The place the report is for, e.g. "서울"; None for the provider's default place."""


class WeatherError(RuntimeError):
    """A provider could not deliver a report (offline, unknown place…)."""


@runtime_checkable
class WeatherProvider(Protocol):
    """Anything that can report current weather; injected into `Assistant(weather=...)`."""

    def current(self, location: str | None) -> WeatherReport:
        """Current conditions at `location` (None: the provider's default place).

        Raises WeatherError when no report can be had.
        """
        ...
