"""Pure ASGI middleware: the API key (401), request-body size limit (413) and per-route metrics."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.metrics import Metrics

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


async def send_json(
    send: Send, status: int, detail: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Send a complete `{"detail": ...}` JSON response (with extra headers, if given)."""
    body = json.dumps({"detail": detail}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    *headers],
    })
    await send({"type": "http.response.body", "body": body})


def has_key(authorization: str, key: bytes) -> bool:
    """Whether an Authorization header value is `Bearer <key>` (scheme in any case; constant time)."""
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), key)


DISCARD_CAP_BYTES = 8 * 1024 * 1024
"""How much of a refused request's body (413, or 401 without the key) is read and thrown away before
the answer is sent; past it the connection is closed with the body unread (and a client still sending may see a broken pipe).
Larger than what the kernel's socket buffers absorb (about 4 MiB on Linux), so a client's upload
under it reaches the answer whatever the buffers."""


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The value of one request header, or None when it is absent."""
    return next((value for key, value in scope.get("headers", []) if key == name), None)


async def discard_body(
    scope: Scope, receive: Receive, *, declared: int | None, received: int = 0, more: bool = True,
    cap: int = DISCARD_CAP_BYTES,
) -> bool:
    """Read and throw away the rest of a refused request's body (`more` after `received` bytes), so
    that a client that sends its whole body before it reads the answer (urllib, requests) gets the
    answer instead of a broken pipe. False when the client hung up meanwhile (send nothing then).

    Not read: a body declared (`declared`, its Content-Length) larger than `cap`, and one the client
    holds back until told to go on (`Expect: 100-continue`: asking for the body would tell it to
    send). A body that turns out larger than `cap` is read no further.
    """
    waiting = received == 0 and (_header(scope, b"expect") or b"").lower() == b"100-continue"
    more = more and not waiting and (declared is None or declared <= cap)
    while more and received <= cap:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        received += len(message.get("body", b""))
        more = message.get("more_body", False)
    return True


def _declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None when it is absent or not a number."""
    length = _header(scope, b"content-length")
    try:
        return None if length is None else int(length)
    except ValueError:
        return None


class ApiKeyMiddleware:
    """With an API key, answer 401 to every request without `Authorization: Bearer <key>` except
    those for public paths: clients without the key never reach the body size check, the JSON
    parser or a route (unknown paths are 401 too, not 404). Their body is read and discarded, never
    parsed, up to the discard cap before the 401 (see `discard_body`).

    Public are the exact `public_paths` and everything under the `public_prefixes` folders.
    """

    DETAIL = "missing or wrong API key: send 'Authorization: Bearer <key>'"

    def __init__(
        self, app: ASGIApp, api_key: str, public_paths: Iterable[str], public_prefixes: Iterable[str]
    ) -> None:
        self.app = app
        self.key = api_key.encode()
        self.public_paths = frozenset(public_paths)
        self.public_prefixes = tuple(public_prefixes)

    def is_public(self, path: str) -> bool:
        """Whether a request path needs no key."""
        return path in self.public_paths or any(
            path == prefix or path.startswith(f"{prefix}/") for prefix in self.public_prefixes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):  # the app's routes see the path without its mount point
            path = path[len(root):]
        authorization = next(
            (value.decode("latin-1") for name, value in scope.get("headers", []) if name == b"authorization"), ""
        )
        if self.is_public(path) or has_key(authorization, self.key):
            await self.app(scope, receive, send)
            return
        if await discard_body(scope, receive, declared=_declared_length(scope)):
            await send_json(send, 401, self.DETAIL, [(b"www-authenticate", b"Bearer")])


class BodySizeLimitMiddleware:
    """Refuse bodies over max_bytes with 413: by Content-Length up front, else by counting.

    The body is read (at most max_bytes) before the app runs and replayed to it, so a body that
    turns out too large is refused before any handler has started. An over-limit body is read and
    discarded (up to `discard_bytes`) before the 413 is sent: clients that send the whole body
    before reading the answer (urllib, requests) would otherwise meet a closed connection, a
    broken pipe instead of the JSON 413.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, discard_bytes: int = DISCARD_CAP_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.discard_bytes = discard_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        try:
            declared = None if length is None else int(length)
        except ValueError:
            await send_json(send, 400, "invalid Content-Length header")
            return
        if declared is not None and declared > self.max_bytes:
            await self.refuse(scope, receive, send, declared, received=0)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await self.refuse(scope, receive, send, declared, received=size, more=more)
                return
            chunks.append(chunk)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def refuse(
        self, scope: Scope, receive: Receive, send: Send, declared: int | None, received: int, more: bool = True
    ) -> None:
        """Answer 413 once the rest of the body (`more` after `received` bytes) is read and discarded."""
        if await discard_body(scope, receive, declared=declared, received=received, more=more,
                              cap=self.discard_bytes):
            await send_json(send, 413, f"request body is larger than {self.max_bytes} bytes")


class MetricsMiddleware:
    """Count requests by route, method and status, and time them; unknown paths share one label."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Iterable[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = frozenset(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        route = path if path in self.routes else "other"
        method = scope.get("method", "")
        method = method if method in KNOWN_METHODS else "other"
        status = 500
        started = time.perf_counter()

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            self.metrics.requests.labels(route=route, method=method, status=str(status)).inc()
            self.metrics.latency.labels(route=route).observe(time.perf_counter() - started)
