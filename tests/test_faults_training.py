"""SIGKILL at random moments: `sori train --resume` continues from the newest complete checkpoint,
no checkpoint is ever half written, no run file is broken, and the run ends exactly where one never
interrupted ends."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import tiny_train_config
from tests.fault_support import (
    kill_session,
    start_sori,
    stop_session,
    wait_for,
    write_tiny_checkpoint,
)
from tts.training import checkpoint as ckpt
from tts.training.config import TrainConfig
from tts.training.loop import train
from tts.training.metrics import METRICS_FILE, append_metrics, read_metrics, trim_metrics
from tts.training.runtime import TRAIN_CONFIG_FILE

SEED = 8
TRIALS = ("random", "write", "random", "write", "random")
"""How each trial picks its moment: a seeded random point a few steps into training (mid-step,
mid-evaluation or mid-checkpoint, wherever it falls), or the instant a checkpoint's temporary
directory appears (a kill inside the checkpoint write)."""
CONFIG = tiny_train_config(max_steps=1000, checkpoint_interval=2, eval_interval=4, keep_last_k=2,
                           device="cpu")
"""Checkpoints every two steps, so kills often land in or near a write; the killed processes never
reach max_steps, and the last one is resumed with --max_steps set to where the test stops."""
MIN_FINAL_STEP = 8
WRITE_ATTEMPTS = 25
"""Checkpoint writes a "write" trial may let pass before giving up: it catches a write by polling
for the temporary directory, which on fast storage can be renamed before the poll sees it."""
RUN_FILES = {"alignments", "checkpoints", "metrics.jsonl", "tensorboard", "train.log", "train_config.json"}
CHECKPOINT_FILES = sorted([ckpt.META_FILE, ckpt.WEIGHTS_FILE, ckpt.STATE_FILE])
WRITING = re.compile(r"\.tmp-step_\d{8}-\d+")
DISCARDING = re.compile(r"\.tmp-step_\d{8}-discarded-\d+")
TEMPORARY_FILE = re.compile(r"\..+\.tmp")
RESUMED = re.compile(r"resumed from \S+ at step (\d+)|no complete checkpoint yet: resuming from step (0)")
TRAINED = re.compile(r"step (\d+): loss")


def _cli_overrides(config: TrainConfig) -> list[str]:
    """`--key=value` arguments that turn the default TrainConfig into `config`."""
    def text(value: object) -> str:
        if isinstance(value, list):
            return ",".join(map(str, value))
        return str(value).lower() if isinstance(value, bool) else str(value)

    default, wanted = TrainConfig().to_dict(), config.to_dict()
    arguments = [f"--model.{key}={text(value)}" for key, value in wanted.pop("model").items()]
    arguments += [f"--loss.{key}={text(value)}" for key, value in wanted.pop("loss").items()
                  if value != default["loss"][key]]
    return arguments + [f"--{key}={text(value)}" for key, value in wanted.items() if value != default[key]]


def _logged_step(log: Path, pattern: re.Pattern[str], at_least: int = 0) -> int | None:
    """The largest step `pattern` reports in log, if one is >= at_least."""
    steps = [int(next(group for group in match.groups() if group is not None))
             for match in pattern.finditer(log.read_text(encoding="utf-8", errors="replace"))]
    return max(steps) if steps and max(steps) >= at_least else None


def _writing(run_dir: Path) -> bool | None:
    """True while a checkpoint is being written (its temporary directory exists)."""
    root = ckpt.checkpoint_dir(run_dir)
    try:
        return True if any(WRITING.fullmatch(entry.name) for entry in os.scandir(root)) else None
    except FileNotFoundError:
        return None


def _kill_mid_write(process: subprocess.Popen[bytes], run_dir: Path, log: Path) -> int:
    """SIGKILL the run inside a checkpoint write; returns how many writes finished first
    (WRITE_ATTEMPTS: none was caught, and the kill landed wherever the run was).

    Polling alone races the rename, so the session is frozen (SIGSTOP) the moment a temporary
    directory is seen and killed only if the write is still under way; otherwise it is let go
    (SIGCONT) on to the next checkpoint."""
    for passed in range(WRITE_ATTEMPTS):
        wait_for(lambda: _writing(run_dir), process, log, poll=0.0005)
        os.killpg(process.pid, signal.SIGSTOP)
        _, status = os.waitpid(process.pid, os.WUNTRACED)  # returns once the whole process stopped
        assert os.WIFSTOPPED(status), f"the process ended ({status}):\n{log.read_text()[-3000:]}"
        if _writing(run_dir):
            kill_session(process, log)
            return passed
        os.killpg(process.pid, signal.SIGCONT)
    kill_session(process, log)
    return WRITE_ATTEMPTS


def _check_run_dir(run_dir: Path, max_steps: int) -> tuple[int, list[Path]]:
    """Assert a (killed) run directory is sound; returns the newest complete checkpoint's step
    (0 without one) and the temporary files and directories the kill left behind."""
    temporary = [p for p in run_dir.iterdir() if p.name not in RUN_FILES]
    assert all(TEMPORARY_FILE.fullmatch(p.name) for p in temporary), temporary
    saved = TrainConfig.from_dict(json.loads((run_dir / TRAIN_CONFIG_FILE).read_text(encoding="utf-8")))
    assert saved == replace(CONFIG, max_steps=max_steps)
    metrics = (run_dir / METRICS_FILE).read_text(encoding="utf-8") if (run_dir / METRICS_FILE).exists() else ""
    lines = metrics.splitlines()
    whole = lines if metrics.endswith("\n") or not lines else lines[:-1]  # a kill may cut the last line
    assert [json.loads(line)["step"] for line in whole] == [entry["step"] for entry in read_metrics(run_dir)]
    steps = []
    root = ckpt.checkpoint_dir(run_dir)
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if re.fullmatch(r"step_\d{8}", entry.name):
            assert sorted(p.name for p in entry.iterdir()) == CHECKPOINT_FILES, entry
            loaded = ckpt.load_checkpoint(entry)
            assert loaded.meta.step == loaded.progress.step == int(entry.name[5:])
            assert all(torch.isfinite(value).all() for value in loaded.model_state.values())
            steps.append(loaded.progress.step)
        elif entry.name == ckpt.BEST_FILE:
            best = json.loads(entry.read_text(encoding="utf-8"))
            assert (root / best["checkpoint"] / ckpt.META_FILE).is_file(), best
        elif any(p.fullmatch(entry.name) for p in (WRITING, DISCARDING, TEMPORARY_FILE)):
            temporary.append(entry)
        else:
            pytest.fail(f"unexpected {entry}")
    assert [step for step, _ in ckpt.list_checkpoints(run_dir)] == steps
    return max(steps, default=0), temporary


def test_training_survives_sigkill_at_random_moments(prepared_features: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    run_dir = tmp_path / "run"
    command = ["train", "--features", str(prepared_features), "--run-dir", str(run_dir), "--threads=1"]
    newest = 0
    left: list[Path] = []
    landed: list[str] = []
    resumed_from: list[int | None] = []
    writes_passed: list[int] = []
    for trial, how in enumerate(TRIALS):
        log = tmp_path / f"trial{trial}.log"
        process = start_sori(log, *command, *(["--resume"] if trial else _cli_overrides(CONFIG)))
        try:
            if trial:
                resumed_from.append(wait_for(partial(_logged_step, log, RESUMED), process, log))
                assert resumed_from[-1] == newest
                assert not [path for path in left if path.exists()]  # cleaned before resuming
            if how == "write":
                writes_passed.append(_kill_mid_write(process, run_dir, log))
            else:
                target = newest + rng.randint(1, 3)
                wait_for(partial(_logged_step, log, TRAINED, target), process, log)
                time.sleep(rng.uniform(0.0, 0.5))
                kill_session(process, log)
        finally:
            stop_session(process)
        newest, left = _check_run_dir(run_dir, CONFIG.max_steps)
        landed.append("write" if any(WRITING.fullmatch(path.name) for path in left) else
                      "delete" if any(DISCARDING.fullmatch(path.name) for path in left) else "step")
        if trial == 2:  # as if the kill had cut the metrics log mid-line, past the last checkpoint
            logged = read_metrics(run_dir)
            with (run_dir / METRICS_FILE).open("a", encoding="utf-8") as stream:
                stream.write(json.dumps({"step": newest + 1, "val/total": 1.25})[:15])
            assert read_metrics(run_dir) == logged
    assert "write" in landed, (landed, writes_passed)

    final_step = max(MIN_FINAL_STEP, newest + CONFIG.eval_interval) // CONFIG.eval_interval * CONFIG.eval_interval
    log = tmp_path / "final.log"
    process = start_sori(log, *command, "--resume", f"--max_steps={final_step}")
    try:
        assert process.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        stop_session(process)
    resumed_from.append(_logged_step(log, RESUMED))
    assert resumed_from[-1] == newest
    assert _check_run_dir(run_dir, final_step) == (final_step, [])
    assert [e["step"] for e in read_metrics(run_dir)] == list(range(CONFIG.eval_interval, final_step + 1,
                                                                     CONFIG.eval_interval))
    print(f"\nkills: {len(TRIALS)} ({landed.count('write')} mid-checkpoint-write, "
          f"{landed.count('delete')} mid-checkpoint-delete, {landed.count('step')} elsewhere: {landed}; "
          f"checkpoint writes each write trial let finish first: {writes_passed}); "
          f"resumed from steps {resumed_from}; finished at step {final_step}")

    # Evaluation touches no weight and no RNG stream, so the uninterrupted reference skips it.
    reference = tmp_path / "uninterrupted"
    train(prepared_features, reference, replace(CONFIG, max_steps=final_step, eval_interval=10**6,
                                                checkpoint_interval=final_step))
    name = f"step_{final_step:08d}"
    expected = load_file(str(ckpt.checkpoint_dir(reference) / name / ckpt.WEIGHTS_FILE))
    resumed = load_file(str(ckpt.checkpoint_dir(run_dir) / name / ckpt.WEIGHTS_FILE))
    assert expected.keys() == resumed.keys()
    for key in expected:
        torch.testing.assert_close(resumed[key], expected[key], rtol=1e-5, atol=1e-6, msg=key)


def test_a_kill_while_deleting_a_checkpoint_leaves_no_partial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pruning renames a checkpoint out of `step_*` before deleting it: killed half-way, the run
    lists only whole checkpoints, and the next start clears the remains."""
    run_dir = tmp_path / "run"
    for step in (2, 4, 6):
        write_tiny_checkpoint(run_dir, step)
    (ckpt.checkpoint_dir(run_dir) / ".best.json.x1y2.tmp").write_text("{")  # a cut atomic write
    rmtree = shutil.rmtree

    def killed_half_way(path: str | Path, ignore_errors: bool = False) -> None:
        if Path(path).is_dir():
            (Path(path) / ckpt.WEIGHTS_FILE).unlink()  # one file gone, the others still there
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(ckpt.shutil, "rmtree", killed_half_way)
    with pytest.raises(KeyboardInterrupt):
        ckpt.prune_checkpoints(run_dir, keep_last_k=1)
    monkeypatch.setattr(ckpt.shutil, "rmtree", rmtree)
    listed = ckpt.list_checkpoints(run_dir)
    assert [step for step, _ in listed] == [4, 6]
    assert all(ckpt.load_checkpoint(path).progress.step == step for step, path in listed)
    ckpt.remove_incomplete(run_dir)
    assert sorted(p.name for p in ckpt.checkpoint_dir(run_dir).iterdir()) == ["step_00000004", "step_00000006"]


