"""Which store a database URL names, and the URL as it may be shown (without its password).

- none or empty: the SQLite file at the default path (the data directory's assistant.sqlite3);
- `sqlite:///PATH`: that SQLite file, as SQLAlchemy spells it (`sqlite:///state.db` is relative to
  the working directory, `sqlite:////var/lib/sori/state.db` absolute);
- `postgresql://…` or `postgres://…`: PostgreSQL, in libpq's URL form.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from assistant.errors import AssistantError

if TYPE_CHECKING:
    from assistant.store.base import Store

POSTGRES_SCHEMES = ("postgresql", "postgres")
SQLITE_SCHEME = "sqlite"


def redact_url(url: str) -> str:
    """`url` with its password replaced by ***, for messages and logs."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rpartition("@")[2]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:  # not even a URL: show its scheme only, it may hold a password anywhere
        return url.partition(":")[0] + ":…"


def url_scheme(url: str) -> str:
    """The scheme of `url`, lower-case; refuses a URL of no engine Sori has, naming it redacted."""
    scheme = url.partition(":")[0].lower() if ":" in url else ""
    if scheme not in (*POSTGRES_SCHEMES, SQLITE_SCHEME):
        raise AssistantError(
            f"unsupported database URL {redact_url(url)!r}: use postgresql://USER:PASSWORD@HOST/DB, "
            "sqlite:///PATH, or leave it empty for the SQLite file in the data directory"
        )
    return scheme


def sqlite_path(url: str) -> Path:
    """The file a sqlite:/// URL names."""
    prefix = SQLITE_SCHEME + ":///"
    if not url.lower().startswith(prefix) or len(url) == len(prefix):
        raise AssistantError(f"database URL {url!r} names no file: use sqlite:///PATH")
    return Path(url[len(prefix):])


def open_store(url: str | None, default_path: Path, *, timeout_seconds: float | None = None) -> Store:
    """Open (creating and migrating as needed) the store `url` names; AssistantError with the URL,
    password hidden, when it is malformed or cannot be reached. `timeout_seconds` overrides the
    engine's wait for a lock or a connection."""
    from assistant.store.sqlite import SqliteStore

    if url is None or not url.strip():
        path = default_path
    elif url_scheme(url.strip()) == SQLITE_SCHEME:
        path = sqlite_path(url.strip())
    else:
        try:
            from assistant.store.postgres import PostgresStore  # psycopg: imported only when needed
        except ImportError as error:
            raise AssistantError(
                f"the database {redact_url(url)!r} is PostgreSQL, which needs psycopg: "
                "pip install 'sori[postgres]'"
            ) from error

        if timeout_seconds is None:
            return PostgresStore(url.strip())
        return PostgresStore(url.strip(), timeout_seconds=timeout_seconds)
    return SqliteStore(path) if timeout_seconds is None else SqliteStore(path, timeout_seconds=timeout_seconds)
