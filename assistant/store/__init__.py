"""Persistent timers and shopping list behind one interface (`Store`), with two engines: SQLite
(embedded, the default: one file under the data directory) and PostgreSQL (shared by replicas).
`open_store(url, default_path)` picks the engine from a database URL; the PostgreSQL engine
(`assistant.store.postgres.PostgresStore`) is imported only when a URL names it, as psycopg takes
most of a second to import."""

from assistant.store.base import Store, Timer
from assistant.store.migrations import LATEST_VERSION, MIGRATIONS, Migration
from assistant.store.sqlite import SqliteStore
from assistant.store.url import open_store, redact_url

__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "Migration",
    "SqliteStore",
    "Store",
    "Timer",
    "open_store",
    "redact_url",
]