def test_the_metrics_log_tolerates_a_cut_line_and_trims_to_the_resumed_step(tmp_path: Path) -> None:
    for step in (4, 8, 12):
        append_metrics(tmp_path, {"step": step, "val/total": 1.0 / step})
    path = tmp_path / METRICS_FILE
    path.write_bytes(path.read_bytes() + b'{"step": 16, "val/to')  # killed mid-append
    assert [entry["step"] for entry in read_metrics(tmp_path)] == [4, 8, 12]
    trim_metrics(tmp_path, 8)  # resuming from step 8: evaluations 12 and 16 will be redone
    assert path.read_text(encoding="utf-8").splitlines() == [
        json.dumps({"step": 4, "val/total": 0.25}), json.dumps({"step": 8, "val/total": 0.125})]
    stamp = path.stat().st_mtime_ns
    trim_metrics(tmp_path, 8)
    assert path.stat().st_mtime_ns == stamp  # nothing to trim: not rewritten


def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_0(
    prepared_features: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / TRAIN_CONFIG_FILE).write_text(json.dumps(replace(CONFIG, max_steps=2).to_dict()))
    append_metrics(run_dir, {"step": 4, "val/total": 1.0})  # an evaluation the kill made moot
    (ckpt.checkpoint_dir(run_dir) / ".tmp-step_00000002-99").mkdir(parents=True)
    result = train(prepared_features, run_dir, resume=True)
    assert result.step == 2 and [step for step, _ in ckpt.list_checkpoints(run_dir)] == [2]
    assert read_metrics(run_dir) == [] and not list(ckpt.checkpoint_dir(run_dir).glob(".tmp-*"))
