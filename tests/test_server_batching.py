"""Batches on a CPU: the queue groups requests of one kind and similar length around the oldest,
never more than the cap; several worker threads serve batches at the same time, and stop, abandon
and the settings still hold with more than one."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import pytest

from server import Settings, create_app
from server.batching import BatchQueue
from server.errors import NotReadyError, ShuttingDownError
from server.settings import usable_cores
from server.worker import ABANDONED_DETAIL, InferenceWorker
from tests.server_support import live_client, make_settings, metric
from tts import FrontendResult, SynthesisOptions, SynthesisResult, Synthesizer

SHORT, LONG = "가", "가나다라마바사아자차"


@pytest.fixture
def anyio_backend() -> str:
    """Run the async tests on asyncio (the loop uvicorn uses)."""
    return "asyncio"


class HeldSynthesizer(Synthesizer):
    """The test voice; every call records its texts, counts the calls under way, then waits for
    `release` before synthesising for real."""

    def __init__(self, base: Synthesizer) -> None:
        super().__init__(base.config, base.model, base.device, base.max_batch_size)
        self.release = threading.Event()
        self.batches: list[list[str]] = []
        self.under_way = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def synthesize_analyzed(
        self, analyzed: Sequence[Sequence[tuple[str, FrontendResult]]], options: SynthesisOptions | None = None
    ) -> list[SynthesisResult]:
        """Record, wait for the release, synthesise."""
        with self._lock:
            self.batches.append([sentence for sentences in analyzed for sentence, _ in sentences])
            self.under_way += 1
            self.most_at_once = max(self.most_at_once, self.under_way)
        try:
            if not self.release.wait(timeout=60):
                raise RuntimeError("the test never released the synthesizer")
            return super().synthesize_analyzed(analyzed, options)
        finally:
            with self._lock:
                self.under_way -= 1


async def wait_until(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Poll a condition set by another thread."""
    with anyio.fail_after(timeout_s):
        while not condition():
            await anyio.sleep(0.01)


def lengths_queue(maxsize: int = 16) -> BatchQueue[tuple[str, int]]:
    """A queue of (kind, length) pairs."""
    return BatchQueue(maxsize, kind_of=lambda item: item[0], length_of=lambda item: item[1])


def test_a_batch_is_the_oldest_and_the_nearest_in_length_of_its_kind() -> None:
    jobs = lengths_queue()
    items = [("a", 40), ("a", 10), ("b", 41), ("a", 90), ("a", 38), ("a", 45), ("a", 12), ("a", 40)]
    for item in items:
        jobs.put_nowait(item)
    # The oldest (a, 40) leads; of kind a the nearest are 40, 38 and 45; ties go to the older.
    assert jobs.take(max_size=4, wait_s=0.0, timeout_s=0.0) == [("a", 40), ("a", 38), ("a", 45), ("a", 40)]
    assert jobs.take(max_size=4, wait_s=0.0, timeout_s=0.0) == [("a", 10), ("a", 90), ("a", 12)]
    assert jobs.take(max_size=4, wait_s=0.0, timeout_s=0.0) == [("b", 41)]
    assert jobs.take(max_size=4, wait_s=0.0, timeout_s=0.0) == [] and jobs.qsize() == 0


def test_no_batch_exceeds_its_cap_and_every_item_is_taken_once() -> None:
    jobs = lengths_queue(maxsize=64)
    items = [("a", (index * 37) % 50) for index in range(50)]
    for item in items:
        jobs.put_nowait(item)
    batches = []
    while batch := jobs.take(max_size=8, wait_s=0.0, timeout_s=0.0):
        batches.append(batch)
    assert all(1 <= len(batch) <= 8 for batch in batches)
    assert sorted(item for batch in batches for item in batch) == sorted(items)
    assert batches[0][0] == items[0]  # the oldest is never passed over


def test_the_queue_is_bounded() -> None:
    jobs = lengths_queue(maxsize=2)
    jobs.put_nowait(("a", 1))
    jobs.put_nowait(("a", 2))
    assert jobs.full()
    with pytest.raises(queue.Full):
        jobs.put_nowait(("a", 3))
    assert jobs.take_all() == [("a", 1), ("a", 2)] and not jobs.full()


def test_a_taker_waits_for_a_burst_to_fill_its_batch() -> None:
    jobs = lengths_queue()
    taken: list[list[tuple[str, int]]] = []
    taker = threading.Thread(target=lambda: taken.append(jobs.take(max_size=3, wait_s=60.0, timeout_s=60.0)))
    taker.start()
    for length in (5, 6, 7):
        jobs.put_nowait(("a", length))
    taker.join(30)  # returns as soon as the third arrives, long before its 60 s window
    assert not taker.is_alive() and taken == [[("a", 5), ("a", 6), ("a", 7)]]


