"""Malformed HTTP, each answered 4xx with a JSON detail naming the problem, fast and without synthesis.

Extends tests/test_server_api.py (wrong field types, a few malformed bodies, the body limit in
process): here are bodies that are not JSON objects, not declared as JSON, not UTF-8, nested
100,000 levels deep, numbers JSON allows but a speed is not, duplicated keys, hostile text, and
the same over a real uvicorn socket, where a client can send what httpx never would.
"""

from __future__ import annotations

import gc
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from server import create_app
from tests.server_support import (
    assert_json_error,
    live_client,
    make_settings,
    metric,
    uvicorn_server,
)

MAX_BODY_BYTES = 512 * 1024
"""Room for 100,000 levels of nesting and for 100,000 Hangul syllables (300,000 bytes in UTF-8)."""
FAST_S = 2.0
"""Bound on each malformed request's answer; typically under 40 ms, the slack is for a loaded
machine (whether synthesis ran is checked by the batch metric, not by time)."""
HUGE_TEXT = "가" * 100_000
GA = "가".encode()
DEEP = 100_000


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Run the async tests on asyncio (the loop uvicorn uses), one loop per module."""
    return "asyncio"


@pytest.fixture(scope="module")
async def client(test_voice_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    """One running app with a 512 KiB body limit and default text limits, shared by the cases."""
    settings = make_settings(test_voice_dir, tmp_path_factory.mktemp("data"), max_body_bytes=MAX_BODY_BYTES,
                             griffin_lim_iters=1)
    async with live_client(create_app(settings)) as http:
        yield http


def obj(**fields: object) -> bytes:
    """A JSON object as UTF-8 bytes."""
    return json.dumps(fields, ensure_ascii=False).encode()


JSON = {"content-type": "application/json"}

MALFORMED = [
    # (path, body, headers, status, what the detail must name)
    ("/speak", b'{"text": "\xea\xb0\x80",}', JSON, 422, "json_invalid"),
    ("/speak", b'{"text": "\xea\xb0\x80"} trailing', JSON, 422, "json_invalid"),
    ("/speak", b'{"text": "\x00"}', JSON, 422, "json_invalid"),  # a raw control character
    ("/speak", b'"\xea\xb0\x80"', JSON, 422, "valid dictionary"),
    ("/assistant", b"5", JSON, 422, "valid dictionary"),
    ("/v1/audio/speech", b"true", JSON, 422, "valid dictionary"),
    ("/speak", b"", JSON, 422, "missing"),
    ("/speak", obj(text="가"), {"content-type": "text/plain"}, 415, "application/json"),
    ("/speak", "text=가".encode(), {"content-type": "application/x-www-form-urlencoded"}, 415, "form-urlencoded"),
    ("/assistant", b"--x\r\n\r\n--x--", {"content-type": "multipart/form-data; boundary=x"}, 415, "multipart"),
    ("/v1/audio/speech", obj(input="가"), {}, 415, "got none"),
    ("/speak", b'{"text": "\xff\xfe"}', JSON, 400, "not valid utf-8"),
    ("/assistant", b'{"text": "\xea\xb0"}', JSON, 400, "not valid utf-8"),  # truncated sequence
    ("/v1/audio/speech", b'{"input": "\xc0\xaf"}', JSON, 400, "not valid utf-8"),  # overlong form
    ("/speak", b"[" * DEEP + b"]" * DEEP, JSON, 400, "nested too deeply"),
    ("/assistant", b'{"text": ' + b"[" * (DEEP - 10) + b"]" * (DEEP - 10) + b"}", JSON, 400, "nested too deeply"),
    ("/v1/audio/speech", b'{"a": ' * 30_000 + b"1" + b"}" * 30_000, JSON, 400, "nested too deeply"),
    ("/speak", b'{"text": "\xea\xb0\x80", "speed": 1e999}', JSON, 422, "finite number"),
    ("/speak", b'{"text": "\xea\xb0\x80", "speed": NaN}', JSON, 422, "finite number"),
    ("/v1/audio/speech", b'{"input": "\xea\xb0\x80", "speed": -Infinity}', JSON, 422, "finite number"),
    ("/v1/audio/speech", b'{"input": "\xea\xb0\x80", "speed": "1.0"}', JSON, 422, "valid number"),
    ("/speak", b'{"text": "\xea\xb0\x80", "speed": true}', JSON, 422, "valid number"),
    ("/speak", b'{"text": "\xea\xb0\x80", "speed": ' + b"9" * 5000 + b"}", JSON, 400, "too many digits"),
    ("/speak", b'{"text": "\xea\xb0\x80", "text": 5}', JSON, 422, "string_type"),  # the last key wins
    ("/speak", obj(text=HUGE_TEXT), JSON, 413, "100000 characters"),
    ("/assistant", obj(text=HUGE_TEXT), JSON, 413, "100000 characters"),
    ("/v1/audio/speech", obj(input=HUGE_TEXT), JSON, 413, "100000 characters"),
    ("/speak", b'{"text": "\\ud800\\udfff\\ud800"}', JSON, 422, "nothing speakable"),
    ("/v1/audio/speech", b'{"input": "\\u0000\\u202e\\u0301"}', JSON, 422, "nothing speakable"),
    ("/speak", obj(text="가" * (MAX_BODY_BYTES // 3 + 1)), JSON, 413, f"larger than {MAX_BODY_BYTES} bytes"),
]


@pytest.mark.anyio
async def test_malformed_requests_get_a_named_4xx_fast_and_without_synthesis(client: httpx.AsyncClient) -> None:
    batches = metric((await client.get("/metrics")).text, "sori_batch_size_count")
    gc.collect()  # a full collection of earlier tests' garbage is not the server's time
    timings = []
    for path, body, headers, status, named in MALFORMED:
        started = time.perf_counter()
        response = await client.post(path, content=body, headers=headers)
        timings.append((time.perf_counter() - started, path, body[:40]))
        assert named in assert_json_error(response, status), (path, body[:60])
    slowest = max(timings)
    print(f"{len(timings)} malformed requests; slowest {slowest[0] * 1000:.1f} ms: {slowest[1]} {slowest[2]!r}")
    assert slowest[0] < FAST_S
    assert metric((await client.get("/metrics")).text, "sori_batch_size_count") == batches


@pytest.mark.anyio
async def test_hostile_text_in_valid_json_is_spoken_or_a_4xx_never_a_500(client: httpx.AsyncClient) -> None:
    # JSON escapes ("\ud800", "\u0000") give Python strings lone surrogates and NUL; they must
    # neither crash the frontend nor the JSON that carries the answer back.
    for text, spoken in (("\ud800가\udfff", True), ("가\u0000나\u202e다\u0301", True), ("\ud800", False)):
        for path, field in (("/speak", "text"), ("/v1/audio/speech", "input")):
            response = await client.post(path, content=json.dumps({field: text}).encode(), headers=JSON)
            if spoken:
                assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
            else:
                assert "\\\\ud800" in assert_json_error(response, 422)
        answer = await client.post("/assistant", content=json.dumps({"text": text}).encode(), headers=JSON)
        assert answer.status_code == 200 and answer.json()["intent"] is None
    number = await client.post("/speak", json={"text": "1" * 30 + ".5"})  # was a 500 (NumberReadingError)
    assert number.status_code == 200
    calculation = "1" * 200 + "." + "1" * 200 + " 곱하기 " + "9" * 90  # was a 500 (decimal.InvalidOperation)
    assert (await client.post("/assistant", json={"text": calculation})).json()["intent"] == "SoriCalculate"


@pytest.mark.anyio
async def test_duplicated_keys_take_the_last_value(client: httpx.AsyncClient) -> None:
    response = await client.post("/speak", content=b'{"text": 5, "text": "\xea\xb0\x80"}', headers=JSON)
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"


# --- over a real socket ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_url(test_voice_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under a real uvicorn on 127.0.0.1, with a 4 KiB body limit."""
    settings = make_settings(test_voice_dir, tmp_path_factory.mktemp("socket-data"), max_body_bytes=4096)
    with uvicorn_server(create_app(settings)) as url:
        yield url


