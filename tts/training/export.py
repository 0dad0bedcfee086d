"""Export a training checkpoint as a voice directory that `Synthesizer` loads (tts.voice_format).

The voice carries everything the checkpoint knew: the text, audio and model configs and the
symbol table it was trained with, plus provenance (corpus, steps, training time, hardware, commit,
the last validation measures) in `metadata`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tts.model import Tacotron
from tts.training.checkpoint import CheckpointMeta, load_checkpoint, resolve_checkpoint
from tts.voice_format import VoiceConfig, save_voice

logger = logging.getLogger(__name__)


def voice_metadata(meta: CheckpointMeta, progress: dict[str, Any], checkpoint: Path) -> dict[str, Any]:
    """Provenance recorded in the voice's config.json."""
    return {
        "corpus": meta.corpus,
        "training_steps": meta.step,
        "training_seconds": round(float(progress.get("train_seconds", 0.0)), 1),
        "skipped_steps": progress.get("skipped_steps"),
        "hardware": {"device": meta.device, "processes": meta.world_size},
        "git_commit": meta.git_commit,
        "torch": meta.torch,
        "checkpoint": checkpoint.name,
        "checkpoint_created": meta.created,
        "evaluation": meta.evaluation,
        "batch_size": meta.train_config.batch_size,
        "precision": meta.precision,
        "train_config": meta.train_config.to_dict(),
        "prepare": meta.prepare.to_dict(),
        "exported": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def export_voice(
    run_dir: Path,
    out_dir: Path,
    *,
    checkpoint: str = "best",
    name: str | None = None,
    fp16: bool = False,
    extra_metadata: dict[str, Any] | None = None,
) -> Path:
    """Write the chosen checkpoint ('best', 'last' or a path) of `run_dir` as a voice at `out_dir`."""
    path = resolve_checkpoint(Path(run_dir), checkpoint)
    loaded = load_checkpoint(path)
    meta = loaded.meta
    model = Tacotron(meta.model_config)
    model.load_state_dict(loaded.model_state)
    out_dir = Path(out_dir)
    metadata = {**voice_metadata(meta, loaded.training_state["progress"], path), **(extra_metadata or {})}
    config = VoiceConfig(name or out_dir.name, meta.text, meta.audio, meta.model_config, meta.symbols, metadata)
    save_voice(out_dir, config, model.eval(), fp16=fp16)
    logger.info("exported %s (step %s) to %s", path, meta.step, out_dir)
    return out_dir
