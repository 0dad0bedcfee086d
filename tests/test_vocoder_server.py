"""The server with voices that have a neural vocoder: one is served through it, a broken one is a
503 naming its vocoder file, never a 500."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from server import create_app
from tests.server_support import live_client, make_settings, read_wav
from tests.vocoder_factory import add_test_vocoder
from tts.voice_format import VOCODER_FILE

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_vocoder_voices_serve_or_name_the_broken_file(test_voice_dir: Path, tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    good = add_test_vocoder(Path(shutil.copytree(test_voice_dir, voices / "ko-neural")))
    broken = add_test_vocoder(Path(shutil.copytree(test_voice_dir, voices / "ko-broken-vocoder")))
    data = (broken / VOCODER_FILE).read_bytes()
    (broken / VOCODER_FILE).write_bytes(data[: len(data) // 3])
    app = create_app(make_settings(good, tmp_path / "data", voices_dir=voices))
    async with live_client(app) as http:
        served = await http.post("/speak", json={"text": "안녕하세요"})
        assert served.status_code == 200 and read_wav(served.content)[3] > 0
        refused = await http.post("/speak", json={"text": "가", "voice": "ko-broken-vocoder"})
        assert refused.status_code == 503
        assert f"ko-broken-vocoder/{VOCODER_FILE} is not a readable safetensors file" in refused.json()["detail"]
        assert (await http.get("/healthz")).status_code == 200


async def test_requests_choose_the_vocoder(test_voice_dir: Path, tmp_path: Path) -> None:
    """`vocoder` on /speak and /v1/audio/speech, whole and streamed; neural on a voice without one
    is a 422 naming the voice."""
    voices = tmp_path / "voices"
    neural = add_test_vocoder(Path(shutil.copytree(test_voice_dir, voices / "ko-neural")))
    shutil.copytree(test_voice_dir, voices / "ko-plain")
    app = create_app(make_settings(neural, tmp_path / "data", voices_dir=voices))
    async with live_client(app) as http:
        default = await http.post("/speak", json={"text": "가나다", "response_format": "pcm"})
        asked = await http.post("/speak", json={"text": "가나다", "response_format": "pcm", "vocoder": "neural"})
        griffin = await http.post("/speak", json={"text": "가나다", "response_format": "pcm", "vocoder": "griffin-lim"})
        streamed = await http.post(
            "/speak", json={"text": "가나다", "response_format": "pcm", "vocoder": "griffin-lim", "stream": True}
        )
        openai = await http.post("/v1/audio/speech", json={
            "input": "가나다", "voice": "ko-neural", "response_format": "pcm", "vocoder": "griffin-lim"})
        missing = await http.post("/speak", json={"text": "가나다", "voice": "ko-plain", "vocoder": "neural"})
        missing_stream = await http.post(
            "/speak", json={"text": "가나다", "voice": "ko-plain", "vocoder": "neural", "stream": True}
        )
        unknown = await http.post("/speak", json={"text": "가나다", "vocoder": "wavenet"})
    assert default.content == asked.content != griffin.content
    assert streamed.content == griffin.content == openai.content
    for refused in (missing, missing_stream):
        assert refused.status_code == 422
        assert "no neural vocoder" in refused.json()["detail"]
    assert unknown.status_code == 422


async def test_the_assistant_reply_and_the_voice_list_know_the_vocoders(test_voice_dir: Path, tmp_path: Path) -> None:
    """`vocoder` on /assistant picks the reply's vocoder (neural on a voice without one: 422 before
    the skill runs); /voices lists each voice's vocoders, its default first."""
    voices = tmp_path / "voices"
    neural = add_test_vocoder(Path(shutil.copytree(test_voice_dir, voices / "ko-neural")))
    shutil.copytree(test_voice_dir, voices / "ko-plain")
    app = create_app(make_settings(neural, tmp_path / "data", voices_dir=voices))
    async with live_client(app) as http:
        replies = {}
        for vocoder in (None, "neural", "griffin-lim"):
            body = {"text": "3 더하기 4는?"} | ({} if vocoder is None else {"vocoder": vocoder})
            answered = await http.post("/assistant", json=body)
            assert answered.status_code == 200 and answered.headers["X-Sori-Audio-Status"] == "ok"
            replies[vocoder] = answered.json()["audio"]
        listed = (await http.get("/voices")).json()["voices"]
    assert replies[None] == replies["neural"] != replies["griffin-lim"]
    vocoders = {voice["name"]: voice["vocoders"] for voice in listed}
    assert vocoders["ko-neural"] == ["neural", "griffin-lim"] and vocoders["ko-plain"] == ["griffin-lim"]
    plain = create_app(make_settings(voices / "ko-plain", tmp_path / "plain-data", voices_dir=voices))
    async with live_client(plain) as http:
        refused = await http.post("/assistant", json={"text": "3 더하기 4는?", "vocoder": "neural"})
    assert refused.status_code == 422 and "no neural vocoder" in refused.json()["detail"]