def raw_exchange(url: str, head: bytes, chunks: Iterable[bytes] = ()) -> tuple[float, int, bytes, bytes]:
    """Send raw request bytes (then chunks, until the server stops reading), read the whole answer.

    Returns (seconds, status, headers, body). The server may answer and close before the upload
    ends; the client then sees its send fail, as a real client would.
    """
    parts = urlsplit(url)
    started = time.perf_counter()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        received = b""
        try:
            while part := sock.recv(65536):
                received += part
        except ConnectionResetError:
            pass
    elapsed = time.perf_counter() - started
    headers, _, body = received.partition(b"\r\n\r\n")
    status = int(headers.split(b" ", 2)[1])
    return elapsed, status, headers.lower(), body


def request_head(url: str, path: str, content_type: bytes, framing: bytes) -> bytes:
    """An HTTP/1.1 POST head with the given body framing header (Content-Length or chunked)."""
    host = urlsplit(url).netloc.encode()
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: " + content_type
            + b"\r\n" + framing + b"\r\nConnection: close\r\n\r\n")


def test_over_a_socket_bad_bytes_and_huge_uploads_get_a_json_4xx_fast(server_url: str) -> None:
    def sized(path: str, body: bytes, content_type: bytes = b"application/json") -> bytes:
        return request_head(server_url, path, content_type, b"Content-Length: " + str(len(body)).encode()) + body

    def chunked_megabytes(count: int) -> Iterator[bytes]:
        for _ in range(count):
            yield b"100000\r\n" + b"a" * 0x100000 + b"\r\n"
        yield b"0\r\n\r\n"

    chunked = request_head(server_url, "/speak", b"application/json", b"Transfer-Encoding: chunked")
    cases = [
        ("invalid UTF-8", sized("/speak", b'{"text": "\xff\xfe\xfd"}'), (), 400, b"not valid utf-8"),
        ("truncated UTF-8", sized("/assistant", b'{"text": "\xea\xb0"}'), (), 400, b"not valid utf-8"),
        ("deep nesting", sized("/speak", b"[" * 2000 + b"]" * 2000), (), 400, b"nested too deeply"),
        ("not JSON", sized("/speak", b"text=\xea\xb0\x80", b"application/x-www-form-urlencoded"), (),
         415, b"application/json"),
        ("declared 1 GB", request_head(server_url, "/speak", b"application/json", b"Content-Length: 1000000000"),
         (), 413, b"larger than 4096 bytes"),
        ("declared 100 kB, waiting for 100-continue",
         request_head(server_url, "/speak", b"application/json", b"Content-Length: 100000\r\nExpect: 100-continue"),
         (), 413, b"larger than 4096 bytes"),
        ("chunked 64 MB", chunked, chunked_megabytes(64), 413, b"larger than 4096 bytes"),
    ]
    gc.collect()
    timings = []
    for name, head, chunks, status, named in cases:
        elapsed, got, headers, body = raw_exchange(server_url, head, chunks)
        timings.append((elapsed, name))
        assert got == status, (name, body)
        assert b"content-type: application/json" in headers, name
        assert named in json.loads(body)["detail"].encode(), (name, body)
    slowest = max(timings)
    print(f"over a socket: slowest {slowest[0] * 1000:.1f} ms ({slowest[1]})")
    assert slowest[0] < FAST_S


