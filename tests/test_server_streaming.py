"""Speech as a stream over HTTP: /speak with stream and /v1/audio/speech with stream_format.

Pinned: the streamed audio is what `Synthesizer.stream` gives in process (the server queues the
same groups of sentences) up to float rounding, and the whole text's audio up to the rounding of
batches of other sizes; errors before the first byte are JSON; an error after it
ends the stream and is counted; a client that hangs up leaves no work queued for it.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import wave
from pathlib import Path

import httpx
import numpy as np
import pytest

from server import create_app
from server.deps import get_voices
from server.voice_registry import VoiceRegistry
from tests.server_support import (
    BlockingSynthesizer,
    ScriptedSynthesizer,
    assert_json_error,
    live_client,
    make_settings,
    metric,
    uvicorn_server,
    wait_for,
)
from tests.signal_support import snr_db
from tts import (
    Synthesizer,
    default_voice_dir,
    encode_audio,
)

pytestmark = pytest.mark.anyio

TEXT = "안녕하세요. 오늘 날씨가 좋네요. 네. 우산을 챙기세요."
"""Four sentences of different lengths."""
SENTENCES = ["안녕하세요.", "오늘 날씨가 좋네요.", "네.", "우산을 챙기세요."]
UNKNOWN_LENGTH = b"\xff\xff\xff\xff"


@pytest.fixture
def anyio_backend() -> str:
    """Run the async tests on asyncio (the loop uvicorn uses)."""
    return "asyncio"


def samples_of(pcm: bytes) -> np.ndarray:
    """16-bit little-endian PCM as int16 samples."""
    return np.frombuffer(pcm, dtype="<i2")


def wav_samples(data: bytes) -> tuple[int, np.ndarray]:
    """(rate, samples) of a complete WAV file."""
    with wave.open(io.BytesIO(data)) as reader:
        return reader.getframerate(), samples_of(reader.readframes(reader.getnframes()))


def events(body: str) -> list[tuple[str | None, dict[str, object]]]:
    """Server-sent events as (event name or None, JSON data)."""
    parsed = []
    for block in body.strip().split("\n\n"):
        name, data = None, None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: "):])
        assert data is not None, block
        parsed.append((name, data))
    return parsed


async def test_streamed_wav_is_the_sentences_one_after_another(tmp_path: Path) -> None:
    """With the demo voice, whose audio is speech (the tiny test voice's is near silence)."""
    async with live_client(create_app(make_settings(default_voice_dir(), tmp_path))) as http:
        async with http.stream("POST", "/speak", json={"text": TEXT, "stream": True}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "audio/wav"
            assert response.headers["x-sori-stream"] == "true"
            assert response.headers["x-sori-sentences"] == "4"
            assert "content-length" not in response.headers
            streamed = b"".join([chunk async for chunk in response.aiter_raw()])
        rate = int(response.headers["x-sori-sample-rate"])
        assert streamed[:4] == b"RIFF" and streamed[4:8] == UNKNOWN_LENGTH
        assert streamed[36:40] == b"data" and streamed[40:44] == UNKNOWN_LENGTH
        assert int.from_bytes(streamed[24:28], "little") == rate
        audio = samples_of(streamed[44:])
        assert np.abs(audio).max() > 1000
        synthesizer = Synthesizer.load(default_voice_dir(), device="cpu")
        in_process = samples_of(encode_audio(np.concatenate([c.waveform for c in synthesizer.stream(TEXT)]), rate, "pcm"))
        # The same groups of sentences decode on both sides, but this thread's kernels and settings
        # (left by whatever tests ran before) may round differently from the server's worker thread:
        # the same frames and stops, the samples equal up to that rounding.
        assert in_process.shape == audio.shape
        assert snr_db(in_process, audio) > 40
        whole_rate, whole = wav_samples((await http.post("/speak", json={"text": TEXT})).content)
        assert whole_rate == rate
        assert whole.shape == audio.shape  # the same frames and stops; samples up to batch rounding
        assert snr_db(whole, audio) > 20


async def test_streamed_pcm_and_events_carry_the_same_audio(test_voice_dir: Path, tmp_path: Path) -> None:
    async with live_client(create_app(make_settings(test_voice_dir, tmp_path))) as http:
        pcm = await http.post("/speak", json={"text": TEXT, "stream": True, "response_format": "pcm"})
        assert pcm.status_code == 200 and pcm.headers["content-type"] == "audio/pcm"
        sse = await http.post("/speak", json={"text": TEXT, "stream": True, "stream_format": "sse"})
        assert sse.headers["content-type"].startswith("text/event-stream")
    parsed = events(sse.text)
    assert [name for name, _ in parsed] == ["sentence"] * 4 + ["done"]
    sentences = [data for _, data in parsed[:4]]
    assert [s["index"] for s in sentences] == [0, 1, 2, 3]
    assert [s["text"] for s in sentences] == SENTENCES
    audio = b"".join(base64.b64decode(str(s["audio"])) for s in sentences)
    assert audio == pcm.content
    for sentence in sentences:
        alignment = np.array(sentence["alignment"])
        labels = sentence["labels"]
        assert isinstance(labels, list) and labels[-1] == "<eos>"
        assert alignment.ndim == 2 and alignment.shape[1] == len(labels)
        assert float(str(sentence["step_seconds"])) > 0
        assert sentence["samples"] == len(base64.b64decode(str(sentence["audio"]))) // 2
    assert parsed[0][1]["pause_samples"] == 0 and int(str(parsed[1][1]["pause_samples"])) > 0
    done = parsed[-1][1]
    assert done["sentences"] == 4
    assert done["seconds"] == pytest.approx(len(audio) / 2 / 22050)


async def test_openai_stream_formats(test_voice_dir: Path, tmp_path: Path) -> None:
    async with live_client(create_app(make_settings(test_voice_dir, tmp_path))) as http:
        body = {"model": "tts-1", "voice": "alloy", "input": TEXT}
        chunked = await http.post("/v1/audio/speech", json=body | {"stream_format": "audio", "response_format": "pcm"})
        assert chunked.status_code == 200 and chunked.headers["content-type"] == "audio/pcm"
        sse = await http.post("/v1/audio/speech", json=body | {"stream_format": "sse"})
        wav = await http.post("/v1/audio/speech", json=body | {"stream_format": "audio"})
        flac = await http.post("/v1/audio/speech", json=body | {"stream_format": "audio", "response_format": "flac"})
        unknown = await http.post("/v1/audio/speech", json=body | {"stream_format": "websocket"})
    parsed = events(sse.text)
    assert [data["type"] for _, data in parsed] == ["speech.audio.delta"] * 4 + ["speech.audio.done"]
    assert b"".join(base64.b64decode(str(data["audio"])) for _, data in parsed[:4]) == chunked.content
    assert parsed[-1][1]["usage"] == {"input_tokens": len(TEXT), "output_tokens": 0, "total_tokens": len(TEXT)}
    assert wav.content[:4] == b"RIFF" and wav.content[44:] == chunked.content
    assert "flac is not streamed" in assert_json_error(flac, 422)
    assert_json_error(unknown, 422)


async def test_errors_before_the_first_byte_are_json(test_voice_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(test_voice_dir, tmp_path, max_text_chars_speak=20)
    async with live_client(create_app(settings)) as http:
        unspeakable = await http.post("/speak", json={"text": "🙂🙂", "stream": True})
        too_long = await http.post("/speak", json={"text": "가" * 21, "stream": True})
        alignment = await http.post("/speak/alignment", json={"text": "가나", "stream": True})
        not_a_bool = await http.post("/speak", json={"text": "가나", "stream": "yes"})
    assert_json_error(unspeakable, 422)
    assert_json_error(too_long, 413)
    assert "stream applies to /speak" in assert_json_error(alignment, 422)
    assert_json_error(not_a_bool, 422)


def app_with(settings_dir: Path, tmp_path: Path, synthesizer: Synthesizer, **overrides: object):  # type: ignore[no-untyped-def]
    """An app whose requests use `synthesizer` (through an overridden voice registry)."""
    app = create_app(make_settings(settings_dir, tmp_path, **overrides))
    registry = VoiceRegistry.from_synthesizers({"special": synthesizer}, "special")
    app.dependency_overrides[get_voices] = lambda: registry
    return app


async def test_full_queue_refuses_a_stream_with_503(
    test_voice_dir: Path, tmp_path: Path, base_synthesizer: Synthesizer
) -> None:
    blocking = BlockingSynthesizer(base_synthesizer)
    app = app_with(test_voice_dir, tmp_path, blocking, queue_size=1, max_batch_size=1, batch_wait_ms=0.0)
    async with live_client(app) as http:
        held = asyncio.ensure_future(http.post("/speak", json={"text": "가"}))
        await asyncio.to_thread(blocking.started.wait, 30)
        queued = asyncio.ensure_future(http.post("/speak", json={"text": "나"}))
        while app.state.speech.worker.depth < 1:
            await asyncio.sleep(0.01)
        refused = await http.post("/speak", json={"text": TEXT, "stream": True})
        blocking.release.set()
        assert (await held).status_code == 200 and (await queued).status_code == 200
    assert_json_error(refused, 503)
    assert refused.headers["retry-after"]


def failing_later(base: Synthesizer) -> ScriptedSynthesizer:
    """The test voice, but synthesis raises from its second call on (as a lost GPU would)."""
    return ScriptedSynthesizer(base, fail=lambda call, texts: call > 1)


async def test_an_error_after_the_first_byte_ends_the_stream_and_is_counted(
    test_voice_dir: Path, tmp_path: Path, base_synthesizer: Synthesizer
) -> None:
    failing = failing_later(base_synthesizer)
    app = app_with(test_voice_dir, tmp_path, failing)
    async with live_client(app) as http:
        sse = await http.post("/speak", json={"text": TEXT, "stream": True, "stream_format": "sse"})
        assert sse.status_code == 200
        parsed = events(sse.text)
        assert [name for name, _ in parsed] == ["sentence", "error"]
        assert parsed[1][1]["status"] == 500
        assert "CUDA" not in sse.text  # the cause is in the log, not the answer
        exposition = (await http.get("/metrics")).text
        assert metric(exposition, "sori_stream_errors_total") == 1
        assert (await http.post("/speak", json={"text": "가나"})).status_code == 500  # still serving


def test_an_audio_stream_broken_after_the_first_byte_is_cut_off(
    test_voice_dir: Path, tmp_path: Path, base_synthesizer: Synthesizer
) -> None:
    """Through a real uvicorn the client sees an incomplete body, never audio that merely stops."""
    failing = failing_later(base_synthesizer)
    app = app_with(test_voice_dir, tmp_path, failing)
    with uvicorn_server(app) as url, httpx.Client(base_url=url, timeout=120) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/speak", json={"text": TEXT, "stream": True})
        assert metric(http.get("/metrics").text, "sori_stream_errors_total") == 1
        failing.fail = lambda call, texts: False
        assert http.post("/speak", json={"text": "가나"}).status_code == 200  # still serving


HELD = "멈춰"
"""A sentence that starts with this is held until the test releases it."""


def test_concurrent_streams_complete_and_hang_ups_leave_no_work(
    test_voice_dir: Path, tmp_path: Path, base_synthesizer: Synthesizer
) -> None:
    """32 streaming clients on a real uvicorn: 24 read to the end; 8 hang up after their first
    sentence, while their second is held back, and leave nothing queued for them.

    Batches of one and ten worker threads: the (at most 8) held sentences never hold up the others.
    """
    gated = ScriptedSynthesizer(base_synthesizer, hold=lambda call, texts: any(t.startswith(HELD) for t in texts))
    app = app_with(test_voice_dir, tmp_path, gated, cpu_workers=10, cpu_max_batch_size=1, queue_size=64)
    texts = [f"{chr(0xAC00 + 7 * i)}가. {HELD if i % 4 == 0 else ''}나다라. 마바사아. 자차. "
             f"{chr(0xB098 + 11 * i)}카타파하." for i in range(32)]
    statuses: list[int] = []
    received: list[int] = []
    lock = threading.Lock()
    hung_up = threading.Semaphore(0)

    def client(url: str, text: str, hang_up: bool) -> None:
        with httpx.Client(timeout=300) as http, http.stream(
            "POST", f"{url}/speak", json={"text": text, "stream": True, "response_format": "pcm"}
        ) as response:
            total = 0
            for chunk in response.iter_raw():
                total += len(chunk)
                if hang_up:
                    break  # leaving the block closes the connection mid-stream
            with lock:
                statuses.append(response.status_code)
                received.append(total)
        if hang_up:
            hung_up.release()

    with uvicorn_server(app) as url:
        threads = [threading.Thread(target=client, args=(url, text, HELD in text))
                   for text in texts]
        for thread in threads:
            thread.start()
        for _ in range(8):
            assert hung_up.acquire(timeout=300)

        def cancelled() -> float:
            return metric(httpx.get(f"{url}/metrics").text, "sori_cancelled_requests_total")

        wait_for(lambda: cancelled() == 8, "the server to see 8 streams cancelled", timeout_s=120)
        gated.release.set()
        for thread in threads:
            thread.join(600)
        worker = app.state.speech.worker
        wait_for(lambda: worker.depth == 0 and worker.busy_threads == 0, "the workers to go idle", timeout_s=120)
        exposition = httpx.get(f"{url}/metrics").text
    assert statuses == [200] * 32 and all(total > 0 for total in received)
    assert metric(exposition, "sori_cancelled_requests_total") == 8
    assert metric(exposition, "sori_queue_depth") == 0
    assert metric(exposition, "sori_http_requests_total", status="500") == 0
    # A stream of five sentences is three requests to the worker (sentence 1, 2-3, 4-5). Each
    # hung-up stream had its first served and at most its held group started (dropped from the
    # queue if not); its last group was never queued.
    assert 24 * 3 + 8 <= worker.requests_served <= 24 * 3 + 16
    assert worker.requests_served + worker.jobs_cancelled == 24 * 3 + 16
    assert metric(exposition, "sori_stream_sentences_cancelled_total") == 8 * 4
