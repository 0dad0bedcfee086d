"""What every skill receives besides its slots: the current time, the store and optional services."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from assistant.store import Store
from assistant.weather import WeatherProvider

SlotValue = str | int
Slots = Mapping[str, SlotValue]


@dataclass(frozen=True)
class SkillContext:
    """The world a skill may look at or change while answering one utterance."""

    now: datetime
    """The current time, timezone-aware, in the assistant's timezone."""
    store: Store
    """Persistent timers and shopping list."""
    weather: WeatherProvider | None = None
    """Where the weather (now and the days ahead) comes from; None when no provider is configured."""


Skill = Callable[[Slots, SkillContext], str | None]
"""A skill turns slots and context into the reply text, or None when nothing should be said."""
