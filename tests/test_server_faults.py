"""Faults the server survives: a default voice that exists but cannot be loaded (the app starts
degraded and says why; `sori speak` names the problem and fails), another voice that cannot be
loaded (503 with the reason, remembered; the other voices keep serving), and a batch that raises
inside the model (only its requests fail: out of memory, on the GPU or the CPU, 503 with
Retry-After, anything else a plain 500; the worker carries on)."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import httpx
import pytest
import torch

from server import create_app
from server.deps import get_voices
from server.voice_registry import VoiceRegistry
from server.worker import is_out_of_memory
from sori.cli import main
from tests.server_support import live_client, make_settings, metric, read_wav
from tts import FrontendResult, SynthesisOptions, SynthesisResult, Synthesizer

pytestmark = pytest.mark.anyio

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


@pytest.fixture
def anyio_backend() -> str:
    """Run the async tests on asyncio (the loop uvicorn uses)."""
    return "asyncio"


def truncate_weights(voice: Path) -> None:
    """Cut model.safetensors in half, as an interrupted copy would."""
    data = (voice / WEIGHTS).read_bytes()
    (voice / WEIGHTS).write_bytes(data[: len(data) // 2])


def garble_weights(voice: Path) -> None:
    """Replace model.safetensors with bytes that are not safetensors at all."""
    (voice / WEIGHTS).write_bytes(bytes(range(256)) * 64)


def widen_the_model(voice: Path) -> None:
    """Make config.json's model wider than the weights (a config from another training run)."""
    config = json.loads((voice / CONFIG).read_text(encoding="utf-8"))
    config["model"]["embedding_dim"] += 8
    (voice / CONFIG).write_text(json.dumps(config), encoding="utf-8")


BREAKAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated-weights": (truncate_weights, f"{WEIGHTS} is not a readable safetensors file"),
    "garbage-weights": (garble_weights, f"{WEIGHTS} is not a readable safetensors file"),
    "config-does-not-fit-weights": (widen_the_model, "shape mismatch: encoder.embedding.weight"),
}
"""How a voice is broken -> what the reason must say."""


