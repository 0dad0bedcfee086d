"""Synthesis in child processes (SORI_INFERENCE_PROCESSES): the same audio as in process, failures
that stay with their batch, a dead child started again, and no child left behind at shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch

from server import create_app
from server.errors import (
    OutOfMemoryError,
    ProcessRestartingError,
    RequestTimeoutError,
    SynthesisFailedError,
)
from server.inference_process import Failure, InferenceProcess, InferenceProcessError
from server.worker import InferenceWorker
from tests.server_support import live_client, make_settings, sori_serve, wait_for
from tests.voice_factory import make_test_voice
from tts import SynthesisOptions, Synthesizer
from tts.synthesizer import VoiceSource

TEXTS = ["안녕하세요. 오늘은 날씨가 좋네요.", "반갑습니다."]


@contextmanager
def one_thread() -> Iterator[None]:
    """Compare at one intra-op thread on both sides, as the child runs (sums round per thread count)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def synthesizer(test_voice_dir: Path) -> Synthesizer:
    return Synthesizer.load(test_voice_dir, device="cpu")


@pytest.fixture
def child(synthesizer: Synthesizer) -> Iterator[InferenceProcess]:
    assert synthesizer.source is not None
    process = InferenceProcess("test", synthesizer.source, intra_op_threads=1)
    process.start()
    try:
        yield process
    finally:
        process.close()


