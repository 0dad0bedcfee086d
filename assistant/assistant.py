"""The assistant: recognise an utterance, run its skill, and return the Korean reply."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assistant.errors import AssistantError
from assistant.recognizer import IntentCatalog, Recognition, load_intents, recognize
from assistant.skills import FALLBACK_REPLY, SKILLS, SkillContext
from assistant.store import SqliteStore, Store
from assistant.weather import WeatherProvider
from tts.paths import data_dir

LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Seoul"
STORE_FILENAME = "assistant.sqlite3"


@dataclass(frozen=True)
class AssistantReply:
    """The outcome of one utterance: intent (None when not understood), slots, reply text.

    `reply` is None when nothing should be said (HassNevermind).
    """

    intent: str | None
    slots: dict[str, str | int] = field(default_factory=dict)
    reply: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with keys intent, slots, reply."""
        return {"intent": self.intent, "slots": dict(self.slots), "reply": self.reply}


def default_store_path() -> Path:
    """Where timers and the shopping list live unless told otherwise: data_dir()/assistant.sqlite3."""
    return data_dir() / STORE_FILENAME


class Assistant:
    """Korean voice-assistant logic; safe to share between threads.

    Templates are compiled once per instance; timers and the shopping list persist in `store`
    (the caller's, e.g. from `assistant.store.open_store`) or else in the SQLite file at
    `store_path`, so a new Assistant on the same database sees them. The assistant owns the store:
    `close` closes it.
    """

    def __init__(
        self,
        store_path: Path | None = None,
        clock: Callable[[], datetime] | None = None,
        timezone: str = DEFAULT_TIMEZONE,
        weather: WeatherProvider | None = None,
        store: Store | None = None,
    ) -> None:
        try:
            self.timezone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise AssistantError(f"unknown timezone {timezone!r}") from error
        if weather is not None and not isinstance(weather, WeatherProvider):
            raise AssistantError(f"weather provider {weather!r} has no forecast(location) method")
        self._clock = clock
        self._weather = weather
        if store is not None and store_path is not None:
            raise AssistantError("give the assistant a store or a store path, not both")
        self.store: Store = store if store is not None else SqliteStore(
            store_path if store_path is not None else default_store_path()
        )
        self._catalog: IntentCatalog = load_intents()

    def close(self) -> None:
        """Close the store; asking afterwards fails (StoreUnavailableError) if the
        skill needs the store."""
        self.store.close()

    def now(self) -> datetime:
        """The current time in the assistant's timezone (naive clock values are taken as local)."""
        if self._clock is None:
            return datetime.now(self.timezone)
        moment = self._clock()
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.timezone)
        return moment.astimezone(self.timezone)

    def recognize(self, text: str) -> Recognition | None:
        """The recognised intent and slots for `text`, or None; changes nothing."""
        return recognize(text, self._catalog)

    def ask(self, text: str) -> AssistantReply:
        """Answer one utterance. Raises AssistantError for empty, over-long or non-text input."""
        recognition = self.recognize(text)
        if recognition is None:
            LOGGER.info("not understood: %r", text)
            return AssistantReply(intent=None, slots={}, reply=FALLBACK_REPLY)
        context = SkillContext(now=self.now(), store=self.store, weather=self._weather)
        reply = SKILLS[recognition.intent](recognition.slots, context)
        return AssistantReply(intent=recognition.intent, slots=dict(recognition.slots), reply=reply)
