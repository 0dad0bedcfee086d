"""The official `openai` Python SDK as a real client of a real `sori serve` on 127.0.0.1.

What users of OpenAI's speech API write works unchanged against Sori: `audio.speech.create` for a
whole file, `with_streaming_response` for audio as it is made (stream_format "audio" or "sse"),
OpenAI voice names mapped to the default voice, the API key as the SDK sends it.
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.server_support import sori_serve

API_KEY = "sori-test-key"
TEXT = "가나다. 라마바사. 아자."


@pytest.fixture(scope="module")
def server_url(test_voice_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`sori serve` with the test voice and an API key."""
    directory = tmp_path_factory.mktemp("openai")
    with sori_serve(test_voice_dir, directory / "data", directory / "serve.log", SORI_API_KEY=API_KEY) as (_, url):
        yield url


@pytest.fixture(scope="module")
def client(server_url: str) -> openai.OpenAI:
    """The SDK pointed at Sori, as its users configure it."""
    return openai.OpenAI(base_url=f"{server_url}/v1", api_key=API_KEY, max_retries=0, timeout=120)


def sori_pcm(server_url: str, text: str) -> bytes:
    """The text streamed by Sori's own /speak as pcm: what the SDK's streams must equal."""
    response = httpx.post(
        f"{server_url}/speak", json={"text": text, "stream": True, "response_format": "pcm"},
        headers={"Authorization": f"Bearer {API_KEY}"}, timeout=120,
    )
    assert response.status_code == 200
    return response.content


def test_create_returns_a_whole_wav(client: openai.OpenAI) -> None:
    response = client.audio.speech.create(model="tts-1", voice="alloy", input="안녕하세요.", response_format="wav")
    with wave.open(io.BytesIO(response.content)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, 22050)
        assert reader.getnframes() > 0
    assert response.response.headers["content-length"] == str(len(response.content))


def test_streaming_response_sends_audio_as_it_is_made(client: openai.OpenAI, server_url: str) -> None:
    with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="nova", input=TEXT, response_format="pcm", stream_format="audio",
    ) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.headers["x-sori-sentences"] == "3"
        streamed = b"".join(response.iter_bytes())
    assert streamed == sori_pcm(server_url, TEXT)


def test_streaming_response_as_server_sent_events(client: openai.OpenAI, server_url: str) -> None:
    import base64

    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="shimmer", input=TEXT, response_format="pcm", stream_format="sse",
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[len("data: "):]) for line in response.iter_lines() if line.startswith("data: ")]
    assert [event["type"] for event in events] == ["speech.audio.delta"] * 3 + ["speech.audio.done"]
    audio = b"".join(base64.b64decode(event["audio"]) for event in events[:-1])
    assert audio == sori_pcm(server_url, TEXT)


def test_sdk_errors_are_typed(client: openai.OpenAI, server_url: str) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as unsupported:
        client.audio.speech.create(model="tts-1", voice="alloy", input="안녕", response_format="mp3")
    assert "not supported" in json.dumps(unsupported.value.body)
    with pytest.raises(openai.UnprocessableEntityError) as not_streamed:
        client.audio.speech.create(
            model="tts-1", voice="alloy", input="안녕", response_format="flac", stream_format="audio"
        )
    assert "flac is not streamed" in json.dumps(not_streamed.value.body)
    wrong_key = openai.OpenAI(base_url=f"{server_url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong_key.audio.speech.create(model="tts-1", voice="alloy", input="안녕")