def _children(pid: int) -> set[int]:
    """Process ids of pid's children (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def test_the_child_synthesises_what_the_server_process_would(
    synthesizer: Synthesizer, child: InferenceProcess
) -> None:
    analyzed = [synthesizer.analyze(text) for text in TEXTS]
    options = SynthesisOptions(speed=1.25)
    with one_thread():
        remote = child.synthesize(synthesizer, analyzed, options)
        local = synthesizer.synthesize_analyzed(analyzed, options)
    assert len(remote) == len(local) == 2
    for theirs, ours in zip(remote, local, strict=True):
        assert np.array_equal(theirs.waveform, ours.waveform)
        assert [s.text for s in theirs.sentences] == [s.text for s in ours.sentences]
        for a, b in zip(theirs.sentences, ours.sentences, strict=True):
            assert (a.alignment == b.alignment).all() and a.health == b.health


def test_a_failing_batch_fails_alone_and_the_child_serves_on(
    synthesizer: Synthesizer, child: InferenceProcess
) -> None:
    pid = child.pid
    with pytest.raises(InferenceProcessError, match="no neural vocoder") as failure:
        child.synthesize(synthesizer, [synthesizer.analyze("안녕.")], SynthesisOptions(vocoder="neural"))
    assert failure.value.failure is Failure.FAILED  # a bad request, not worth retrying
    assert child.synthesize(synthesizer, [synthesizer.analyze("안녕.")], SynthesisOptions())
    assert child.pid == pid and child.starts == 1


def test_a_killed_child_is_started_again(synthesizer: Synthesizer, child: InferenceProcess) -> None:
    pid = child.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    analyzed = [synthesizer.analyze("다시 시작합니다.")]
    try:  # the death may be seen before sending (a new child at once) or while waiting (503, then new)
        results = child.synthesize(synthesizer, analyzed, SynthesisOptions())
    except InferenceProcessError as error:
        assert error.failure is Failure.STOPPED and "stopped during a batch" in str(error)
        results = child.synthesize(synthesizer, analyzed, SynthesisOptions())
    assert len(results) == 1 and results[0].waveform.size > 0
    assert child.starts == 2 and child.pid not in (None, pid)


def test_a_voice_the_child_cannot_load_fails_the_start(tmp_path: Path) -> None:
    source = VoiceSource(str(tmp_path / "missing"), "cpu", 8, False, "auto")
    process = InferenceProcess("broken", source)
    with pytest.raises(InferenceProcessError, match="could not load its voice") as failure:
        process.start()
    assert failure.value.failure is Failure.FAILED and process.pid is None


def test_a_synthesizer_built_in_memory_is_refused(synthesizer: Synthesizer, child: InferenceProcess) -> None:
    in_memory = Synthesizer(synthesizer.config, synthesizer.model, synthesizer.device)
    with pytest.raises(ValueError, match="built in memory"):
        child.synthesize(in_memory, [in_memory.analyze("안녕.")], SynthesisOptions())


def test_the_worker_wants_one_process_per_thread(synthesizer: Synthesizer) -> None:
    assert synthesizer.source is not None
    with pytest.raises(ValueError, match="one inference process per worker thread"):
        InferenceWorker(queue_size=4, max_batch_size=2, batch_wait_s=0.0, threads=2,
                        processes=[InferenceProcess("x", synthesizer.source)])


@pytest.mark.anyio
async def test_served_audio_is_the_same_with_inference_processes(test_voice_dir: Path, tmp_path: Path) -> None:
    bodies = {}
    for processes in (False, True):
        app = create_app(make_settings(test_voice_dir, tmp_path / str(processes), cpu_workers=2, cache_size=0,
                                       inference_processes=processes))
        async with live_client(app) as client:
            worker = app.state.speech.worker
            assert len(worker.processes) == (2 if processes else 0)
            pids = [process.pid for process in worker.processes]
            assert all(pid is not None and pid in _children(os.getpid()) for pid in pids)
            answers = [await client.post("/speak", json={"text": text}) for text in TEXTS]
            stream = await client.post("/speak", json={"text": TEXTS[0], "stream": True})
            assert all(answer.status_code == 200 for answer in [*answers, stream])
            bodies[processes] = ([answer.content for answer in answers], stream.content)
        assert all(pid not in _children(os.getpid()) for pid in pids)  # stopped with the app
    assert bodies[True] == bodies[False]


def test_sori_serve_with_inference_processes_drains_and_leaves_no_child(test_voice_dir: Path,
                                                                        tmp_path: Path) -> None:
    with sori_serve(test_voice_dir, tmp_path, tmp_path / "serve.log", SORI_INFERENCE_PROCESSES="true",
                    SORI_CPU_WORKERS="2") as (process, url):
        wait_for(lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 200, "readiness", timeout_s=120)
        children = _children(process.pid)
        spawned = [pid for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(spawned) == 2  # one inference process per worker thread
        answer = httpx.post(f"{url}/speak", json={"text": "안녕하세요."}, timeout=60)
        assert answer.status_code == 200 and answer.content[:4] == b"RIFF"
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, (tmp_path / "serve.log").read_text()
    # The inference processes, and multiprocessing's resource tracker, exit with the server.
    wait_for(lambda: all(_state(pid) in "ZX" for pid in children), "the children to exit", timeout_s=30)


def _state(pid: int) -> str:
    """A process's state letter from /proc (Z: a zombie, already dead)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return "X"  # gone



def test_closing_without_waiting_kills_the_child_that_ignores_sigterm(synthesizer: Synthesizer) -> None:
    """A cut-off drain: the child ignores SIGTERM (the server drains it), so it is killed."""
    assert synthesizer.source is not None
    process = InferenceProcess("busy", synthesizer.source, intra_op_threads=1)
    process.start()
    pid = process.pid
    assert pid is not None
    os.kill(pid, signal.SIGTERM)  # ignored: the server decides when its children stop
    assert process.synthesize(synthesizer, [synthesizer.analyze("안녕.")], SynthesisOptions())
    process.close(wait=False)
    assert _state(pid) in "ZX" and process.pid is None


