"""The slim install: `pip install <checkout>` with no extra, in a fresh virtual environment, has no
torch and still speaks, serves HTTP and serves Wyoming with the bundled voice's ONNX files.

It installs from the package registry (as CI can), so it takes minutes: marked slow.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from wyoming.tts import Synthesize

from tests.server_support import free_port
from tests.wyoming_support import describe, exchange, is_type, samples

CHECKOUT = Path(__file__).resolve().parents[1]
SIZE_LIMIT_MIB = 400.0
"""The slim environment's bar (issue 23), in MiB as `du -sh` counts."""

pytestmark = pytest.mark.slow


def environment_size_mib(root: Path) -> float:
    """Bytes of every file under root (the environment as installed), in MiB."""
    total = sum(path.lstat().st_size for path in root.rglob("*") if path.is_file() or path.is_symlink())
    return total / 2**20


@pytest.fixture(scope="module")
def slim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with `pip install <checkout>` (no extra); its bin directory. The checkout is
    copied first, without build outputs, so no stale build/ folder reaches the wheel."""
    root = tmp_path_factory.mktemp("slim")
    source = root / "checkout"
    shutil.copytree(CHECKOUT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "*.egg-info", ".venv*", "data", "runs", "__pycache__", ".*_cache"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_dir = venv / "bin"
    install = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(source)],
                             capture_output=True, text=True, timeout=1500)
    if install.returncode != 0:
        pytest.fail(f"pip install of the checkout failed:\n{install.stdout[-3000:]}\n{install.stderr[-3000:]}")
    return bin_dir


def slim_env(tmp_path: Path) -> dict[str, str]:
    """The environment for the slim commands: no PYTHONPATH into this checkout or the full venv."""
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return dict(environment, SORI_DATA_DIR=str(tmp_path / "data"), SORI_WARMUP="false")


def test_the_slim_environment_has_no_torch_and_fits(slim: Path, tmp_path: Path) -> None:
    probe = subprocess.run([str(slim / "python"), "-c", "import torch"], capture_output=True, text=True,
                           env=slim_env(tmp_path), cwd=tmp_path, timeout=120)
    assert probe.returncode != 0 and "No module named 'torch'" in probe.stderr
    size = environment_size_mib(slim.parent)
    print(f"slim environment: {size:.1f} MiB")
    assert size <= SIZE_LIMIT_MIB


def test_slim_sori_speak(slim: Path, tmp_path: Path) -> None:
    output = tmp_path / "hello.wav"
    run = subprocess.run([str(slim / "sori"), "speak", "안녕하세요. 소리입니다.", "-o", str(output), "--json"],
                         capture_output=True, text=True, env=slim_env(tmp_path), cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["runtime"] == "onnx" and summary["attention_ok"] and summary["seconds"] > 0.5
    assert output.read_bytes()[:4] == b"RIFF"
    refused = subprocess.run([str(slim / "sori"), "speak", "네.", "-o", str(output), "--alignment", "a.png"],
                             capture_output=True, text=True, env=slim_env(tmp_path), cwd=tmp_path, timeout=300)
    assert refused.returncode == 2 and "needs matplotlib" in refused.stderr
    torch_only = subprocess.run([str(slim / "sori"), "speak", "네.", "-o", str(output), "--runtime", "torch"],
                                capture_output=True, text=True, env=slim_env(tmp_path), cwd=tmp_path, timeout=300)
    assert torch_only.returncode == 2 and "needs torch" in torch_only.stderr


def started(command: list[str], tmp_path: Path, log: Path) -> subprocess.Popen[str]:
    """A server process of the slim environment, its output in `log`."""
    with log.open("w") as output:
        return subprocess.Popen(command, env=slim_env(tmp_path), cwd=tmp_path, stdout=output,
                                stderr=subprocess.STDOUT, text=True)


def stopped(process: subprocess.Popen[str]) -> None:
    """Stop a server process started by the test."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], log: Path, what: str) -> None:
    """Poll `condition()` until true; fails if the process exits first or 120 s pass."""
    deadline = time.monotonic() + 120
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"{what} exited early with {process.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not answer:\n{log.read_text()}")
        time.sleep(0.3)


def test_slim_sori_wyoming(slim: Path, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "wyoming.log"
    process = started([str(slim / "sori"), "wyoming", "--uri", f"tcp://127.0.0.1:{port}"], tmp_path, log)

    def answers() -> bool:
        try:
            asyncio.run(asyncio.wait_for(describe(port), timeout=10))
            return True
        except (TimeoutError, OSError):
            return False

    try:
        wait_for(answers, process, log, "sori wyoming")
        info = asyncio.run(describe(port))
        assert info.tts and info.tts[0].voices and info.tts[0].voices[0].languages == ["ko"]
        events = asyncio.run(exchange(port, [Synthesize(text="안녕하세요. 반갑습니다.").event()],
                                      is_type("audio-stop", "error")))
        assert events[0].type == "audio-start" and events[-1].type == "audio-stop"
        assert samples(events) > 22050  # over a second of speech
    finally:
        stopped(process)


def test_slim_sori_serve(slim: Path, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    process = started([str(slim / "sori"), "serve", "--port", str(port)], tmp_path, log)

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(answers, process, log, "sori serve")
        speech = httpx.post(f"{url}/speak", json={"text": "안녕하세요"}, timeout=120)
        assert speech.status_code == 200 and speech.content[:4] == b"RIFF"
        plot = httpx.post(f"{url}/speak/alignment", json={"text": "안녕하세요"}, timeout=120)
        assert plot.status_code == 501 and "matplotlib" in plot.json()["detail"]
        answer = httpx.post(f"{url}/assistant", json={"text": "지금 몇 시야?"}, timeout=120)
        assert answer.status_code == 200 and answer.json()["intent"] == "HassGetCurrentTime"
    finally:
        stopped(process)
