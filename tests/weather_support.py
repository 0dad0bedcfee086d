"""A stand-in for Open-Meteo's forecast API on 127.0.0.1, and the forecasts it serves in tests.

The forecasts under tests/data/open_meteo/ are written in the shape Open-Meteo documents for
`/v1/forecast` with `current=temperature_2m,weather_code`,
`daily=weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max` and
`timezone=auto` (all top-level fields, units and values as it sends them), for Seoul on fixed dates.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FORECASTS = Path(__file__).parent / "data" / "open_meteo"


def load_forecast(name: str) -> dict[str, Any]:
    """A forecast fixture as parsed JSON: cold_clear_day, rain_tomorrow or snow_weekend."""
    payload: dict[str, Any] = json.loads((FORECASTS / f"{name}.json").read_text("utf-8"))
    return payload


@dataclass
class Answer:
    """What the stand-in sends: a status, a body, and how long it waits before the headers."""

    body: bytes
    status: int = 200
    delay_s: float = 0.0
    content_type: str = "application/json"

    @classmethod
    def json(cls, payload: Any, status: int = 200, delay_s: float = 0.0) -> Answer:
        """An answer whose body is `payload` as JSON."""
        return cls(json.dumps(payload, ensure_ascii=False).encode("utf-8"), status, delay_s)


@dataclass
class ForecastServer:
    """The running stand-in: set `answer`, read what was asked in `requests` (path, query)."""

    url: str
    answer: Answer
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    """Set at shutdown so a handler still sleeping out a delay returns at once."""


@contextmanager
def forecast_server(answer: Answer) -> Iterator[ForecastServer]:
    """Serve `answer` (changeable through the yielded object) at http://127.0.0.1:PORT/v1/forecast."""
    state: ForecastServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            parsed = urllib.parse.urlsplit(self.path)
            state.requests.append((parsed.path, urllib.parse.parse_qs(parsed.query)))
            current = state.answer
            if current.delay_s:
                state.release.wait(current.delay_s)
            try:
                self.send_response(current.status)
                self.send_header("Content-Type", current.content_type)
                self.send_header("Content-Length", str(len(current.body)))
                self.end_headers()
                self.wfile.write(current.body)
            except OSError:  # the client gave up (a timeout test): nothing more to say
                pass

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            """Quiet: the tests look at `requests` instead."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    state = ForecastServer(url=f"http://{host!s}:{port}/v1/forecast", answer=answer)
    thread = threading.Thread(target=server.serve_forever, name="forecast-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

