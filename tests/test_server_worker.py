"""The inference worker and cache through HTTP: batching, a full queue, timeouts, failing batches,
single-flight; and the cache and worker on their own."""

from __future__ import annotations

import asyncio
import base64
import json
import platform
import threading
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import pytest
from fastapi import FastAPI

from assistant import AssistantReply
from server import Settings, create_app
from server.cache import SingleFlightCache
from server.deps import get_voices
from server.errors import NotReadyError, QueueFullError
from server.voice_registry import VoiceRegistry
from server.worker import InferenceWorker
from tests.server_support import (
    BlockingSynthesizer,
    ScriptedSynthesizer,
    live_client,
    make_settings,
    metric,
    read_wav,
)
from tts import SynthesisOptions, Synthesizer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Run the async tests on asyncio (the loop uvicorn uses)."""
    return "asyncio"


def distinct_texts(count: int) -> list[str]:
    """`count` different one-syllable texts (short, so the tiny voice decodes them quickly)."""
    return [chr(0xAC00 + 29 * index) for index in range(count)]


def app_with_voice(settings: Settings, synthesizer: Synthesizer, name: str = "special") -> FastAPI:
    """An app whose requests use `synthesizer` (through an overridden voice registry)."""
    app = create_app(settings)
    registry = VoiceRegistry.from_synthesizers({name: synthesizer}, name)
    app.dependency_overrides[get_voices] = lambda: registry
    return app


async def wait_until(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Poll a condition set by another thread."""
    with anyio.fail_after(timeout_s):
        while not condition():
            await anyio.sleep(0.01)


async def test_concurrent_requests_are_served_in_fewer_batches(test_voice_dir: Path, tmp_path: Path) -> None:
    app = create_app(make_settings(test_voice_dir, tmp_path, batch_wait_ms=20.0))
    texts = distinct_texts(32)
    async with live_client(app) as http:
        responses = await asyncio.gather(*(http.post("/speak", json={"text": t}) for t in texts))
        assert [r.status_code for r in responses] == [200] * 32
        assert all(read_wav(r.content)[3] > 0 for r in responses)
        exposition = (await http.get("/metrics")).text
    batches = metric(exposition, "sori_batch_size_count")
    assert metric(exposition, "sori_batch_size_sum") == 32
    assert 1 <= batches < 32
    assert app.state.speech is None  # the lifespan has ended and let the service go


async def test_identical_concurrent_requests_share_one_synthesis(test_voice_dir: Path, tmp_path: Path) -> None:
    app = create_app(make_settings(test_voice_dir, tmp_path))
    async with live_client(app) as http:
        responses = await asyncio.gather(*(http.post("/speak", json={"text": "하하"}) for _ in range(6)))
        exposition = (await http.get("/metrics")).text
    assert len({r.content for r in responses}) == 1
    assert sorted(r.headers["x-sori-cache"] for r in responses).count("miss") == 1
    assert metric(exposition, "sori_batch_size_sum") == 1


async def test_full_queue_gives_503_with_retry_after(
    test_voice_dir: Path, tmp_path: Path, base_synthesizer: Synthesizer
) -> None:
    blocking = BlockingSynthesizer(base_synthesizer)
    settings = make_settings(test_voice_dir, tmp_path, queue_size=1, max_batch_size=1, batch_wait_ms=0.0)
    app = app_with_voice(settings, blocking)
    texts = distinct_texts(3)
    async with live_client(app) as http, anyio.create_task_group() as group:
        results: dict[str, httpx.Response] = {}

        async def post(text: str) -> None:
            results[text] = await http.post("/speak", json={"text": text})

        group.start_soon(post, texts[0])
        await wait_until(blocking.started.is_set)  # the worker holds the first request
        group.start_soon(post, texts[1])
        await wait_until(lambda: app.state.speech.worker.depth == 1)  # the second waits in the queue
        refused = await http.post("/speak", json={"text": texts[2]})
        assert refused.status_code == 503
        assert int(refused.headers["retry-after"]) >= 1
        assert "busy" in refused.json()["detail"]
        assessed = await http.post("/assistant", json={"text": "5분 타이머 맞춰 줘"})
        assert assessed.status_code == 503  # refused before the skill could start a timer
        blocking.release.set()
    assert results[texts[0]].status_code == 200
    assert results[texts[1]].status_code == 200


