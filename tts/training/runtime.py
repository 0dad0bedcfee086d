"""Process-level set-up of a training run: which config it runs with, signals, threads, seeds.

Kept apart from the loop so the loop reads as the steps of training and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tts.training import checkpoint as ckpt
from tts.training.config import TrainConfig
from tts.training.distributed import DistributedContext
from tts.training.features import REPORT_FILE
from tts.training.overrides import apply_overrides

logger = logging.getLogger(__name__)

TRAIN_CONFIG_FILE = "train_config.json"
RESUMABLE_FIELDS = frozenset({
    "max_steps", "log_interval", "eval_interval", "checkpoint_interval", "keep_last_k",
    "eval_batches", "eval_sentences", "eval_griffin_lim_iters", "num_workers", "threads", "device",
    "max_bad_steps", "loss_spike_factor",
    "self_feeding_max", "self_feeding_start", "self_feeding_ramp_steps",
})
"""Settings a resumed run may change: bookkeeping that leaves its continuity intact, and scheduled
sampling, which is meant to be switched on for a run whose attention has already aligned."""


class TrainError(ValueError):
    """A run cannot start: bad run directory, config, or features."""


def resolve_config(run_dir: Path, config: TrainConfig, overrides: dict[str, Any], resume: bool) -> TrainConfig:
    """The run's TrainConfig: the saved one when resuming (only RESUMABLE_FIELDS may change)."""
    saved = run_dir / TRAIN_CONFIG_FILE
    if not resume:
        if ckpt.list_checkpoints(run_dir):
            raise TrainError(f"{run_dir} already holds checkpoints: pass --resume, or choose a new --run-dir")
        return apply_overrides(config, overrides)
    if not saved.is_file():
        raise TrainError(f"nothing to resume in {run_dir}: it has no {TRAIN_CONFIG_FILE}")
    base = TrainConfig.from_dict(json.loads(saved.read_text(encoding="utf-8")))
    frozen = sorted(key for key in overrides if key.split(".")[0] not in RESUMABLE_FIELDS)
    if frozen:
        raise TrainError(f"cannot change {', '.join(frozen)} when resuming (the run would not continue "
                         f"exactly); only {', '.join(sorted(RESUMABLE_FIELDS))} may change")
    return apply_overrides(base, overrides)


class StopFlag:
    """Set by SIGINT/SIGTERM: finish the step, write a checkpoint, return."""

    def __init__(self) -> None:
        self.requested = False


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopFlag]:
    """A StopFlag set by SIGINT/SIGTERM while the block runs (a second signal interrupts at once).

    Outside the main thread signal handlers cannot be installed, so the flag then never sets.
    """
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, _frame: object) -> None:
        if flag.requested:  # a second signal means: stop now
            raise KeyboardInterrupt
        flag.requested = True
        logger.warning("%s: stopping after this step with a checkpoint", signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def cpu_threads(config: TrainConfig, context: DistributedContext) -> int:
    """Intra-op threads for this process: config.threads, else the usable cores split among local ranks."""
    if config.threads:
        return config.threads
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, cores // context.local_world_size)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators, so a run repeats exactly."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def corpus_name(features_dir: Path) -> str | None:
    """The corpus named in the prepare report of features_dir, or None when it cannot be read."""
    try:
        return json.loads((features_dir / REPORT_FILE).read_text(encoding="utf-8")).get("corpus")
    except (OSError, ValueError):
        return None


def device_name(device: torch.device) -> str:
    """A human-readable name of the training device, for logs and run metadata."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"
