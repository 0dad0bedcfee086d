"""The server over real sockets: `sori serve` as a subprocess with uvicorn on 127.0.0.1, and the
CLI's clear refusal when there is no voice to serve."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sori.cli import main
from tests.server_support import read_wav, sori_serve, wait_for


@pytest.fixture(scope="module")
def served(test_voice_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`sori serve --voice <test voice>` on a free port; yields its base URL once ready."""
    workdir = tmp_path_factory.mktemp("serve")
    with sori_serve(test_voice_dir, workdir / "data", workdir / "serve.log") as (_, url):
        wait_for(lambda: httpx.get(f"{url}/readyz", timeout=2).status_code == 200, "readiness", 120)
        yield url


def test_sori_serve_answers_every_endpoint_over_tcp(served: str) -> None:
    with httpx.Client(base_url=served, timeout=120) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        speech = http.post("/speak", json={"text": "안녕하세요"})
        assert speech.status_code == 200 and speech.headers["content-type"] == "audio/wav"
        assert read_wav(speech.content)[:3] == (1, 2, 22050)
        image = http.post("/speak/alignment", json={"text": "안녕하세요"})
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
        answer = http.post("/assistant", json={"text": "오늘 며칠이야?"}).json()
        assert answer["intent"] == "HassGetCurrentDate" and read_wav(base64.b64decode(answer["audio"]))[3] > 0
        openai = http.post("/v1/audio/speech", json={"model": "tts-1", "input": "네", "voice": "alloy",
                                                      "response_format": "flac"})
        assert openai.status_code == 200 and openai.content.startswith(b"fLaC")
        assert http.get("/voices").json()["default"] == "test-tiny"
        assert "sori_http_requests_total" in http.get("/metrics").text
        assert "<html" in http.get("/").text
        bad = http.post("/speak", json={"text": "😀"})
        assert bad.status_code == 422 and "detail" in bad.json()
        huge = http.post("/speak", content=b"x" * 200_000, headers={"content-type": "application/json"})
        assert huge.status_code == 413 and "detail" in huge.json()


def test_sori_serve_without_a_voice_says_so_and_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("tts.voice_discovery.bundled_voices_dir", lambda: tmp_path)  # no bundled voice
    assert main(["serve"]) != 0
    assert "bundled voice" in capsys.readouterr().err
    assert main(["serve", "--voice", str(tmp_path / "missing")]) != 0
    assert "missing" in capsys.readouterr().err
