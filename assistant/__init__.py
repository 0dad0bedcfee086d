"""Sori's Korean voice assistant: utterance → intent (hassil) → skill → Korean reply text."""

from assistant.assistant import Assistant, AssistantReply, default_store_path
from assistant.errors import AssistantError, StoreUnavailableError
from assistant.normalize import normalize_utterance
from assistant.open_meteo import OpenMeteoConfig, OpenMeteoProvider
from assistant.particles import has_final_consonant, particle_for, strip_particle, with_particle
from assistant.recognizer import IntentCatalog, Recognition, load_intents, recognize
from assistant.skills import FALLBACK_REPLY, SERVED_INTENTS
from assistant.weather import (
    DailyForecast,
    UnknownPlaceError,
    WeatherError,
    WeatherProvider,
    WeatherReport,
)

__all__ = [
    "FALLBACK_REPLY",
    "SERVED_INTENTS",
    "Assistant",
    "AssistantError",
    "AssistantReply",
    "DailyForecast",
    "IntentCatalog",
    "OpenMeteoConfig",
    "OpenMeteoProvider",
    "Recognition",
    "StoreUnavailableError",
    "UnknownPlaceError",
    "WeatherError",
    "WeatherProvider",
    "WeatherReport",
    "default_store_path",
    "has_final_consonant",
    "load_intents",
    "normalize_utterance",
    "particle_for",
    "recognize",
    "strip_particle",
    "with_particle",
]
