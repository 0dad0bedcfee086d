"""HTTP contract of the server through httpx against the app: success paths, bad input, auth, CORS."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile

from assistant import FALLBACK_REPLY
from server import create_app
from server.deps import get_voices
from tests.server_support import (
    BASE_URL,
    assert_json_error,
    live_client,
    make_settings,
    metric,
    read_wav,
)

pytestmark = pytest.mark.anyio

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Run the async tests on asyncio (the loop uvicorn uses), one loop per module."""
    return "asyncio"


@pytest.fixture
async def client(test_voice_dir: Path, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh running app with default limits (for tests that count metrics)."""
    async with live_client(create_app(make_settings(test_voice_dir, tmp_path))) as http:
        yield http


@pytest.fixture(scope="module")
async def shared_client(
    test_voice_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """One running app shared by the many bad-input cases (they change no state)."""
    app = create_app(make_settings(test_voice_dir, tmp_path_factory.mktemp("data")))
    async with live_client(app) as http:
        yield http


async def test_speak_returns_a_wav_with_describing_headers(client: httpx.AsyncClient) -> None:
    response = await client.post("/speak", json={"text": "가나다"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    channels, width, rate, frames = read_wav(response.content)
    assert (channels, width, rate) == (1, 2, 22050)
    assert frames > 0
    assert float(response.headers["x-sori-audio-seconds"]) == pytest.approx(frames / rate, abs=1e-3)
    failed = int(response.headers["x-sori-attention-failed-sentences"])
    assert response.headers["x-sori-attention-ok"] == ("true" if failed == 0 else "false")
    assert response.headers["x-sori-voice"] == "test-tiny"


async def test_speak_alignment_is_a_png_with_a_panel_per_sentence(client: httpx.AsyncClient) -> None:
    response = await client.post("/speak/alignment", json={"text": "가나. 다라."})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(PNG_SIGNATURE)
    width, height = np.frombuffer(response.content[16:24], dtype=">u4")
    assert width > 100 and height > 100
    assert response.headers["x-sori-sentences"] == "2"


async def test_assistant_answers_with_intent_reply_and_spoken_audio(client: httpx.AsyncClient) -> None:
    response = await client.post("/assistant", json={"text": "지금 몇 시야?"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"intent", "slots", "reply", "audio"}
    assert body["intent"] == "HassGetCurrentTime"
    assert isinstance(body["slots"], dict)
    assert body["reply"].startswith("지금은")
    channels, width, _, frames = read_wav(base64.b64decode(body["audio"]))
    assert (channels, width) == (1, 2) and frames > 0
    assert response.headers["x-sori-audio-status"] == "ok"


async def test_assistant_nevermind_has_no_audio(client: httpx.AsyncClient) -> None:
    body = (await client.post("/assistant", json={"text": "됐어"})).json()
    assert body == {"intent": "HassNevermind", "slots": {}, "reply": None, "audio": None}


async def test_assistant_not_understood_still_speaks_the_fallback(client: httpx.AsyncClient) -> None:
    body = (await client.post("/assistant", json={"text": "바나나 우주선 파란색"})).json()
    assert body["intent"] is None
    assert body["reply"] == FALLBACK_REPLY
    assert read_wav(base64.b64decode(body["audio"]))[3] > 0


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/speak", {"text": ""}, 422),
        ("/speak", {"text": "   \n\t "}, 422),
        ("/speak", {"text": "😀🎉"}, 422),
        ("/speak", {"text": 123}, 422),
        ("/speak", {"text": None}, 422),
        ("/speak", {"text": ["가"]}, 422),
        ("/speak", {}, 422),
        ("/speak", {"text": "가", "unexpected": 1}, 422),
        ("/speak", {"text": "가", "speed": 9}, 422),
        ("/speak", {"text": "가", "voice": "no-such-voice"}, 422),
        ("/speak", {"text": "가", "voice": "../../etc"}, 422),
        ("/speak", {"text": "가" * 1001}, 413),
        ("/speak/alignment", {"text": " "}, 422),
        ("/speak/alignment", {"text": "가" * 1001}, 413),
        ("/assistant", {"text": ""}, 422),
        ("/assistant", {"text": 5}, 422),
        ("/assistant", {"text": "가" * 501}, 413),
        ("/v1/audio/speech", {"input": "가", "response_format": "mp3"}, 422),
        ("/v1/audio/speech", {"input": "가", "response_format": "opus"}, 422),
        ("/v1/audio/speech", {"input": "가", "speed": 0.1}, 422),
        ("/v1/audio/speech", {"input": "가", "speed": 4.5}, 422),
        ("/v1/audio/speech", {"input": "가", "speed": "fast"}, 422),
        ("/v1/audio/speech", {"input": "가", "voice": "no-such-voice"}, 422),
        ("/v1/audio/speech", {"input": "😀"}, 422),
        ("/v1/audio/speech", {"voice": "alloy"}, 422),
        ("/v1/audio/speech", {"input": "가" * 4097}, 413),
    ],
)
async def test_bad_input_gets_the_right_4xx_as_json(
    shared_client: httpx.AsyncClient, path: str, body: dict[str, object], status: int
) -> None:
    assert_json_error(await shared_client.post(path, json=body), status)


async def test_bad_format_message_names_the_supported_ones(shared_client: httpx.AsyncClient) -> None:
    response = await shared_client.post("/v1/audio/speech", json={"input": "가", "response_format": "mp3"})
    detail = assert_json_error(response, 422)
    assert "mp3" in detail and "wav, pcm, flac" in detail


@pytest.mark.parametrize(
    "body",
    [b'{"text": ', b"[]", b"null", b'\xff\xfe{"text": "\xea"}', b'{"input": "\xed\xa0\x80"}', b"text=hi"],
)
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
@pytest.mark.parametrize("path", ["/speak", "/assistant", "/v1/audio/speech"])
async def test_malformed_bodies_are_json_4xx(
    shared_client: httpx.AsyncClient, path: str, body: bytes, content_type: str
) -> None:
    response = await shared_client.post(path, content=body, headers={"content-type": content_type})
    # A body not declared as JSON is 415; bytes that are not UTF-8 under a JSON content type are
    # FastAPI's 400 "error parsing the body".
    not_utf8 = body.startswith(b"\xff")
    expected = 415 if content_type != "application/json" else 400 if not_utf8 else 422
    assert_json_error(response, expected)


async def test_oversized_body_is_413_by_content_length_and_by_actual_size(
    test_voice_dir: Path, tmp_path: Path
) -> None:
    app = create_app(make_settings(test_voice_dir, tmp_path, max_body_bytes=1024))
    payload = json.dumps({"text": "가" * 2000}).encode()
    async with live_client(app) as http:
        assert_json_error(await http.post("/speak", content=payload), 413)

        async def chunks() -> AsyncIterator[bytes]:  # streamed: no Content-Length header
            for start in range(0, len(payload), 512):
                yield payload[start : start + 512]

        assert_json_error(await http.post("/speak", content=chunks()), 413)
        lying = await http.post("/speak", content=payload, headers={"content-length": "10"})
        assert lying.status_code in (400, 413, 422)


async def test_openai_route_formats_decode_to_the_same_audio(client: httpx.AsyncClient) -> None:
    decoded = {}
    for fmt, media in (("wav", "audio/wav"), ("flac", "audio/flac"), ("pcm", "audio/pcm")):
        response = await client.post(
            "/v1/audio/speech",
            json={"model": "tts-1", "input": "가나다", "voice": "alloy", "response_format": fmt},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == media
        rate = int(response.headers["x-sori-sample-rate"])
        if fmt == "pcm":
            data, _ = soundfile.read(
                io.BytesIO(response.content), format="RAW", subtype="PCM_16",
                samplerate=rate, channels=1, endian="LITTLE", dtype="int16",
            )
        else:
            data, file_rate = soundfile.read(io.BytesIO(response.content), dtype="int16")
            assert file_rate == rate
        decoded[fmt] = data
    assert len(decoded["wav"]) > 0
    np.testing.assert_array_equal(decoded["wav"], decoded["flac"])
    np.testing.assert_array_equal(decoded["wav"], decoded["pcm"])


async def test_openai_voice_names_map_to_the_default_voice(client: httpx.AsyncClient) -> None:
    for voice in ("alloy", "nova", "test-tiny"):
        response = await client.post("/v1/audio/speech", json={"input": "가", "voice": voice})
        assert response.status_code == 200
        assert response.headers["x-sori-voice"] == "test-tiny"


async def test_cache_hit_returns_identical_bytes(client: httpx.AsyncClient) -> None:
    first = await client.post("/speak", json={"text": "라마바"})
    second = await client.post("/speak", json={"text": "라마바"})
    slower = await client.post("/speak", json={"text": "라마바", "speed": 0.5})
    assert (first.headers["x-sori-cache"], second.headers["x-sori-cache"]) == ("miss", "hit")
    assert first.content == second.content
    assert slower.headers["x-sori-cache"] == "miss"
    assert read_wav(slower.content)[3] > read_wav(first.content)[3]
    exposition = (await client.get("/metrics")).text
    assert metric(exposition, "sori_cache_lookups_total", result="hit") == 1


async def test_voices_health_readiness_and_metrics(client: httpx.AsyncClient) -> None:
    voices = (await client.get("/voices")).json()
    assert voices["default"] == "test-tiny"
    entry = next(v for v in voices["voices"] if v["name"] == "test-tiny")
    assert entry["default"] and entry["loaded"] and entry["sample_rate"] == 22050
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["voice"] == "test-tiny"
    await client.post("/speak", json={"text": "가"})
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert metric(text, "sori_http_requests_total", route="/speak", status="200") == 1
    assert metric(text, "sori_http_request_duration_seconds_count", route="/speak") == 1
    assert metric(text, "sori_batch_size_count") == 1
    assert metric(text, "sori_synthesis_real_time_factor_count") == 1
    assert "sori_queue_depth 0.0" in text


async def test_unknown_route_is_json_404(client: httpx.AsyncClient) -> None:
    assert_json_error(await client.get("/nope"), 404)
    assert_json_error(await client.get("/speak"), 405)


async def test_page_and_its_assets_are_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "말하기" in page.text and "물어보기" in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert (await client.get(asset)).status_code == 200


async def test_not_ready_before_the_lifespan_runs(test_voice_dir: Path, tmp_path: Path) -> None:
    app = create_app(make_settings(test_voice_dir, tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        assert (await http.get("/healthz")).status_code == 200
        assert_json_error(await http.get("/readyz"), 503)
        assert_json_error(await http.post("/speak", json={"text": "가"}), 503)


async def test_api_key_guards_everything_but_health_and_the_page(test_voice_dir: Path, tmp_path: Path) -> None:
    app = create_app(make_settings(test_voice_dir, tmp_path, api_key="s3cret-key"))
    good = {"Authorization": "Bearer s3cret-key"}
    async with live_client(app) as http:
        for path, body in (("/speak", {"text": "가"}), ("/assistant", {"text": "됐어"}),
                           ("/v1/audio/speech", {"input": "가"}), ("/speak/alignment", {"text": "가"})):
            missing = await http.post(path, json=body)
            assert_json_error(missing, 401)
            assert missing.headers["www-authenticate"] == "Bearer"
            assert_json_error(await http.post(path, json=body, headers={"Authorization": "Bearer wrong"}), 401)
            assert_json_error(await http.post(path, json=body, headers={"Authorization": "s3cret-key"}), 401)
            assert (await http.post(path, json=body, headers=good)).status_code == 200
        for path in ("/voices", "/metrics"):
            assert_json_error(await http.get(path), 401)
            assert (await http.get(path, headers=good)).status_code == 200
        for path in ("/healthz", "/readyz", "/", "/static/app.js"):
            assert (await http.get(path)).status_code == 200


async def test_cors_is_off_unless_origins_are_configured(test_voice_dir: Path, tmp_path: Path) -> None:
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    async with live_client(create_app(make_settings(test_voice_dir, tmp_path))) as http:
        response = await http.get("/healthz", headers={"Origin": "https://example.org"})
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-origin" not in (await http.options("/speak", headers=preflight)).headers
    app = create_app(make_settings(test_voice_dir, tmp_path, cors_origins="https://example.org"))
    async with live_client(app) as http:
        response = await http.options("/speak", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://example.org"
        other = await http.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_unexpected_errors_are_a_plain_500_without_their_text(
    test_voice_dir: Path, tmp_path: Path
) -> None:
    class BrokenRegistry:
        def resolve(self, requested: str | None, *, openai_names: bool = False) -> str:
            raise RuntimeError("secret internal detail")

    app = create_app(make_settings(test_voice_dir, tmp_path))
    app.dependency_overrides[get_voices] = BrokenRegistry
    async with live_client(app, raise_app_exceptions=False) as http:
        response = await http.post("/speak", json={"text": "가"})
        detail = assert_json_error(response, 500)
        assert "secret" not in detail and "Runtime" not in detail


async def test_alignment_without_matplotlib_is_a_501_before_any_synthesis(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slim install has no matplotlib: the route says so instead of failing in the plotting process."""
    import tts.plot

    real_find_spec = tts.plot.importlib.util.find_spec
    monkeypatch.setattr(tts.plot.importlib.util, "find_spec",
                        lambda name, *args: None if name == "matplotlib" else real_find_spec(name, *args))
    response = await client.post("/speak/alignment", json={"text": "안녕하세요."})
    assert response.status_code == 501
    assert "matplotlib" in response.json()["detail"]
    assert (await client.post("/speak", json={"text": "안녕하세요."})).status_code == 200