@pytest.mark.anyio
async def test_two_worker_threads_serve_two_batches_at_once(base_synthesizer: Synthesizer) -> None:
    held = HeldSynthesizer(base_synthesizer)
    worker = InferenceWorker(queue_size=8, max_batch_size=1, batch_wait_s=0.0, threads=2, intra_op_threads=1)
    worker.start()
    try:
        options = SynthesisOptions()
        answers = [worker.submit(held, held.analyze(text), options, timeout_s=60) for text in ("가", "나", "다")]
        await wait_until(lambda: held.under_way == 2)  # both threads hold a batch; the third waits
        assert worker.busy_threads == 2 and worker.depth == 1
        held.release.set()
        results = await asyncio.gather(*answers)
    finally:
        held.release.set()
        await anyio.to_thread.run_sync(worker.stop)
    assert all(result.waveform.size > 0 for result in results)
    assert held.most_at_once == 2 and worker.requests_served == 3 and worker.batches_served == 3


@pytest.mark.anyio
async def test_a_worker_thread_batches_like_lengths_together(base_synthesizer: Synthesizer) -> None:
    held = HeldSynthesizer(base_synthesizer)
    worker = InferenceWorker(queue_size=8, max_batch_size=2, batch_wait_s=0.0)
    worker.start()
    try:
        options = SynthesisOptions()
        first = worker.submit(held, held.analyze("하"), options, timeout_s=60)
        await wait_until(lambda: held.under_way == 1)  # the thread holds the first request
        texts = [f"{LONG}{index}" if index % 2 else f"{SHORT}{index}" for index in range(4)]
        answers = [worker.submit(held, held.analyze(text), options, timeout_s=60) for text in texts]
        held.release.set()
        await asyncio.gather(first, *answers)
    finally:
        held.release.set()
        await anyio.to_thread.run_sync(worker.stop)
    # Queued short, long, short, long: the shorts go together, then the longs.
    assert held.batches == [["하"], [texts[0], texts[2]], [texts[1], texts[3]]]


@pytest.mark.anyio
async def test_abandon_answers_every_thread_s_batch_and_the_queue_at_once(base_synthesizer: Synthesizer) -> None:
    held = HeldSynthesizer(base_synthesizer)
    worker = InferenceWorker(queue_size=8, max_batch_size=1, batch_wait_s=0.0, threads=2)
    worker.start()
    try:
        options = SynthesisOptions()
        answers = [worker.submit(held, held.analyze(text), options, timeout_s=60) for text in ("가", "나", "다")]
        await wait_until(lambda: held.under_way == 2 and worker.depth == 1)
        worker.abandon()
        for answer in answers:
            with pytest.raises(ShuttingDownError) as refused:
                await answer
            assert refused.value.detail == ABANDONED_DETAIL
        assert not worker.alive
    finally:
        held.release.set()
        await anyio.to_thread.run_sync(worker.stop)


@pytest.mark.anyio
async def test_stop_lets_every_thread_finish_its_batch_and_refuses_the_queue(
    base_synthesizer: Synthesizer,
) -> None:
    held = HeldSynthesizer(base_synthesizer)
    worker = InferenceWorker(queue_size=8, max_batch_size=1, batch_wait_s=0.0, threads=2)
    worker.start()
    options = SynthesisOptions()
    answers = [worker.submit(held, held.analyze(text), options, timeout_s=60) for text in ("가", "나", "다")]
    await wait_until(lambda: held.under_way == 2 and worker.depth == 1)
    async with anyio.create_task_group() as group:
        # Stop while both batches are held, then let them finish (see the single-thread test).
        group.start_soon(anyio.to_thread.run_sync, worker.stop)
        await wait_until(lambda: not worker.alive)
        held.release.set()
    assert (await answers[0]).waveform.size > 0 and (await answers[1]).waveform.size > 0
    with pytest.raises(NotReadyError):
        await answers[2]


def test_cpu_workers_default_to_the_cores_and_the_cpu_batch_cap_applies_only_there(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.cpu_workers is None and settings.worker_threads(on_cpu=True) == usable_cores()
    assert settings.worker_threads(on_cpu=False) == 1
    assert settings.batch_limit(on_cpu=True) == 8 and settings.batch_limit(on_cpu=False) == 64
    chosen = Settings(data_dir=tmp_path, cpu_workers=3, cpu_max_batch_size=4, max_batch_size=2)
    assert chosen.worker_threads(on_cpu=True) == 3 and chosen.batch_limit(on_cpu=True) == 2
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, cpu_workers=0)


@pytest.mark.anyio
async def test_the_app_serves_with_several_cpu_workers_and_caps_its_batches(
    test_voice_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings(test_voice_dir, tmp_path, cpu_workers=2, cpu_max_batch_size=3, batch_wait_ms=20.0)
    app = create_app(settings)
    texts = [chr(0xAC00 + 29 * index) for index in range(12)]
    async with live_client(app) as http:
        worker = app.state.speech.worker
        assert worker.threads == 2 and worker.max_batch_size == 3
        responses = await asyncio.gather(*(http.post("/speak", json={"text": t}) for t in texts))
        exposition = (await http.get("/metrics")).text
    assert [r.status_code for r in responses] == [200] * len(texts)
    assert metric(exposition, "sori_batch_size_sum") == len(texts)
    assert metric(exposition, "sori_batch_size_count") >= len(texts) / 3  # none above the cap
