"""The assistant as the servers (HTTP, Wyoming) open it: on the store their settings name, with
the weather provider they configure."""

from __future__ import annotations

import logging
from collections.abc import Callable

from assistant import Assistant, OpenMeteoProvider
from assistant.store import open_store
from server.settings import Settings

logger = logging.getLogger(__name__)


def weather_provider(
    settings: Settings, on_fetch: Callable[[str], None] | None = None
) -> OpenMeteoProvider | None:
    """Open-Meteo for the configured place (each request's outcome passed to `on_fetch`); None when
    SORI_WEATHER_LATITUDE and SORI_WEATHER_LONGITUDE are unset."""
    config = settings.weather_config()
    if config is None:
        logger.info("weather: not configured (SORI_WEATHER_LATITUDE and SORI_WEATHER_LONGITUDE unset)")
        return None
    logger.info("weather: %s for %s (%g, %g)", config.api_url, config.place or "an unnamed place",
                config.latitude, config.longitude)
    return OpenMeteoProvider(config, on_fetch=on_fetch)


def open_assistant(settings: Settings, weather: OpenMeteoProvider | None = None) -> Assistant:
    """The assistant on the store `settings` names (created and migrated as needed), answering
    weather questions through `weather`; AssistantError naming the database (password hidden) when
    its URL is malformed or it cannot be reached."""
    store = open_store(settings.store_url, settings.assistant_store_path,
                       timeout_seconds=settings.store_timeout_s)
    try:
        return Assistant(store=store, timezone=settings.timezone, weather=weather)
    except BaseException:
        store.close()
        raise


def check_store(settings: Settings) -> None:
    """Open the store `settings` name (applying its migrations) and close it again, so a command
    can refuse a malformed or unreachable database with one clear message before it serves."""
    open_store(settings.store_url, settings.assistant_store_path,
               timeout_seconds=settings.store_timeout_s).close()