@pytest.mark.parametrize("size", [8 * 1000, 300 * 1000, 6 * 1000 * 1000])
def test_urllib_sending_an_over_limit_body_receives_the_json_413(server_url: str, size: int) -> None:
    """A client that sends its whole body before it reads (urllib, requests) gets the 413, not a
    broken pipe: the server reads and discards a body up to its discard cap before answering.
    (6 MB is more than the socket buffers absorb, so without the draining it fails every time.)"""
    body = json.dumps({"text": "가" * (size // 3)}, ensure_ascii=False).encode()
    request = urllib.request.Request(f"{server_url}/speak", data=body, headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    assert refused.value.headers["content-type"] == "application/json"
    assert "larger than 4096 bytes" in json.loads(refused.value.read())["detail"]


@pytest.fixture(scope="module")
def keyed_server_url(test_voice_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under a real uvicorn on 127.0.0.1 with an API key (and the default body limit)."""
    settings = make_settings(test_voice_dir, tmp_path_factory.mktemp("keyed-data"), api_key="a-long-test-key")
    with uvicorn_server(create_app(settings)) as url:
        yield url


@pytest.mark.parametrize("size", [8 * 1000, 6 * 1000 * 1000])
def test_urllib_sending_a_body_without_the_key_receives_the_json_401(keyed_server_url: str, size: int) -> None:
    """A client without the key that sends its whole body before it reads gets the 401, not a broken
    pipe: the body is read and discarded (up to the same cap as for a 413) before the answer.
    (6 MB is more than the socket buffers absorb, so without the draining it fails every time.)"""
    body = json.dumps({"text": "가" * (size // 3)}, ensure_ascii=False).encode()
    request = urllib.request.Request(f"{keyed_server_url}/speak", data=body,
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401
    assert refused.value.headers["content-type"] == "application/json"
    assert refused.value.headers["www-authenticate"] == "Bearer"
    assert "API key" in json.loads(refused.value.read())["detail"]