async def test_an_assistant_reply_owed_after_its_skill_waits_for_room_in_the_queue(
    test_voice_dir: Path, tmp_path: Path, base_synthesizer: Synthesizer
) -> None:
    """The queue fills between the capacity check and the reply: the reply waits, then is spoken."""
    blocking = BlockingSynthesizer(base_synthesizer)
    settings = make_settings(test_voice_dir, tmp_path, queue_size=1, max_batch_size=1, batch_wait_ms=0.0)
    app = app_with_voice(settings, blocking)
    texts = distinct_texts(2)
    skill_ran, proceed = threading.Event(), threading.Event()
    results: dict[str, httpx.Response] = {}
    async with live_client(app) as http, anyio.create_task_group() as group:
        assistant = app.state.assistant
        ask = assistant.ask

        def ask_then_hold(text: str) -> AssistantReply:
            answer = ask(text)
            skill_ran.set()
            if not proceed.wait(timeout=30):
                raise RuntimeError("the test never let the assistant go on")
            return answer

        assistant.ask = ask_then_hold

        async def post(key: str, path: str, text: str) -> None:
            results[key] = await http.post(path, json={"text": text})

        group.start_soon(post, "first", "/speak", texts[0])
        await wait_until(blocking.started.is_set)  # the worker holds the first request
        group.start_soon(post, "assistant", "/assistant", "5분 타이머 맞춰 줘")
        await wait_until(skill_ran.is_set)  # the timer runs: its reply is owed
        group.start_soon(post, "second", "/speak", texts[1])
        await wait_until(lambda: app.state.speech.worker.depth == 1)  # now the queue is full
        proceed.set()
        await anyio.sleep(0.3)
        assert "assistant" not in results  # waiting for room, not answered without audio
        blocking.release.set()
        await wait_until(lambda: len(results) == 3)
        assert len(assistant.store.timers()) == 1
    answer = results["assistant"]
    assert answer.status_code == 200 and answer.headers["x-sori-audio-status"] == "ok"
    assert read_wav(base64.b64decode(answer.json()["audio"]))[3] > 0
    assert results["first"].status_code == results["second"].status_code == 200


async def test_request_timeout_gives_504(
    test_voice_dir: Path, tmp_path: Path, base_synthesizer: Synthesizer
) -> None:
    blocking = BlockingSynthesizer(base_synthesizer)
    app = app_with_voice(make_settings(test_voice_dir, tmp_path, request_timeout_s=0.5), blocking)
    async with live_client(app) as http:
        response = await http.post("/speak", json={"text": "가"})
        blocking.release.set()
        assert response.status_code == 504
        assert set(response.json()) == {"detail"}
        # The synthesis already under way still finishes and fills the cache for the next asker.
        worker = app.state.speech.worker
        await wait_until(lambda: worker.requests_served == 1)
        again = await http.post("/speak", json={"text": "가"})
        assert again.status_code == 200 and again.headers["x-sori-cache"] == "hit"


async def test_a_failing_batch_fails_only_its_requests(
    test_voice_dir: Path, tmp_path: Path, base_synthesizer: Synthesizer
) -> None:
    failing = ScriptedSynthesizer(base_synthesizer, fail=lambda call, texts: call == 1)
    app = app_with_voice(make_settings(test_voice_dir, tmp_path), failing)
    async with live_client(app) as http:
        failed = await http.post("/speak", json={"text": "가"})
        assert failed.status_code == 500
        assert set(failed.json()) == {"detail"}
        assert "CUDA" not in failed.text and "secret" not in failed.text
        again = await http.post("/speak", json={"text": "가"})
        assert again.status_code == 200  # failures are not cached, and the worker carries on
        assert read_wav(again.content)[3] > 0
        exposition = (await http.get("/metrics")).text
    assert metric(exposition, "sori_failed_batches_total") == 1
    assert failing.calls == 2


async def test_worker_stop_fails_queued_requests_with_not_ready(base_synthesizer: Synthesizer) -> None:
    blocking = BlockingSynthesizer(base_synthesizer)
    worker = InferenceWorker(queue_size=4, max_batch_size=1, batch_wait_s=0.0)
    worker.start()
    options = SynthesisOptions()
    running = worker.submit(blocking, blocking.analyze("가"), options, timeout_s=30)
    await wait_until(blocking.started.is_set)
    queued = worker.submit(blocking, blocking.analyze("나"), options, timeout_s=30)
    async with anyio.create_task_group() as group:
        # Ask to stop while the first batch is still blocked, then let it finish: the queued
        # request must be refused, never picked up (releasing first would race the worker).
        group.start_soon(anyio.to_thread.run_sync, worker.stop)
        await wait_until(lambda: not worker.alive)
        blocking.release.set()
    assert (await running).waveform.size > 0
    with pytest.raises(NotReadyError):
        await queued
    assert not worker.alive
    with pytest.raises(NotReadyError):
        worker.submit(blocking, blocking.analyze("다"), options, timeout_s=30)


