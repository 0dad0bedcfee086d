"""Training checkpoints: the one module that writes and reads them.

    RUN_DIR/checkpoints/step_00001000/
      model.safetensors     weights (loaded with safetensors: no code runs on load)
      training_state.pt     optimiser, gradient scaler, loop progress, RNG states of every rank
                            (loaded with torch.load(weights_only=True))
      checkpoint.json       format version, step, configs, symbol table, git commit, evaluation
    RUN_DIR/checkpoints/best.json   which checkpoint had the lowest validation loss

A checkpoint is written into a temporary directory and renamed into place, and one is deleted by
renaming it to a temporary name first, so a kill at any moment leaves each `step_*` directory whole
or absent, never half written or half deleted. The last `keep_last_k` and the best are kept.
"""

from __future__ import annotations

import json
import logging
import os
import pickle  # only for its exception class: nothing here unpickles outside torch.load(weights_only=True)
import random
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tts.atomic import write_bytes_atomic
from tts.audio import AudioConfig
from tts.config_io import ConfigError, JsonConfig, unversioned, versioned
from tts.model.config import TacotronConfig
from tts.paths import repo_root
from tts.text import SymbolTable, TextConfig
from tts.training.config import PrepareConfig, TrainConfig

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT_VERSION = 1
CHECKPOINT_DIR = "checkpoints"
WEIGHTS_FILE = "model.safetensors"
STATE_FILE = "training_state.pt"
META_FILE = "checkpoint.json"
BEST_FILE = "best.json"
_NAME = re.compile(r"^step_(\d{8,})$")
_TEMPORARY = ".tmp-step_*"
"""Checkpoint directories being written or deleted; a kill can leave them behind, whole or not."""
_STATE_KEYS = frozenset({"optimizer", "scaler", "progress", "rng"})
_Meta = TypeVar("_Meta", bound=JsonConfig)


class CheckpointError(ValueError):
    """A checkpoint is missing, incomplete or of another format; the message names the file."""


@dataclass
class Progress:
    """Where the training loop stands; saved in every checkpoint and restored on resume."""

    step: int = 0
    """Steps taken (batches consumed, skipped ones included)."""
    epoch: int = 0
    batch_in_epoch: int = 0
    """Batches of `epoch` already consumed by this rank."""
    skipped_steps: int = 0
    """Steps skipped for a non-finite or exploding loss or gradient."""
    bad_streak: int = 0
    """Consecutive skipped steps just before now."""
    loss_ema: float | None = None
    """Running mean of good training losses (the reference for 'exploding')."""
    train_seconds: float = 0.0
    """Wall-clock seconds spent training, over all resumptions."""
    best_val_loss: float | None = None
    """Lowest validation loss so far under the current self-feeding rate."""
    best_self_feeding_rate: float = 0.0
    """The scheduled-sampling rate best_val_loss was measured under: losses of a model trained on
    its own frames and of one trained on true frames are not comparable, so a new rate restarts it."""
    last_eval: dict[str, float] = field(default_factory=dict)
    """The latest evaluation's measures (validation losses, focus rate, diagonal score, ...)."""


@dataclass(frozen=True)
class RunMeta(JsonConfig):
    """How a run was made, as each of its checkpoints records it (nanoGPT's `model_args`, and more)."""

    train_config: TrainConfig
    model_config: TacotronConfig
    audio: AudioConfig
    text: TextConfig
    symbols: SymbolTable
    prepare: PrepareConfig
    """How the features were prepared."""
    features_dir: str
    corpus: str | None
    """The corpus named in the features' prepare report, when it names one."""
    git_commit: str | None
    """The source commit (with '-dirty' for uncommitted changes); None outside a checkout."""
    world_size: int
    """Training processes."""
    device: str
    """The training device in words (GPU name, or CPU threads)."""
    torch: str
    """torch's version."""
    precision: str
    """The precision trained in ('fp32' on a CPU; see TrainConfig.precision)."""


@dataclass(frozen=True)
class CheckpointMeta(RunMeta):
    """`checkpoint.json` (less its format version): the run's description and this checkpoint's place."""

    step: int
    created: str
    """When the checkpoint was written (ISO 8601, UTC)."""
    evaluation: dict[str, float]
    """The latest evaluation's measures at the time (empty before the first)."""


