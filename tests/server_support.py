"""Helpers for the server tests: settings for the tiny test voice, a live app client, a free port,
a uvicorn thread, `sori serve` as a subprocess, real Synthesizer subclasses that block or fail, and Prometheus text parsing."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import wave
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from server import Settings
from tts import FrontendResult, SynthesisOptions, SynthesisResult, Synthesizer

BASE_URL = "http://sori.test"


def make_settings(voice_dir: Path, data_dir: Path, **overrides: Any) -> Settings:
    """Settings for the test voice on the CPU, no warm-up, data under a temporary directory, and
    one worker thread (so what waits in the queue behind a held batch does not depend on the
    machine's cores)."""
    values: dict[str, Any] = dict(
        voice=str(voice_dir), device="cpu", data_dir=data_dir, warmup=False, batch_wait_ms=5.0,
        cpu_workers=1,
    )
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def live_client(app: FastAPI, raise_app_exceptions: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and yield an HTTP client talking to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=120) as client:
            yield client


def assert_json_error(response: httpx.Response, status: int) -> str:
    """The response has the status and a JSON {"detail": ...} body; returns the detail as text."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail"}
    return json.dumps(body["detail"], ensure_ascii=False)


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def uvicorn_server(app: FastAPI) -> Iterator[str]:
    """Serve the app with a real uvicorn on 127.0.0.1 (a free port) in a thread; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def read_wav(data: bytes) -> tuple[int, int, int, int]:
    """(channels, sample width in bytes, sample rate, frames) of a WAV file in memory."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", "not a RIFF/WAVE file"
    with wave.open(io.BytesIO(data)) as reader:
        return reader.getnchannels(), reader.getsampwidth(), reader.getframerate(), reader.getnframes()


def metric(text: str, sample_name: str, **labels: str) -> float:
    """Sum of the samples named sample_name whose labels include `labels`, from exposition text."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


class BlockingSynthesizer(Synthesizer):
    """The test voice, but every synthesize_analyzed call first waits until `release` is set."""

    def __init__(self, base: Synthesizer) -> None:
        super().__init__(base.config, base.model, base.device, base.max_batch_size)
        self.started = threading.Event()
        self.release = threading.Event()

    def synthesize_analyzed(
        self, analyzed: Sequence[Sequence[tuple[str, FrontendResult]]], options: SynthesisOptions | None = None
    ) -> list[SynthesisResult]:
        """Signal that a batch started, wait for the release, then synthesise for real."""
        self.started.set()
        if not self.release.wait(timeout=60):
            raise RuntimeError("the test never released the blocking synthesizer")
        return super().synthesize_analyzed(analyzed, options)


Rule = Callable[[int, list[str]], bool]
"""Decides from a synthesize_analyzed call's number (from 1) and its sentences' texts."""


class ScriptedSynthesizer(Synthesizer):
    """The test voice, but calls that `hold` picks wait until `release` is set, and calls that
    `fail` picks then raise (as a CUDA error would, with a secret-looking message)."""

    SECRET = "CUDA error: device-side assert at /secret/path.cu:42"

    def __init__(self, base: Synthesizer, *, hold: Rule | None = None, fail: Rule | None = None) -> None:
        super().__init__(base.config, base.model, base.device, base.max_batch_size)
        self.hold = hold or (lambda call, texts: False)
        self.fail = fail or (lambda call, texts: False)
        self.release = threading.Event()
        self.calls = 0
        self._count = threading.Lock()

    def synthesize_analyzed(
        self, analyzed: Sequence[Sequence[tuple[str, FrontendResult]]], options: SynthesisOptions | None = None
    ) -> list[SynthesisResult]:
        """Hold, fail or synthesise, as the rules say for this call."""
        with self._count:
            self.calls += 1
            call = self.calls
        texts = [text for sentences in analyzed for text, _ in sentences]
        if self.hold(call, texts) and not self.release.wait(timeout=120):
            raise RuntimeError("the test never released the held synthesis")
        if self.fail(call, texts):
            raise RuntimeError(self.SECRET)
        return super().synthesize_analyzed(analyzed, options)


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> float:
    """Poll until condition() holds; the seconds it took (fails the test naming `what` on timeout)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)
    return time.monotonic() - started


@contextmanager
def sori_serve(voice: Path, data_dir: Path, log: Path, **env: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`sori serve --voice VOICE` on a free port with extra SORI_* env; yields it once /healthz answers."""
    port = free_port()
    environment = dict(os.environ, SORI_DATA_DIR=str(data_dir), SORI_WARMUP="false", **env)
    command = [sys.executable, "-m", "sori", "serve", "--voice", str(voice), "--device", "cpu",
               "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT, text=True)

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"sori serve exited early with {process.returncode}:\n{log.read_text()}")
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(answers, "sori serve to answer /healthz", timeout_s=120)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