def test_closing_while_a_batch_waits_fails_it_cleanly_and_starts_nothing(synthesizer: Synthesizer) -> None:
    """A cut-off drain closes the process while its worker thread waits on the child: the batch
    ends with STOPPED (or its results, if it finished first), never another error, and no child
    is started afterwards."""
    assert synthesizer.source is not None
    process = InferenceProcess("closing", synthesizer.source, intra_op_threads=1)
    process.start()
    analyzed = [synthesizer.analyze("오늘은 날씨가 정말 좋네요. " * 6) for _ in range(4)]
    outcome: list[object] = []

    def batch() -> None:
        try:
            outcome.append(process.synthesize(synthesizer, analyzed, SynthesisOptions()))
        except Exception as error:  # recorded for the assertion below
            outcome.append(error)

    thread = threading.Thread(target=batch)
    thread.start()
    process.close(wait=False)
    thread.join(60)
    assert not thread.is_alive() and len(outcome) == 1
    result = outcome[0]
    assert isinstance(result, list) or (isinstance(result, InferenceProcessError)
                                        and result.failure is Failure.STOPPED), result
    with pytest.raises(InferenceProcessError, match="closed") as closed:
        process.synthesize(synthesizer, [synthesizer.analyze("안녕.")], SynthesisOptions())
    assert closed.value.failure is Failure.STOPPED and process.starts == 1 and process.pid is None


def test_a_batch_past_its_deadline_kills_the_child_and_the_next_starts_another(
    synthesizer: Synthesizer, child: InferenceProcess
) -> None:
    pid = child.pid
    with pytest.raises(InferenceProcessError, match="took longer than") as late:
        child.synthesize(synthesizer, [synthesizer.analyze("안녕하세요.")], SynthesisOptions(), timeout_s=0.0)
    assert late.value.failure is Failure.TIMED_OUT and pid is not None and _state(pid) in "ZX"
    assert child.synthesize(synthesizer, [synthesizer.analyze("안녕하세요.")], SynthesisOptions(), timeout_s=120)
    assert child.starts == 2


def test_another_voice_loads_in_the_child(synthesizer: Synthesizer, child: InferenceProcess, tmp_path: Path) -> None:
    other = Synthesizer.load(make_test_voice(tmp_path / "other", seed=3, name="other"), device="cpu")
    analyzed = [other.analyze(TEXTS[0])]
    with one_thread():
        remote = child.synthesize(other, analyzed, SynthesisOptions())
        local = other.synthesize_analyzed(analyzed, SynthesisOptions())
        default = synthesizer.synthesize_analyzed(analyzed, SynthesisOptions())
    assert np.array_equal(remote[0].waveform, local[0].waveform)
    assert not np.array_equal(remote[0].waveform, default[0].waveform)


def test_a_server_that_exits_without_closing_its_child_does_not_hang(test_voice_dir: Path) -> None:
    """multiprocessing joins daemon children at exit after a SIGTERM, which ours ignore; the
    process's finalizer kills them first."""
    script = (
        "from server.inference_process import InferenceProcess\n"
        "from tts import Synthesizer\n"
        "if __name__ == '__main__':\n"
        f"    synthesizer = Synthesizer.load({str(test_voice_dir)!r}, device='cpu')\n"
        "    process = InferenceProcess('left', synthesizer.source, 1)\n"
        "    process.start()\n"
        "    print(process.pid, flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    child_pid = int(done.stdout.split()[0])
    wait_for(lambda: _state(child_pid) in "ZX", "the child to be gone", timeout_s=30)


@pytest.mark.parametrize(("failure", "status"), [
    (Failure.FAILED, SynthesisFailedError), (Failure.OUT_OF_MEMORY, OutOfMemoryError),
    (Failure.STOPPED, ProcessRestartingError), (Failure.TIMED_OUT, RequestTimeoutError),
])
def test_each_failure_is_answered_with_its_status(failure: Failure, status: type) -> None:
    worker = InferenceWorker(queue_size=4, max_batch_size=2, batch_wait_s=0.0)
    error = worker._batch_error(InferenceProcessError("x", failure))()
    assert isinstance(error, status)
    assert (error.status_code, "Retry-After" in error.headers) == {
        SynthesisFailedError: (500, False), OutOfMemoryError: (503, True),
        ProcessRestartingError: (503, True), RequestTimeoutError: (504, False)}[status]