@pytest.fixture(params=sorted(BREAKAGES))
def broken_voice(request: pytest.FixtureRequest, test_voice_dir: Path, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the test voice broken one way, and the phrase its load error must contain."""
    breakage, phrase = BREAKAGES[request.param]
    voice = tmp_path / "ko-broken"
    shutil.copytree(test_voice_dir, voice)
    breakage(voice)
    return voice, phrase


async def test_a_voice_that_cannot_load_leaves_the_app_up_but_not_ready(
    broken_voice: tuple[Path, str], tmp_path: Path
) -> None:
    voice, phrase = broken_voice
    app = create_app(make_settings(voice, tmp_path / "data"))
    async with live_client(app) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        reason = ready.json()["detail"]
        assert reason.startswith("not ready: the default voice ko-broken could not be loaded: ")
        assert phrase in reason and f"ko-broken/{WEIGHTS}" in reason
        assert str(tmp_path) not in reason  # the server's own paths stay in its log
        requests = (("/speak", {"text": "가"}), ("/speak/alignment", {"text": "가"}),
                    ("/v1/audio/speech", {"input": "가"}), ("/assistant", {"text": "5분 타이머 맞춰 줘"}))
        for path, body in requests:
            refused = await http.post(path, json=body)
            assert refused.status_code == 503, path
            assert refused.json() == {"detail": reason.removeprefix("not ready: ")}, path
        listed = (await http.get("/voices")).json()
        assert listed["default"] == "ko-broken"
        assert not next(v for v in listed["voices"] if v["name"] == "ko-broken")["loaded"]
        assert (await http.get("/healthz")).status_code == 200  # still serving after the refusals
    assert app.state.speech is None  # no worker was started for a voice that never loaded


async def test_a_broken_second_voice_answers_503_while_the_others_keep_serving(
    test_voice_dir: Path, tmp_path: Path
) -> None:
    voices = tmp_path / "voices"
    broken = voices / "ko-broken"
    shutil.copytree(test_voice_dir, broken)
    truncate_weights(broken)
    app = create_app(make_settings(test_voice_dir, tmp_path / "data", voices_dir=voices))
    async with live_client(app) as http:
        first = await http.post("/speak", json={"text": "가", "voice": "ko-broken"})
        assert first.status_code == 503 and "retry-after" not in first.headers  # broken until a restart
        reason = first.json()["detail"]
        assert reason.startswith(f"voice ko-broken could not be loaded: ko-broken/{WEIGHTS} is not a readable")
        assert str(tmp_path) not in reason
        # Repaired on disk: a retry would now load it, but the failure is remembered.
        shutil.copy(test_voice_dir / WEIGHTS, broken / WEIGHTS)
        requests = (("/speak", {"text": "나", "voice": "ko-broken"}),
                    ("/speak/alignment", {"text": "나", "voice": "ko-broken"}),
                    ("/v1/audio/speech", {"input": "나", "voice": "ko-broken"}))
        for path, body in requests:
            refused = await http.post(path, json=body)
            assert (refused.status_code, refused.json()) == (503, {"detail": reason}), path
        served = await http.post("/speak", json={"text": "가"})
        assert served.status_code == 200 and served.headers["x-sori-voice"] == "test-tiny"
        assert read_wav(served.content)[3] > 0
        assert (await http.get("/readyz")).status_code == 200
        listed = {v["name"]: v for v in (await http.get("/voices")).json()["voices"]}
    assert listed["ko-broken"]["error"] == reason and not listed["ko-broken"]["loaded"]
    assert listed["test-tiny"]["error"] is None and listed["test-tiny"]["loaded"]
    assert not app.state.voices.is_loaded("ko-broken")


def test_sori_speak_names_what_is_wrong_with_a_broken_voice(
    broken_voice: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voice, phrase = broken_voice
    output = tmp_path / "out.wav"
    assert main(["speak", "--voice", str(voice), "--device", "cpu", "-o", str(output), "안녕하세요"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("sori speak: ") and phrase in error and str(voice) in error
    assert not output.exists()


class FaultySynthesizer(Synthesizer):
    """The test voice, for fault injection in tests only: the first call waits for `release`, and
    the first batch holding a text in `fail_texts` raises `fault` instead of synthesising."""

    def __init__(self, base: Synthesizer, fail_texts: set[str], fault: Exception) -> None:
        super().__init__(base.config, base.model, base.device, base.max_batch_size)
        self.fail_texts = fail_texts
        self.fault: Exception | None = fault
        self.started = threading.Event()
        self.release = threading.Event()
        self.batches: list[list[str]] = []
        """Texts of every call, in order (written by the worker thread)."""

    def synthesize_analyzed(
        self, analyzed: Sequence[Sequence[tuple[str, FrontendResult]]], options: SynthesisOptions | None = None
    ) -> list[SynthesisResult]:
        """Record the batch, hold the first one, fail once on a marked text, else synthesise."""
        texts = [sentence for sentences in analyzed for sentence, _ in sentences]
        self.batches.append(texts)
        self.started.set()
        if not self.release.wait(timeout=60):
            raise RuntimeError("the test never released the synthesizer")
        if self.fault is not None and self.fail_texts & set(texts):
            fault, self.fault = self.fault, None
            raise fault
        return super().synthesize_analyzed(analyzed, options)


async def wait_until(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Poll a condition set by another thread."""
    with anyio.fail_after(timeout_s):
        while not condition():
            await anyio.sleep(0.01)


def test_what_counts_as_running_out_of_memory() -> None:
    allocator = "DefaultCPUAllocator: can't allocate memory: you tried to allocate 8 bytes. Error code 12"
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory")) and is_out_of_memory(MemoryError())
    assert is_out_of_memory(cpu_allocation_failure()) and is_out_of_memory(RuntimeError(allocator))
    assert not is_out_of_memory(RuntimeError("CUDA error: device-side assert"))
    assert not is_out_of_memory(ValueError(allocator))  # only PyTorch's RuntimeError says it so
    assert not is_out_of_memory(RuntimeError("shape mismatch near [enforce fail at alloc_cpu.cpp:1]"))


def cpu_allocation_failure() -> RuntimeError:
    """The error PyTorch raises for a CPU tensor it cannot allocate (4 EiB: more than any address
    space), as it raised it: "[enforce fail at alloc_cpu.cpp:…] … DefaultCPUAllocator: …"."""
    try:
        torch.empty(2**62, dtype=torch.uint8)
    except RuntimeError as error:
        return error
    raise AssertionError("allocating 4 EiB succeeded")


@pytest.mark.parametrize(
    ("make_fault", "status"),
    [
        (lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB at /secret/alloc.cu"), 503),
        (cpu_allocation_failure, 503),
        (MemoryError, 503),
        (lambda: RuntimeError("CUDA error: device-side assert at /secret/path.cu:42"), 500),
    ],
    ids=["out-of-memory", "cpu-out-of-memory", "python-out-of-memory", "other-error"],
)
async def test_a_batch_that_raises_fails_only_its_own_requests(
    make_fault: Callable[[], Exception], status: int, test_voice_dir: Path, tmp_path: Path
) -> None:
    base = Synthesizer.load(test_voice_dir, device="cpu")
    faulty = FaultySynthesizer(base, fail_texts={"나", "다"}, fault=make_fault())
    settings = make_settings(test_voice_dir, tmp_path, max_batch_size=2, batch_wait_ms=0.0)
    app = create_app(settings)
    registry = VoiceRegistry.from_synthesizers({"faulty": faulty}, "faulty")
    app.dependency_overrides[get_voices] = lambda: registry
    async with live_client(app) as http:
        worker = app.state.speech.worker
        answers: dict[str, asyncio.Future[httpx.Response]] = {}

        async def post_and_wait_for_depth(text: str, depth: int) -> None:
            answers[text] = asyncio.ensure_future(http.post("/speak", json={"text": text}))
            await wait_until(lambda: worker.depth == depth)

        # 가 holds the worker; 나 and 다 then queue up as one batch (the faulty one), 라 as the next.
        answers["가"] = asyncio.ensure_future(http.post("/speak", json={"text": "가"}))
        await wait_until(faulty.started.is_set)
        for depth, text in enumerate(("나", "다", "라"), start=1):
            await post_and_wait_for_depth(text, depth)
        faulty.release.set()
        responses = {text: await answer for text, answer in answers.items()}
        assert faulty.batches == [["가"], ["나", "다"], ["라"]]
        for text in ("가", "라"):
            assert responses[text].status_code == 200 and read_wav(responses[text].content)[3] > 0
        for text in ("나", "다"):
            failed = responses[text]
            assert failed.status_code == status
            assert failed.headers["content-type"] == "application/json"
            assert set(failed.json()) == {"detail"}
            assert "secret" not in failed.text and "CUDA" not in failed.text
            assert ("retry-after" in failed.headers) == (status == 503)
        if status == 503:
            assert int(responses["나"].headers["retry-after"]) >= 1
            assert "out of memory" in responses["나"].json()["detail"]
        assert worker.alive
        again = await http.post("/speak", json={"text": "나"})
        assert again.status_code == 200 and again.headers["x-sori-cache"] == "miss"  # failures are not cached
        exposition = (await http.get("/metrics")).text
    assert metric(exposition, "sori_failed_batches_total") == 1
    assert metric(exposition, "sori_http_requests_total", route="/speak", status=str(status)) == 2
    assert metric(exposition, "sori_http_requests_total", route="/speak", status="200") == 3
