"""Export a training checkpoint as a voice directory that `Synthesizer` loads (tts.voice format).

The voice carries everything the checkpoint knew: the text, audio and model configs and the
symbol table it was trained with, plus provenance (corpus, steps, training time, hardware, commit,
the last validation measures) in `metadata`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tts.audio import AudioConfig
from tts.model import Tacotron, TacotronConfig
from tts.text import SymbolTable, TextConfig
from tts.training.checkpoint import CheckpointError, load_checkpoint, resolve_checkpoint
from tts.voice import VoiceConfig, save_voice

logger = logging.getLogger(__name__)


def voice_metadata(meta: dict[str, Any], progress: dict[str, Any], checkpoint: Path) -> dict[str, Any]:
    """Provenance recorded in the voice's config.json."""
    train_config = meta.get("train_config", {})
    return {
        "corpus": meta.get("corpus"),
        "training_steps": meta.get("step"),
        "training_seconds": round(float(progress.get("train_seconds", 0.0)), 1),
        "skipped_steps": progress.get("skipped_steps"),
        "hardware": {"device": meta.get("device"), "processes": meta.get("world_size")},
        "git_commit": meta.get("git_commit"),
        "torch": meta.get("torch"),
        "checkpoint": checkpoint.name,
        "checkpoint_created": meta.get("created"),
        "evaluation": meta.get("evaluation", {}),
        "batch_size": train_config.get("batch_size"),
        "precision": meta.get("precision"),
        "train_config": train_config,
        "prepare": meta.get("prepare"),
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
    try:
        model_config = TacotronConfig.from_dict(meta["model_config"])
        text = TextConfig.from_dict(meta["text"])
        audio = AudioConfig.from_dict(meta["audio"])
        symbols = SymbolTable.from_dict(meta["symbols"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path} lacks a usable configuration: {error}") from error
    model = Tacotron(model_config)
    model.load_state_dict(loaded.model_state)
    out_dir = Path(out_dir)
    metadata = {**voice_metadata(meta, loaded.training_state["progress"], path), **(extra_metadata or {})}
    config = VoiceConfig(name or out_dir.name, text, audio, model_config, symbols, metadata)
    save_voice(out_dir, config, model.eval(), fp16=fp16)
    logger.info("exported %s (step %s) to %s", path, meta.get("step"), out_dir)
    return out_dir
