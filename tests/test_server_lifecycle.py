"""The server's lifecycle over real sockets: `sori serve` drains on SIGTERM (readiness false first,
new work 503, admitted work finished, exit 0), cuts a drain off at its time limit or a second
signal (what is unfinished answered 503 at once, exit 1), exits 3 when it cannot start, starts
degraded with a voice that cannot load, and drops the work of clients that hang up before their
audio is ready. The lifespan closes the assistant's store, and `server.app` needs no uvicorn."""

from __future__ import annotations

import ast
import json
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

import server
from assistant import StoreUnavailableError
from server import create_app
from server.deps import get_voices
from server.voice_registry import VoiceRegistry
from server.worker import ABANDONED_DETAIL, InferenceWorker
from sori.cli import main
from tests.server_support import (
    live_client,
    make_settings,
    metric,
    read_wav,
    sori_serve,
    uvicorn_server,
    wait_for,
)
from tts import FrontendResult, SynthesisOptions, SynthesisResult, Synthesizer

DRAIN_TIMEOUT_S = 30.0
LONG_SENTENCE = "가나다라마바사아자차카타파하" * 3
"""No punctuation, so one sentence of many symbols: the slow voice decodes hundreds of steps."""


@pytest.fixture(scope="module")
def slow_voice_dir(test_voice_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test voice allowed 1,000 decoder steps (not 120): a long sentence then takes about
    0.2 s alone on a fast idle CPU, so work queued behind it surely outlasts a few probes."""
    voice = tmp_path_factory.mktemp("voices") / "test-slow"
    shutil.copytree(test_voice_dir, voice)
    config = json.loads((voice / "config.json").read_text(encoding="utf-8"))
    config["model"]["max_decoder_steps"] = 1000
    (voice / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return voice


def long_texts(count: int, sentences: int = 1) -> list[str]:
    """`count` different texts of `sentences` long sentences each (different, so none is shared)."""
    return [". ".join(f"{chr(0xAC00 + 29 * index)}{LONG_SENTENCE}" for _ in range(sentences)) + "."
            for index in range(count)]


def queue_up(pool: ThreadPoolExecutor, url: str, texts: Sequence[str]) -> list[Future[httpx.Response]]:
    """Once the server is ready, POST each text to /speak from the pool; return when 3 or more wait
    in the queue (so work is surely unfinished when the caller signals the server)."""
    wait_for(lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 200, "readiness", 60)
    answers = [pool.submit(httpx.post, f"{url}/speak", json={"text": t}, timeout=60) for t in texts]
    wait_for(lambda: metric(httpx.get(f"{url}/metrics").text, "sori_queue_depth") >= 3,
             "requests to queue up")
    return answers


SERIAL = {"SORI_MAX_BATCH_SIZE": "1", "SORI_BATCH_WAIT_MS": "0", "SORI_GRIFFIN_LIM_ITERS": "32",
          "SORI_CPU_WORKERS": "1"}
"""One sentence at a time on one worker thread, so requests queue up behind each other."""


def test_sori_serve_drains_on_sigterm_then_exits_0(slow_voice_dir: Path, tmp_path: Path) -> None:
    # Three or more long requests still queued when SIGTERM comes: seconds of work on this machine,
    # about a second on a fast idle one, against the probes' few milliseconds.
    env = {**SERIAL, "SORI_DRAIN_TIMEOUT_S": str(DRAIN_TIMEOUT_S)}
    texts = long_texts(6)
    log = tmp_path / "serve.log"
    with (
        sori_serve(slow_voice_dir, tmp_path / "data", log, **env) as (process, url),
        ThreadPoolExecutor(len(texts)) as pool,
    ):
        answers = queue_up(pool, url, texts)
        in_flight = sum(not answer.done() for answer in answers)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        not_ready_after = wait_for(
            lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 503, "/readyz to turn 503"
        )
        readiness = httpx.get(f"{url}/readyz", timeout=5).json()
        refused = httpx.post(f"{url}/speak", json={"text": "새 요청"}, timeout=10)
        still_running = sum(not answer.done() for answer in answers)
        responses = [answer.result() for answer in answers]
        exit_code = process.wait(timeout=DRAIN_TIMEOUT_S)
        drain_s = time.monotonic() - signalled
    served = sum(r.status_code == 200 and read_wav(r.content)[3] > 0 for r in responses)
    # A request still on its way in when the signal came (on a busy machine) is refused as a new one
    # would be; every admitted one (at least the 3 queued) is served.
    late = [r for r in responses if r.status_code != 200]
    print(f"\nSIGTERM with {in_flight} request(s) in flight: {served}/{len(texts)} served 200, "
          f"{len(late)} refused on arrival, /readyz 503 after {not_ready_after:.2f} s, "
          f"drain {drain_s:.2f} s, exit {exit_code}")
    assert in_flight >= 3 and still_running >= 1  # the probes ran while work was still draining
    assert readiness == {"detail": "not ready: the server is shutting down"}
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
    assert "shutting down" in refused.json()["detail"]
    assert served >= 3 and served + len(late) == len(texts)
    assert all(r.status_code == 503 and "shutting down" in r.json()["detail"] for r in late)
    assert exit_code == 0 and drain_s < DRAIN_TIMEOUT_S
    assert "drained in" in log.read_text()


@pytest.mark.parametrize("cut_by", ["time-limit", "second-signal"])
def test_a_drain_cut_off_answers_the_unfinished_503_and_exits_1_at_once(
    cut_by: str, slow_voice_dir: Path, tmp_path: Path
) -> None:
    # Five requests of two long sentences: one running and three or more queued when SIGTERM comes,
    # several seconds of work here (well over a second on a fast idle machine), so the 0.5 s
    # limit or the second signal always finds some of it unfinished.
    drain_timeout_s = 0.5 if cut_by == "time-limit" else DRAIN_TIMEOUT_S
    env = {**SERIAL, "SORI_DRAIN_TIMEOUT_S": str(drain_timeout_s)}
    texts = long_texts(5, sentences=2)
    log = tmp_path / "serve.log"
    with (
        sori_serve(slow_voice_dir, tmp_path / "data", log, **env) as (process, url),
        ThreadPoolExecutor(len(texts)) as pool,
    ):
        answers = queue_up(pool, url, texts)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        cut = signalled + drain_timeout_s  # when the limit runs out (it counts from the signal)
        if cut_by == "second-signal":
            wait_for(lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 503, "the drain")
            cut = time.monotonic()
            process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=30)
        exit_s = time.monotonic() - cut
        responses = [answer.result() for answer in answers]
    output = log.read_text()
    served = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 503]
    unfinished = int(output.split("drain cut off with ")[1].split()[0])
    print(f"\ndrain cut off by {cut_by}: exit {exit_code} {exit_s:.2f} s after the cut, "
          f"{unfinished} unfinished, {len(refused)} answered 503, {len(served)} served 200")
    assert exit_code == 1 and exit_s < 3.0
    assert len(served) + len(refused) == len(texts) and refused
    assert all(r.json() == {"detail": ABANDONED_DETAIL} and r.headers["retry-after"] == "1" for r in refused)
    # A request whose audio was done at the very moment of the cut is counted but still served.
    assert len(refused) <= unfinished <= len(refused) + 1
    reason = "drain time limit of 0.5 s reached" if cut_by == "time-limit" else "second signal: drain cut off"
    assert reason in output and "drained in" not in output


def test_sori_serve_exits_3_when_the_port_is_taken(
    test_voice_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SORI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SORI_WARMUP", "false")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = main(["serve", "--voice", str(test_voice_dir), "--device", "cpu",
                       "--host", "127.0.0.1", "--port", str(port)])
    assert status == 3
    assert f"sori serve: the server did not start on 127.0.0.1:{port}" in capsys.readouterr().err


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_lifespan_closes_the_assistant_store(test_voice_dir: Path, tmp_path: Path) -> None:
    app = create_app(make_settings(test_voice_dir, tmp_path))
    async with live_client(app) as http:
        assistant = app.state.assistant
        assert (await http.post("/assistant", json={"text": "우유를 장보기 목록에 추가해줘"})).status_code == 200
        assert assistant.store.shopping_items() == ["우유"]
    assert app.state.assistant is None
    with pytest.raises(StoreUnavailableError, match="closed"):
        assistant.store.shopping_items()


def test_only_the_process_runner_imports_uvicorn() -> None:
    """`server.app` runs under any ASGI server: of the server package, only server/serving.py
    (the process runner `sori serve` uses) may import uvicorn."""
    package = Path(server.__file__).parent
    importers = []
    for module in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name.split(".")[0] == "uvicorn" for name in names):
                importers.append(module.relative_to(package).as_posix())
    assert importers == ["serving.py"]


def test_sori_serve_with_a_voice_that_cannot_load_serves_degraded(
    test_voice_dir: Path, tmp_path: Path
) -> None:
    voice = tmp_path / "ko-broken"
    voice.mkdir()
    (voice / "config.json").write_bytes((test_voice_dir / "config.json").read_bytes())
    (voice / "model.safetensors").write_bytes((test_voice_dir / "model.safetensors").read_bytes()[:4096])
    log = tmp_path / "serve.log"
    with sori_serve(voice, tmp_path / "data", log) as (process, url):
        ready = httpx.get(f"{url}/readyz", timeout=5)
        speak = httpx.post(f"{url}/speak", json={"text": "가"}, timeout=10)
        healthy = httpx.get(f"{url}/healthz", timeout=5)
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=DRAIN_TIMEOUT_S)
    reason = "the default voice ko-broken could not be loaded: ko-broken/model.safetensors is not a readable"
    assert ready.status_code == 503 and ready.json()["detail"].startswith(f"not ready: {reason}")
    assert speak.status_code == 503 and speak.json()["detail"].startswith(reason)
    assert healthy.status_code == 200
    assert exit_code == 0
    output = log.read_text()
    assert f"{voice}/model.safetensors is not a readable safetensors file" in output  # the full path, logged
    assert "serving degraded" in output


class GatedSynthesizer(Synthesizer):
    """The test voice behind two gates (the frontend and synthesis each wait while theirs is closed)
    that records every text it synthesises."""

    def __init__(self, base: Synthesizer) -> None:
        super().__init__(base.config, base.model, base.device, base.max_batch_size)
        self.frontend_open = threading.Event()
        self.synthesis_open = threading.Event()
        self.analyzing = threading.Event()
        self.analyzed = threading.Event()
        self.synthesizing = threading.Event()
        self.synthesized: list[str] = []
        """Sentences handed to synthesis, in order (written by the worker thread)."""

    def analyze(self, text: str, options: SynthesisOptions | None = None) -> list[tuple[str, FrontendResult]]:
        """Wait for the frontend gate, then read the text for real."""
        self.analyzing.set()
        if not self.frontend_open.wait(timeout=60):
            raise RuntimeError("the test never opened the frontend gate")
        try:
            return super().analyze(text, options)
        finally:
            self.analyzed.set()

    def synthesize_analyzed(
        self, analyzed: Sequence[Sequence[tuple[str, FrontendResult]]], options: SynthesisOptions | None = None
    ) -> list[SynthesisResult]:
        """Record the texts, wait for the synthesis gate, then synthesise for real."""
        self.synthesized.extend(sentence for sentences in analyzed for sentence, _ in sentences)
        self.synthesizing.set()
        if not self.synthesis_open.wait(timeout=60):
            raise RuntimeError("the test never opened the synthesis gate")
        return super().synthesize_analyzed(analyzed, options)


@dataclass
class Gated:
    """A running uvicorn whose requests use a GatedSynthesizer."""

    synthesizer: GatedSynthesizer
    url: str
    app: FastAPI

    @property
    def worker(self) -> InferenceWorker:
        """The app's inference worker."""
        worker: InferenceWorker = self.app.state.speech.worker
        return worker

    def metric(self, name: str, **labels: str) -> float:
        """A metric's value, read from the app's registry."""
        return metric(self.app.state.metrics.render().decode(), name, **labels)


@pytest.fixture
def gated(test_voice_dir: Path, tmp_path: Path) -> Iterator[Gated]:
    """A real uvicorn on 127.0.0.1 (a free port) whose requests use a GatedSynthesizer."""
    synthesizer = GatedSynthesizer(Synthesizer.load(test_voice_dir, device="cpu"))
    app = create_app(make_settings(test_voice_dir, tmp_path))
    registry = VoiceRegistry.from_synthesizers({"gated": synthesizer}, "gated")
    app.dependency_overrides[get_voices] = lambda: registry
    try:
        with uvicorn_server(app) as url:
            yield Gated(synthesizer, url, app)
    finally:
        synthesizer.frontend_open.set()
        synthesizer.synthesis_open.set()


def post_and_hang_up_later(url: str, text: str) -> socket.socket:
    """Send POST /speak over a raw socket and leave it open; closing it is the client hanging up."""
    address = urlsplit(url)
    sock = socket.create_connection((address.hostname, address.port))
    body = json.dumps({"text": text}).encode()
    head = (f"POST /speak HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    sock.sendall(head + body)
    return sock


def test_queued_requests_whose_clients_hang_up_are_never_synthesised(gated: Gated) -> None:
    synthesizer, url, worker = gated.synthesizer, gated.url, gated.worker
    synthesizer.frontend_open.set()
    leavers = [chr(0xB098 + 29 * index) for index in range(5)]
    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(httpx.post, f"{url}/speak", json={"text": "가"}, timeout=60)
        wait_for(synthesizer.synthesizing.is_set, "the worker to take the first request")
        stayer = pool.submit(httpx.post, f"{url}/speak", json={"text": "하하"}, timeout=60)
        wait_for(lambda: worker.depth == 1, "the shared request to queue")
        sharer = post_and_hang_up_later(url, "하하")  # joins the same synthesis, then leaves it
        wait_for(lambda: gated.metric("sori_cache_lookups_total", result="shared") == 1, "the sharer to join")
        sockets = [post_and_hang_up_later(url, text) for text in leavers]
        wait_for(lambda: worker.depth == 1 + len(leavers), "the leavers to queue")
        for sock in [sharer, *sockets]:
            sock.close()
        wait_for(lambda: gated.metric("sori_cancelled_requests_total") == 1 + len(leavers), "the hang-ups")
        synthesizer.synthesis_open.set()
        assert holder.result().status_code == 200
        assert stayer.result().status_code == 200  # the shared synthesis went on without the sharer
    wait_for(lambda: worker.depth == 0 and worker.jobs_cancelled == len(leavers), "the queue to empty")
    assert synthesizer.synthesized == ["가", "하하"]
    after = httpx.post(f"{url}/speak", json={"text": "다음"}, timeout=60)
    assert after.status_code == 200 and read_wav(after.content)[3] > 0
    assert worker.requests_served == 3 and worker.depth == 0
    assert gated.metric("sori_cancelled_requests_total") == 1 + len(leavers)
    assert gated.metric("sori_http_requests_total", route="/speak", status="499") == 1 + len(leavers)
    print(f"\n{1 + len(leavers)} clients hung up while queued ({len(leavers)} alone, 1 sharing): "
          f"{worker.jobs_cancelled} jobs dropped, {len(synthesizer.synthesized) - 3} of theirs synthesised, "
          f"queue depth {worker.depth}")


def test_a_client_that_hangs_up_during_the_frontend_is_never_queued(gated: Gated) -> None:
    synthesizer, url, worker = gated.synthesizer, gated.url, gated.worker
    leaver = post_and_hang_up_later(url, "가")
    wait_for(synthesizer.analyzing.is_set, "the frontend to start")
    leaver.close()
    wait_for(lambda: gated.metric("sori_cancelled_requests_total") == 1, "the hang-up")
    synthesizer.synthesis_open.set()
    synthesizer.frontend_open.set()
    wait_for(synthesizer.analyzed.is_set, "the frontend to finish")
    after = httpx.post(f"{url}/speak", json={"text": "나"}, timeout=60)
    assert after.status_code == 200
    assert synthesizer.synthesized == ["나"]
    assert worker.batches_served == 1 and worker.jobs_cancelled == 0 and worker.depth == 0
