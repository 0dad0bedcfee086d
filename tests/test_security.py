"""Security contracts: the API key guards every API endpoint, CORS lets in only configured origins,
no endpoint reads a path the client names, secrets are never echoed, and the dependency audit
tells a clean environment, a vulnerable one and one it could not audit apart.

tests/test_server_api.py has the basic API-key and CORS cases; these go further.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Message

from scripts.audit_deps import ServiceReport, decide, main, parse_report
from server import Settings, create_app
from server.middleware import DISCARD_CAP_BYTES
from tests.server_support import live_client, make_settings, uvicorn_server
from tts import bundled_voices_dir

KEY = "k3y-0f-the-t3st-server"
GOOD = {"Authorization": f"Bearer {KEY}"}
ORIGIN = "https://app.example"
PUBLIC_PATHS = {"/healthz", "/readyz", "/"}
"""The only documented endpoints open without the key (the page's own API calls need it); the
page's assets and the API's own description (/openapi.json, /docs) are public too."""
ENDLESS_PATHS = {"/assistant/events"}
"""Event streams that never end: an in-process client would wait for the end of the body, so with
the key they are read from a real server instead (tests/test_server_timers.py); refused here."""
BODIES: dict[str, dict[str, Any]] = {
    "/speak": {"text": "가"},
    "/speak/alignment": {"text": "가"},
    "/assistant": {"text": "됐어"},
    "/v1/audio/speech": {"input": "가"},
}
"""A valid body for each POST endpoint; a new endpoint without one fails the key test."""
WRONG_CREDENTIALS: list[tuple[dict[str, str], str]] = [
    ({}, ""),
    ({"Authorization": "Bearer wrong"}, ""),
    ({"Authorization": f"Bearer {KEY}x"}, ""),
    ({"Authorization": f"Bearer {KEY[:-1]}"}, ""),
    ({"Authorization": f"Bearer {KEY.upper()}"}, ""),
    ({"Authorization": f"Basic {KEY}"}, ""),
    ({"Authorization": KEY}, ""),
    ({"Authorization": "Bearer"}, ""),
    ({"X-API-Key": KEY}, ""),
    ({}, f"?api_key={KEY}"),
]

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Run the async tests on asyncio (the loop uvicorn uses), one loop per module."""
    return "asyncio"


@pytest.fixture(scope="module")
async def secured(
    test_voice_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """One running app with an API key and one CORS origin (the tests change no state)."""
    settings = make_settings(test_voice_dir, tmp_path_factory.mktemp("data"), api_key=KEY, cors_origins=ORIGIN)
    async with live_client(create_app(settings)) as http:
        yield http


def documented_operations(settings: Settings) -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI schema of an app with these settings."""
    schema = create_app(settings).openapi()
    return [(method.upper(), path) for path, operations in schema["paths"].items() for method in operations]


def assert_unauthorized(response: httpx.Response) -> None:
    """401 with the JSON error and the Bearer challenge."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()) == {"detail"}
    assert response.headers["www-authenticate"] == "Bearer"


async def test_every_documented_endpoint_but_health_and_page_needs_the_key(
    secured: httpx.AsyncClient, test_voice_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    operations = documented_operations(make_settings(test_voice_dir, tmp_path))
    protected = [(method, path) for method, path in operations if path not in PUBLIC_PATHS]
    assert {path for _, path in protected} >= {"/speak", "/speak/alignment", "/assistant",
                                               "/v1/audio/speech", "/voices", "/metrics"}
    exchanged: list[httpx.Response] = []
    with contextlib.ExitStack() as levels:
        # Every server-side logger at DEBUG, whatever levels earlier tests left on them.
        for name in (None, "server", "assistant", "tts", "uvicorn"):
            levels.enter_context(caplog.at_level(logging.DEBUG, logger=name))
        for method, path in protected:
            body = BODIES[path] if method == "POST" else None
            for headers, query in WRONG_CREDENTIALS:
                response = await secured.request(method, path + query, json=body, headers=headers)
                assert_unauthorized(response)
                exchanged.append(response)
            if method == "POST":  # refused before the body is even validated
                assert_unauthorized(await secured.request(method, path, json={"bad": 1}))
            if path in ENDLESS_PATHS:
                continue
            for scheme in ("Bearer", "bearer"):
                response = await secured.request(method, path, json=body, headers={"Authorization": f"{scheme} {KEY}"})
                assert response.status_code == 200, (path, response.text)
                exchanged.append(response)
        for path in ("/healthz", "/readyz", "/", "/static/app.js", "/static/style.css", "/openapi.json", "/docs",
                     "/docs/oauth2-redirect", "/redoc"):
            response = await secured.get(path)
            assert response.status_code == 200, path
            exchanged.append(response)
    # The key (and the near-misses clients sent) never come back, in any header, body or log line.
    for response in exchanged:
        text = " ".join(f"{k}: {v}" for k, v in response.headers.items())
        text += response.content.decode("utf-8", errors="replace")
        assert KEY[:-1] not in text and KEY.upper() not in text
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # not the client's
    assert server_side and not any(KEY[:-1] in record.getMessage() for record in server_side)


MALFORMED: dict[str, tuple[bytes, str, int]] = {
    "invalid JSON": (b'{"text": ', "application/json", 422),
    "invalid UTF-8": (b'{"text": "\xff\xfe"}', "application/json", 400),
    "deep nesting": (b"[" * 30_000 + b"]" * 30_000, "application/json", 400),
    "huge number": (b'{"text": 1' + b"1" * 5_000 + b"}", "application/json", 400),
    "wrong content type": ('{"text": "가"}'.encode(), "text/plain", 415),
    "wrong schema": (b'{"bad": 1}', "application/json", 422),
    "too large": (b'{"text": "' + b"a" * 70_000 + b'"}', "application/json", 413),
}
"""Bodies the key check must refuse before anything parses them: (body, content type, what a
client with the key gets)."""


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_without_the_key_a_malformed_body_is_401_before_it_is_parsed(
    secured: httpx.AsyncClient, case: str
) -> None:
    body, content_type, with_key = MALFORMED[case]
    for path in BODIES:
        for headers, query in WRONG_CREDENTIALS[:3]:
            response = await secured.post(path + query, content=body,
                                          headers={"Content-Type": content_type, **headers})
            assert_unauthorized(response)
        keyed = await secured.post(path, content=body, headers={"Content-Type": content_type, **GOOD})
        assert keyed.status_code == with_key, (path, keyed.text)  # control: the body is malformed


async def test_without_the_key_the_body_is_only_discarded(test_voice_dir: Path, tmp_path: Path) -> None:
    """Straight through ASGI: a request without the key gets its 401 after its body is read and thrown
    away (so the client, which may send it all before reading, gets the answer), never parsed; a
    body declared larger than the discard cap is not read at all."""
    app = create_app(make_settings(test_voice_dir, tmp_path, api_key=KEY))
    received: list[Message] = []
    sent: list[Message] = []

    async def receive() -> Message:
        message: Message = {"type": "http.request", "body": b'{"text": ', "more_body": False}
        received.append(message)
        return message

    async def send(message: Message) -> None:
        sent.append(message)

    for authorization, length in ((None, b"9"), ("Bearer wrong", b"9"), (None, str(DISCARD_CAP_BYTES + 1).encode())):
        headers = [(b"content-type", b"application/json"), (b"content-length", length)]
        if authorization is not None:
            headers.append((b"authorization", authorization.encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/speak", "raw_path": b"/speak", "root_path": "",
                 "query_string": b"", "headers": headers, "client": ("127.0.0.1", 1), "server": ("sori.test", 80)}
        await app(scope, receive, send)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [401, 401, 401]
    assert all("API key" in json.loads(m["body"])["detail"] for m in sent if m["type"] == "http.response.body")
    assert len(received) == 2  # the two small bodies, read to be discarded; the oversized one not at all


async def test_settings_never_show_the_key(test_voice_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(test_voice_dir, tmp_path, api_key=KEY)
    assert KEY not in repr(settings) and KEY not in str(settings.model_dump())


async def test_cors_preflight_needs_no_key_and_refuses_other_origins(secured: httpx.AsyncClient) -> None:
    request = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    allowed = await secured.options("/speak", headers={"Origin": ORIGIN, **request})
    assert allowed.status_code == 200  # browsers send no Authorization on a preflight
    assert allowed.headers["access-control-allow-origin"] == ORIGIN  # the origin itself, never *
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in allowed.headers

    for origin in ("https://evil.example", "https://app.example.evil.example", "null", "http://app.example"):
        refused = await secured.options("/speak", headers={"Origin": origin, **request})
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers

    response = await secured.post("/speak", json={"text": "가"}, headers={"Origin": ORIGIN, **GOOD})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "x-sori-voice" in response.headers["access-control-expose-headers"].lower()
    other = await secured.post("/speak", json={"text": "가"}, headers={"Origin": "https://evil.example", **GOOD})
    assert "access-control-allow-origin" not in other.headers


class FileAccessRecorder:
    """A sys audit hook that records the paths Python opens or lists, from any thread, while armed.

    Audit hooks cannot be removed, so one recorder is installed per test session and disarmed
    between uses; it sees the Python-level reads a voice load starts with (config.json)."""

    EVENTS = frozenset({"open", "os.listdir", "os.scandir"})

    def __init__(self) -> None:
        self.armed = False
        self.paths: list[str] = []

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self.armed and event in self.EVENTS and args and isinstance(args[0], str | bytes | os.PathLike):
            self.paths.append(os.path.abspath(os.fsdecode(args[0])))

    @contextmanager
    def recording(self) -> Iterator[list[str]]:
        """Record while the block runs; yields the list of paths it fills."""
        self.paths = []
        self.armed = True
        try:
            yield self.paths
        finally:
            self.armed = False


@pytest.fixture(scope="session")
def file_access() -> FileAccessRecorder:
    """The session's file-access recorder (installed on first use)."""
    recorder = FileAccessRecorder()
    sys.addaudithook(recorder)
    return recorder


def voice_paths(test_voice_dir: Path) -> list[str]:
    """Voice values that name paths: outside files, real voice directories, relative tricks."""
    demo = bundled_voices_dir() / "ko-espeak-demo"
    return [
        "../../etc/passwd", "/etc/passwd", "file:///etc/passwd", "~/.ssh/id_rsa",
        str(test_voice_dir), str(test_voice_dir / "config.json"), str(demo), "voices/ko-espeak-demo",
        "./ko-espeak-demo", "ko-espeak-demo/../ko-espeak-demo", "test-tiny/", "%2e%2e/etc/passwd",
    ]


async def test_a_voice_that_names_a_path_is_refused_and_nothing_is_read(
    test_voice_dir: Path, tmp_path: Path, file_access: FileAccessRecorder
) -> None:
    demo = bundled_voices_dir() / "ko-espeak-demo"
    forbidden = ("/etc", str(test_voice_dir), str(demo), str(Path.home()))
    details = []
    async with live_client(create_app(make_settings(test_voice_dir, tmp_path))) as http:
        with file_access.recording() as opened:
            for path, field in (("/speak", "text"), ("/speak/alignment", "text"), ("/v1/audio/speech", "input")):
                for voice in voice_paths(test_voice_dir):
                    response = await http.post(path, json={field: "가", "voice": voice})
                    assert response.status_code == 422, (path, voice, response.text)
                    details.append(str(response.json()["detail"]))
        assert [p for p in opened if p.startswith(forbidden)] == []
        assert all(d.startswith("unknown voice") for d in details), details  # path exists or not alike
        # Control: the recorder does see a read, here /voices describing the unloaded demo voice.
        with file_access.recording() as opened:
            voices = (await http.get("/voices")).json()["voices"]
        assert str(demo / "config.json") in opened
        assert not next(v for v in voices if v["name"] == "ko-espeak-demo")["loaded"]


TRAVERSALS = [
    "/static/../app.py", "/static/../../server/app.py", "/static/%2e%2e/app.py", "/static/%2E%2E/app.py",
    "/static/..%2fapp.py", "/static/%2e%2e%2fapp.py", "/static/%2e%2e/%2e%2e/server/app.py",
    "/static/..%5capp.py", "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static/....//app.py",
    "/static/../../../../../../etc/passwd",
]


def raw_get(host: str, port: int, target: str) -> tuple[int, bytes]:
    """GET with the request target sent byte for byte; (status, body)."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_static_files_cannot_escape_their_directory(test_voice_dir: Path, tmp_path: Path) -> None:
    """Raw request targets through a real uvicorn (an HTTP client would normalise the dots away)."""
    with uvicorn_server(create_app(make_settings(test_voice_dir, tmp_path))) as url:
        host, port = url.removeprefix("http://").split(":")
        # Control: targets reach the app as sent; normalised, this one would name /static/app.js.
        assert raw_get(host, int(port), "/x/../static/app.js")[0] == 404
        for target in ["/static/app.js", *TRAVERSALS]:
            status, body = raw_get(host, int(port), target)
            if target == "/static/app.js":
                assert status == 200 and body
                continue
            assert status == 404, (target, status)
            assert b"create_app" not in body and b"root:" not in body


# pip-audit 2.10 JSON reports (trimmed to a few packages), as `scripts/audit_deps.py` runs it.
PYPI_UNREACHABLE = json.dumps({"dependencies": [
    {"name": "absl-py", "skip_reason": "Dependency not found on PyPI and could not be audited: absl-py (2.5.1)"},
    {"name": "anyio", "skip_reason": "Dependency not found on PyPI and could not be audited: anyio (4.16.0)"},
    {"name": "fastapi", "skip_reason": "Dependency not found on PyPI and could not be audited: fastapi (0.165.0)"},
    {"name": "sori", "skip_reason": "distribution marked as editable"},
], "fixes": []})
OSV_UNREACHABLE_STDERR = """Traceback (most recent call last):
  File "/work/main/.venv/lib/python3.11/site-packages/pip_audit/_service/osv.py", line 70, in query
    response: requests.Response = self.session.post(
requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev', port=443): Max retries exceeded with url: /v1/query (Caused by NameResolutionError("HTTPSConnection(host='api.osv.dev', port=443): Failed to resolve 'api.osv.dev' ([Errno -2] Name or service not known)"))
"""
CLEAN = json.dumps({"dependencies": [
    {"name": "absl-py", "version": "2.5.1", "vulns": []},
    {"name": "anyio", "version": "4.16.0", "vulns": []},
    {"name": "fastapi", "version": "0.165.0", "vulns": []},
    {"name": "sori", "skip_reason": "distribution marked as editable"},
], "fixes": []})
VULNERABLE = json.dumps({"dependencies": [
    {"name": "anyio", "version": "4.16.0", "vulns": []},
    {"name": "jinja2", "version": "3.1.2", "vulns": [
        {"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": ["CVE-2024-22195"],
         "description": "Jinja vulnerable to HTML attribute injection when passing user input as keys to xmlattr filter"},
    ]},
    {"name": "sori", "skip_reason": "distribution marked as editable"},
], "fixes": []})


def test_audit_reports_are_classified() -> None:
    pypi = parse_report("pypi", 0, PYPI_UNREACHABLE, "No known vulnerabilities found\n")
    assert (pypi.audited, len(pypi.skipped), pypi.coverage()) == ((), 3, 0.0)  # editable sori not counted
    osv = parse_report("osv", 1, "", OSV_UNREACHABLE_STDERR)
    assert osv.error is not None and osv.error.startswith("requests.exceptions.ConnectionError")
    clean = parse_report("osv", 0, CLEAN, "No known vulnerabilities found\n")
    assert clean.audited == ("absl-py", "anyio", "fastapi") and clean.coverage() == 1.0
    vulnerable = parse_report("pypi", 1, VULNERABLE, "Found 1 known vulnerability in 1 package\n")
    assert [v.describe() for v in vulnerable.vulnerabilities] == [
        "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (CVE-2024-22195); fixed in 3.1.3"
    ]

    offline = decide([pypi, osv])
    assert offline.exit_status == 0 and "no known vulnerabilities" not in " ".join(offline.lines)
    assert offline.lines[0] == "dependency audit could not run: no service audited the installed packages (offline?)"
    assert any("3 of 3 packages not audited" in line for line in offline.lines)
    assert any("api.osv.dev" in line for line in offline.lines)

    fallback = decide([pypi, clean])
    assert fallback.exit_status == 0
    assert fallback.lines == ["dependency audit (osv): 3 packages audited, no known vulnerabilities"]

    failed = decide([vulnerable])
    assert failed.exit_status == 1
    assert failed.lines == ["dependency audit: 1 known vulnerability",
                            "  jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (CVE-2024-22195); fixed in 3.1.3"]
    assert decide([osv, vulnerable]).exit_status == 1


def test_audit_needs_most_packages_answered() -> None:
    mostly_skipped = ServiceReport("pypi", audited=("anyio",), skipped=(("a", "x"), ("b", "x"), ("c", "x")))
    assert decide([mostly_skipped]).lines[0].startswith("dependency audit could not run")
    assert decide([mostly_skipped], min_coverage=0.25).lines[0].startswith("dependency audit (pypi): 1 package audited")
    assert decide([]).exit_status == 0
    timed_out = ServiceReport("osv", error="pip-audit timed out after 120 s")
    assert "osv: pip-audit timed out after 120 s" in " ".join(decide([timed_out]).lines)


class FakeOsv(http.server.BaseHTTPRequestHandler):
    """OSV's query API on localhost: one advisory for pyyaml, nothing for every other package."""

    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers["content-length"])))
        answer: dict[str, Any] = {}
        if query["package"]["name"] == "pyyaml":
            answer = {"vulns": [{
                "id": "GHSA-test-only", "aliases": ["PYSEC-test-only"], "summary": "for the audit test",
                "affected": [{"package": {"name": "pyyaml", "ecosystem": "PyPI"},
                              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "999"}]}]}],
            }]}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def test_audit_runs_pip_audit_on_this_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real pip-audit over every installed package, against OSV's API served on localhost."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeOsv)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    try:
        status = main(["--service", "osv", "--osv-url", url, "--cache-dir", str(tmp_path)])
    finally:
        server.shutdown()
        server.server_close()
    out = capsys.readouterr().out
    assert status == 1, out
    assert out.splitlines()[0] == "dependency audit: 1 known vulnerability"
    assert "pyyaml" in out and "fixed in 999" in out
