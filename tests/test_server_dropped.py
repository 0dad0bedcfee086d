"""Characters that cannot be spoken are reported where the user looks: the X-Sori-Dropped header on
every speech response (whole, streamed, events, the OpenAI route), a field in the events, and a
warning from `sori speak`; and `stream_format: "sse"` streams without `stream`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from server import create_app
from sori.cli import main
from tests.server_support import live_client, make_settings
from tests.test_server_streaming import events

pytestmark = pytest.mark.anyio

TEXT = "안녕 😀 ☃ 하세요. 다시 😀 만나요."
DROPPED = ["😀", "☃"]
"""What TEXT loses, distinct and in order (the header's form)."""


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Run the async tests on asyncio (the loop uvicorn uses), one loop per module."""
    return "asyncio"


@pytest.fixture(scope="module")
async def http(test_voice_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    """One running app for these requests (they change no state)."""
    app = create_app(make_settings(test_voice_dir, tmp_path_factory.mktemp("data")))
    async with live_client(app) as client:
        yield client


def dropped_of(response: httpx.Response) -> list[str]:
    """The X-Sori-Dropped header, parsed; it must be plain ASCII header text."""
    raw = response.headers["x-sori-dropped"]
    assert raw.isascii()
    value = json.loads(raw)
    assert isinstance(value, list)
    return value


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/speak", {"text": TEXT}),
        ("/speak", {"text": TEXT, "stream": True}),
        ("/speak", {"text": TEXT, "stream": True, "response_format": "pcm"}),
        ("/speak", {"text": TEXT, "stream": True, "stream_format": "sse"}),
        ("/speak/alignment", {"text": TEXT}),
        ("/v1/audio/speech", {"input": TEXT}),
        ("/v1/audio/speech", {"input": TEXT, "stream_format": "audio"}),
        ("/v1/audio/speech", {"input": TEXT, "stream_format": "sse"}),
    ],
)
async def test_every_speech_response_names_what_was_dropped(
    http: httpx.AsyncClient, path: str, body: dict[str, object]
) -> None:
    response = await http.post(path, json=body)
    assert response.status_code == 200, response.text
    assert dropped_of(response) == DROPPED
    clean = await http.post(path, json={key: "안녕하세요." if key in ("text", "input") else value
                                        for key, value in body.items()})
    assert dropped_of(clean) == []


async def test_events_carry_what_each_sentence_dropped(http: httpx.AsyncClient) -> None:
    response = await http.post("/speak", json={"text": TEXT, "stream": True, "stream_format": "sse"})
    parsed = events(response.text)
    sentences = [data for name, data in parsed if name == "sentence"]
    assert [s["dropped"] for s in sentences] == [["😀", "☃"], ["😀"]]
    assert parsed[-1] == ("done", parsed[-1][1]) and parsed[-1][1]["dropped"] == ["😀", "☃", "😀"]


async def test_sse_without_stream_is_a_stream_of_events(http: httpx.AsyncClient) -> None:
    response = await http.post("/speak", json={"text": "가나. 다라.", "stream_format": "sse"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert [name for name, _ in events(response.text)] == ["sentence", "sentence", "done"]
    refused = await http.post("/speak/alignment", json={"text": "가나.", "stream_format": "sse"})
    assert refused.status_code == 422


def test_sori_speak_warns_about_dropped_characters(
    tmp_path: Path, test_voice_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["speak", TEXT, "-o", str(tmp_path / "x.wav"), "--voice", str(test_voice_dir)]) == 0
    err = capsys.readouterr().err
    assert "sori speak: warning: could not speak, left out: 😀 ☃\n" in err
