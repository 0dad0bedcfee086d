"""Helpers of the fault tests: `python -m sori ...` as a real subprocess that a test can SIGKILL at
a chosen moment, and real checkpoints of the tiny Tacotron written without training."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import torch

from tests.conftest import tiny_tacotron_config
from tts.audio import AudioConfig
from tts.model import Tacotron
from tts.text import TextConfig, default_symbol_table
from tts.training import checkpoint as ckpt
from tts.training.config import PrepareConfig, TrainConfig

REPO = Path(__file__).resolve().parents[1]

T = TypeVar("T")


def sori_environment() -> dict[str, str]:
    """The test's environment, one OpenMP thread, and this checkout importable."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def start_sori(log: Path, *arguments: str) -> subprocess.Popen[bytes]:
    """`python -m sori ARGUMENTS` in its own session (so a kill reaches all of it), output to log."""
    with log.open("wb") as stream:
        return subprocess.Popen([sys.executable, "-m", "sori", *arguments], stdout=stream,
                                stderr=subprocess.STDOUT, env=sori_environment(), start_new_session=True)


def wait_for(find: Callable[[], T | None], process: subprocess.Popen[bytes], log: Path,
             poll: float = 0.01, timeout: float = 180.0) -> T:
    """Poll `find` until it returns a value; fail if the process exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        found = find()
        if found is not None:
            return found
        if process.poll() is not None:
            pytest.fail(f"the process exited ({process.returncode}) first:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting:\n{log.read_text()[-3000:]}")
        time.sleep(poll)


def kill_session(process: subprocess.Popen[bytes], log: Path) -> None:
    """SIGKILL the process and everything in its session; it must still be running."""
    assert process.poll() is None, f"finished before the kill:\n{log.read_text()[-2000:]}"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def stop_session(process: subprocess.Popen[bytes]) -> None:
    """Leave nothing of the session running when a test fails half-way (workers included)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def write_tiny_checkpoint(run_dir: Path, step: int) -> Path:
    """A real checkpoint of an untrained tiny Tacotron at `step`, written by the checkpoint module."""
    model = Tacotron(tiny_tacotron_config())
    optimizer = torch.optim.AdamW(model.parameters())
    return ckpt.save_checkpoint(
        run_dir, model_state=model.state_dict(), optimizer_state=optimizer.state_dict(), scaler_state={},
        progress=ckpt.Progress(step=step), rng_states=[ckpt.capture_rng_state()], meta=_untrained_run_meta(),
    )


def _untrained_run_meta() -> ckpt.RunMeta:
    """A run description for a checkpoint made without training (no features behind it)."""
    return ckpt.RunMeta(
        train_config=TrainConfig(), model_config=tiny_tacotron_config(), audio=AudioConfig(),
        text=TextConfig(), symbols=default_symbol_table(), prepare=PrepareConfig(), features_dir="",
        corpus=None, git_commit=None, world_size=1, device="cpu", torch=torch.__version__, precision="fp32",
    )