class LoadedCheckpoint(NamedTuple):
    """Everything read back from a checkpoint directory."""

    path: Path
    meta: CheckpointMeta
    model_state: dict[str, torch.Tensor]
    training_state: dict[str, Any]

    @property
    def progress(self) -> Progress:
        """The loop progress saved with the checkpoint."""
        return Progress(**self.training_state["progress"])


def capture_rng_state() -> dict[str, Any]:
    """This process's RNG states (python, numpy, torch, CUDA) as weights_only-loadable values."""
    kind, keys, position, has_gauss, cached = np.random.get_state(legacy=True)
    return {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), position, has_gauss, cached),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put back what `capture_rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def git_commit() -> str | None:
    """The source commit (with '-dirty' for uncommitted changes), or None outside a checkout."""
    root = repo_root()
    if root is None:
        return None
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head


def checkpoint_dir(run_dir: Path) -> Path:
    """Where a run's checkpoints live."""
    return Path(run_dir) / CHECKPOINT_DIR


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run as (step, path), oldest first."""
    root = checkpoint_dir(run_dir)
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        match = _NAME.match(path.name)
        if match and (path / META_FILE).is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _discard(path: Path) -> None:
    """Delete a checkpoint directory: renamed out of `step_*` first, so no kill leaves half of one."""
    doomed = path.with_name(f".tmp-{path.name}-discarded-{os.getpid()}")
    shutil.rmtree(doomed, ignore_errors=True)
    try:
        os.rename(path, doomed)
    except FileNotFoundError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


def save_checkpoint(
    run_dir: Path,
    *,
    model_state: dict[str, torch.Tensor],
    optimizer_state: dict[str, Any],
    scaler_state: dict[str, Any],
    progress: Progress,
    rng_states: list[dict[str, Any]],
    meta: JsonConfig,
) -> Path:
    """Write one checkpoint atomically (temporary directory, then rename); returns its path.

    `meta` describes the run (a `RunMeta` for Tacotron; the vocoder's runs have their own)."""
    root = checkpoint_dir(run_dir)
    root.mkdir(parents=True, exist_ok=True)
    name = f"step_{progress.step:08d}"
    final = root / name
    temporary = root / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    try:
        weights = {key: value.detach().to("cpu").contiguous() for key, value in model_state.items()}
        save_file(weights, str(temporary / WEIGHTS_FILE),
                  metadata={"format_version": str(CHECKPOINT_FORMAT_VERSION)})
        torch.save({"optimizer": optimizer_state, "scaler": scaler_state,
                    "progress": asdict(progress), "rng": rng_states}, temporary / STATE_FILE)
        document = versioned(CHECKPOINT_FORMAT_VERSION, {
            "step": progress.step, "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "evaluation": progress.last_eval, **meta.to_dict(),
        })
        payload = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
        (temporary / META_FILE).write_bytes(payload.encode("utf-8"))
        for path in temporary.iterdir():
            with path.open("rb") as stream:
                os.fsync(stream.fileno())
        _fsync_dir(temporary)
        if final.exists():  # the same step saved again (e.g. a stop right after a checkpoint)
            _discard(final)
        os.rename(temporary, final)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


def remove_incomplete(run_dir: Path) -> None:
    """Delete what a run killed mid-write leaves: temporary checkpoint directories and the hidden
    `.NAME.*.tmp` files of `write_bytes_atomic` (their rename never happened)."""
    root = checkpoint_dir(run_dir)
    if root.is_dir():
        for path in root.glob(_TEMPORARY):
            shutil.rmtree(path, ignore_errors=True)
    for folder in (Path(run_dir), root):
        if folder.is_dir():
            for path in folder.glob(".*.tmp"):
                if path.is_file():
                    path.unlink(missing_ok=True)


def load_checkpoint(path: Path) -> LoadedCheckpoint:
    """Read a Tacotron checkpoint directory: JSON metadata, safetensors weights, weights-only state."""
    return LoadedCheckpoint(Path(path), *read_checkpoint(path, CheckpointMeta))


def read_checkpoint(
    path: Path, meta_type: type[_Meta]
) -> tuple[_Meta, dict[str, torch.Tensor], dict[str, Any]]:
    """Read any run's checkpoint directory -> (metadata as `meta_type`, which must have a `step`,
    weights, training state); CheckpointError naming the file that is missing or broken."""
    path = Path(path)
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise CheckpointError(f"{path} is not a checkpoint (no {META_FILE})")
    try:
        document = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{meta_path} is not readable JSON: {error}") from error
    try:
        body = unversioned(document, CHECKPOINT_FORMAT_VERSION, "the checkpoint description")
        meta = meta_type.from_dict(body)
    except ConfigError as error:
        raise CheckpointError(f"{meta_path}: {error}") from error
    try:
        model_state = load_file(str(path / WEIGHTS_FILE))
    except (OSError, SafetensorError) as error:
        raise CheckpointError(f"cannot read {path / WEIGHTS_FILE}: {error}") from error
    try:
        training_state = torch.load(path / STATE_FILE, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's own message suggests weights_only=False, which would run whatever the file holds.
        named = re.search(r"GLOBAL (\S+)", str(error))
        raise CheckpointError(
            f"refused {path / STATE_FILE}: it holds objects other than tensors and plain values"
            f"{f' ({named.group(1)})' if named else ''}, and loading those could run code; Sori "
            f"reads training state with torch.load(weights_only=True) only"
        ) from error
    except (OSError, RuntimeError, ValueError) as error:
        raise CheckpointError(f"cannot read {path / STATE_FILE}: {error}") from error
    progress = training_state.get("progress") if isinstance(training_state, dict) else None
    if not isinstance(progress, dict) or not training_state.keys() >= _STATE_KEYS:
        raise CheckpointError(
            f"{path / STATE_FILE} is not a training state (it needs {', '.join(sorted(_STATE_KEYS))})")
    step = getattr(meta, "step", None)
    if progress.get("step") != step:
        raise CheckpointError(f"{path} is inconsistent: {META_FILE} says step {step}, "
                              f"{STATE_FILE} says step {progress.get('step')}")
    return meta, model_state, training_state


def read_best(run_dir: Path) -> dict[str, Any] | None:
    """The best-checkpoint record, or None when no evaluation has chosen one yet."""
    path = checkpoint_dir(run_dir) / BEST_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def mark_best(run_dir: Path, checkpoint: Path, step: int, val_loss: float) -> None:
    """Record `checkpoint` as the best so far (atomically)."""
    record = {"checkpoint": checkpoint.name, "step": step, "val_loss": val_loss}
    write_bytes_atomic(checkpoint_dir(run_dir) / BEST_FILE, (json.dumps(record) + "\n").encode())


def prune_checkpoints(run_dir: Path, keep_last_k: int) -> list[Path]:
    """Delete all but the newest `keep_last_k` checkpoints and the best one; returns what went."""
    best = read_best(run_dir)
    keep_best = best["checkpoint"] if best else None
    checkpoints = list_checkpoints(run_dir)
    removed = []
    for _, path in checkpoints[: max(0, len(checkpoints) - keep_last_k)]:
        if path.name != keep_best:
            _discard(path)
            removed.append(path)
    return removed


def resolve_checkpoint(run_dir: Path, which: str = "last") -> Path:
    """'last', 'best' (falls back to last before any evaluation) or a checkpoint directory path."""
    if which not in ("last", "best"):
        path = Path(which)
        if not (path / META_FILE).is_file():
            raise CheckpointError(f"{path} is not a checkpoint directory (no {META_FILE})")
        return path
    checkpoints = list_checkpoints(run_dir)
    if not checkpoints:
        raise CheckpointError(f"{run_dir} has no checkpoints yet")
    if which == "best":
        best = read_best(run_dir)
        if best and (checkpoint_dir(run_dir) / best["checkpoint"] / META_FILE).is_file():
            return checkpoint_dir(run_dir) / best["checkpoint"]
        logger.warning("no best checkpoint recorded in %s; using the last one", run_dir)
    return checkpoints[-1][1]