async def test_worker_refuses_when_its_queue_is_full(base_synthesizer: Synthesizer) -> None:
    blocking = BlockingSynthesizer(base_synthesizer)
    worker = InferenceWorker(queue_size=1, max_batch_size=1, batch_wait_s=0.0)
    worker.start()
    try:
        first = worker.submit(blocking, blocking.analyze("가"), SynthesisOptions(), timeout_s=30)
        await wait_until(blocking.started.is_set)
        second = worker.submit(blocking, blocking.analyze("나"), SynthesisOptions(), timeout_s=30)
        with pytest.raises(QueueFullError) as refused:
            worker.submit(blocking, blocking.analyze("다"), SynthesisOptions(), timeout_s=30)
        assert refused.value.status_code == 503 and "Retry-After" in refused.value.headers
        blocking.release.set()
        await first
        await second
        assert worker.batches_served == 2 and worker.requests_served == 2
    finally:
        blocking.release.set()
        await anyio.to_thread.run_sync(worker.stop)


def test_cache_evicts_least_recently_used_by_count_and_size() -> None:
    cache: SingleFlightCache[str] = SingleFlightCache(max_entries=2, max_bytes=10, size_of=len)
    cache.put("a", "1111")
    cache.put("b", "2222")
    assert cache.get("a") == "1111"  # now a is the most recent
    cache.put("c", "3333")
    assert cache.get("b") is None and cache.get("a") == "1111" and cache.get("c") == "3333"
    cache.put("d", "55555")  # 4 + 4 + 5 > 10 bytes: the oldest goes
    assert len(cache) == 2 and cache.total_bytes <= 10
    cache.put("huge", "x" * 11)  # larger than the whole cache: not kept
    assert cache.get("huge") is None
    disabled: SingleFlightCache[str] = SingleFlightCache(max_entries=0, max_bytes=10, size_of=len)
    disabled.put("a", "1")
    assert disabled.get("a") is None


async def test_cache_shares_in_flight_work_and_forgets_failures() -> None:
    cache: SingleFlightCache[str] = SingleFlightCache(max_entries=8, max_bytes=1000, size_of=len)
    calls = 0
    gate = asyncio.Event()

    async def compute() -> str:
        nonlocal calls
        calls += 1
        await gate.wait()
        if calls == 1:
            raise ValueError("first attempt fails")
        return "value"

    first, lookup_first = cache.fetch("k", compute)
    second, lookup_second = cache.fetch("k", compute)
    assert (lookup_first, lookup_second) == ("miss", "shared") and first is second
    gate.set()
    with pytest.raises(ValueError):
        await first
    third, lookup_third = cache.fetch("k", compute)
    assert lookup_third == "miss"
    assert await third == "value"
    hit, lookup_hit = cache.fetch("k", compute)
    assert lookup_hit == "hit" and hit.done() and await hit == "value"
    assert calls == 2


def test_settings_read_sori_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SORI_QUEUE_SIZE", "7")
    monkeypatch.setenv("SORI_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("SORI_API_KEY", "")
    monkeypatch.setenv("SORI_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.queue_size == 7
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.api_key is None
    assert settings.data_dir == tmp_path
    monkeypatch.setenv("SORI_CORS_ORIGINS", json.dumps(["https://c.example"]))
    assert Settings().cors_origins == ["https://c.example"]
    with pytest.raises(ValueError, match="device"):
        Settings(device="tpu")
    monkeypatch.setenv("SORI_CUDA_GRAPHS", "false")
    monkeypatch.setenv("SORI_SWITCH_INTERVAL_MS", "0.5")
    assert Settings().cuda_graphs is False and Settings().switch_interval_ms == 0.5
    with pytest.raises(ValueError, match="switch_interval_ms"):
        Settings(switch_interval_ms=0)


async def test_cache_cancels_abandoned_work_only_when_nobody_else_waits() -> None:
    cache: SingleFlightCache[str] = SingleFlightCache(max_entries=8, max_bytes=1000, size_of=len)
    gate = asyncio.Event()

    async def compute() -> str:
        await gate.wait()
        return "value"

    first, _ = cache.fetch("k", compute)
    second, lookup = cache.fetch("k", compute)
    assert lookup == "shared"
    assert not cache.leave("k", first, abandon=True)  # another request still waits for it
    assert cache.leave("k", second, abandon=True)  # the last one hung up: the work is cancelled
    with pytest.raises(asyncio.CancelledError):
        await first
    third, lookup = cache.fetch("k", compute)
    assert lookup == "miss" and third is not first  # a newcomer starts afresh
    assert not cache.leave("k", third)  # a timeout leaves the work running for the next asker
    gate.set()
    assert await third == "value"
    assert cache.get("k") == "value"
    assert not cache.leave("k", third, abandon=True)  # finished work is never cancelled


async def test_the_worker_hands_freed_memory_back_once_idle(
    test_voice_dir: Path, tmp_path: Path
) -> None:
    app = create_app(make_settings(test_voice_dir, tmp_path))
    async with live_client(app) as http:
        worker = app.state.speech.worker
        if platform.libc_ver()[0] == "glibc":
            assert worker.heap.available
        before = worker.heap.trims
        assert (await http.post("/speak", json={"text": "안녕"})).status_code == 200
        await wait_until(lambda: worker.heap.trims > before or not worker.heap.available)
