"""The assistant as the servers (HTTP, Wyoming) open it: on the store their settings name."""

from __future__ import annotations

from assistant import Assistant
from assistant.store import open_store
from server.settings import Settings


def open_assistant(settings: Settings) -> Assistant:
    """The assistant on the store `settings` names (created and migrated as needed); AssistantError
    naming the database (password hidden) when its URL is malformed or it cannot be reached."""
    store = open_store(settings.store_url, settings.assistant_store_path,
                       timeout_seconds=settings.store_timeout_s)
    try:
        return Assistant(store=store, timezone=settings.timezone)
    except BaseException:
        store.close()
        raise


def check_store(settings: Settings) -> None:
    """Open the store `settings` name (applying its migrations) and close it again, so a command
    can refuse a malformed or unreachable database with one clear message before it serves."""
    open_store(settings.store_url, settings.assistant_store_path,
               timeout_seconds=settings.store_timeout_s).close()
