"""Helpers for the timer tests: an /assistant/events reader in a thread, and a local webhook
receiver on 127.0.0.1 that records what is POSTed to it."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

KEEPALIVE_S = 0.2
"""events_keepalive_s for servers read by an EventReader."""


class EventReader:
    """Reads one /assistant/events stream in a daemon thread; parsed events land in `events`.

    Give the server a short `events_keepalive_s` (see KEEPALIVE_S): the reader notices `close` only
    when a line arrives."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.comments: list[str] = []
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10.0, read=None), headers=headers)
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()
        if not self.connected.wait(60):
            pytest.fail("the events stream did not open")

    def _read(self, url: str) -> None:
        """Parse `event:`/`data:` lines into events until closed."""
        with self._client.stream("GET", f"{url}/assistant/events") as response:
            assert response.status_code == 200
            name, data = "message", ""
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(":"):
                    self.comments.append(line)
                    self.connected.set()
                elif line.startswith("event:"):
                    name = line.partition(":")[2].strip()
                elif line.startswith("data:"):
                    data += line.partition(":")[2].strip()
                elif line == "" and data:
                    self.events.put((name, json.loads(data)))
                    name, data = "message", ""

    def next(self, timeout_s: float = 60.0) -> tuple[str, dict[str, Any]]:
        """The next event (fails the test after timeout_s without one)."""
        try:
            return self.events.get(timeout=timeout_s)
        except queue.Empty:
            pytest.fail(f"no event within {timeout_s} s")

    def close(self) -> None:
        """Stop reading at the next line (a keep-alive at the latest), then close the connection.

        Closing the client under a thread blocked in a read would not end that read, nor send the
        server a FIN, until more bytes came: the server would see the client leave only then."""
        self._stop.set()
        self._thread.join(60)
        self._client.close()


@contextmanager
def reading_events(url: str, headers: dict[str, str] | None = None) -> Iterator[EventReader]:
    """An EventReader on `url`, subscribed (its opening comment received), closed afterwards."""
    reader = EventReader(url, headers)
    try:
        yield reader
    finally:
        reader.close()


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 recording each JSON POST; the first `fail_first` answer 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.attempts = 0
        self._fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.attempts += 1
                if receiver.attempts <= receiver._fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.received.put(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api/webhook/sori-timer"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def next(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """The next POSTed body (fails the test after timeout_s without one)."""
        try:
            return self.received.get(timeout=timeout_s)
        except queue.Empty:
            pytest.fail(f"no webhook POST within {timeout_s} s")

    def close(self) -> None:
        """Stop the server."""
        self._server.shutdown()
        self._server.server_close()


def wait_until(condition: Any, what: str, timeout_s: float = 60.0) -> None:
    """Poll condition() until true (fails the test naming `what` after timeout_s)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
