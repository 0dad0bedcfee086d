"""Export a training checkpoint as a voice directory that `Synthesizer` loads (tts.voice_format).

The voice carries everything the checkpoint knew: the text, audio and model configs and the
symbol table it was trained with, plus provenance (corpus, steps, training time, hardware, commit,
the last validation measures) in `metadata`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tts.audio import AudioConfig
from tts.model import Tacotron
from tts.training.checkpoint import (
    CheckpointMeta,
    load_checkpoint,
    read_checkpoint,
    resolve_checkpoint,
)
from tts.training.vocoder.adversarial import generator_weights
from tts.training.vocoder.loop import VocoderCheckpointMeta
from tts.vocoder import Vocoder, VocoderSection
from tts.vocoder.config import mel_settings
from tts.voice_format import VoiceConfig, VoiceError, load_voice, save_voice

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
    vocoder_run: Path | None = None,
    vocoder_checkpoint: str = "best",
) -> Path:
    """Write the chosen checkpoint ('best', 'last' or a path) of `run_dir` as a voice at `out_dir`,
    with the chosen checkpoint of `vocoder_run` as its neural vocoder when one is given."""
    path = resolve_checkpoint(Path(run_dir), checkpoint)
    loaded = load_checkpoint(path)
    meta = loaded.meta
    model = Tacotron(meta.model_config)
    model.load_state_dict(loaded.model_state)
    out_dir = Path(out_dir)
    metadata = {**voice_metadata(meta, loaded.training_state["progress"], path), **(extra_metadata or {})}
    section, vocoder = None, None
    if vocoder_run is not None:
        section, vocoder, vocoder_audio = vocoder_section(vocoder_run, vocoder_checkpoint)
        if mel_settings(vocoder_audio) != mel_settings(meta.audio):
            raise VoiceError(f"the vocoder run {vocoder_run} was trained with other audio settings than {run_dir}")
    config = VoiceConfig(name or out_dir.name, meta.text, meta.audio, meta.model_config, meta.symbols, metadata,
                         section)
    save_voice(out_dir, config, model.eval(), fp16=fp16, vocoder=vocoder)
    logger.info("exported %s (step %s) to %s", path, meta.step, out_dir)
    return out_dir


def vocoder_section(vocoder_run: Path, checkpoint: str = "best") -> tuple[VocoderSection, Vocoder, AudioConfig]:
    """A vocoder run's chosen checkpoint as a voice's vocoder section, its loaded generator, and the
    audio settings it was trained for."""
    path = resolve_checkpoint(Path(vocoder_run), checkpoint)
    meta, state, training_state = read_checkpoint(path, VocoderCheckpointMeta)
    vocoder = Vocoder(meta.vocoder_config)
    vocoder.load_state_dict(generator_weights(state))
    progress = training_state["progress"]
    metadata = {
        "corpus": meta.corpus,
        "acoustic_voice": meta.acoustic_voice,
        "initialised_from": meta.initialised_from,
        "training_steps": meta.step,
        "training_seconds": round(float(progress.get("train_seconds", 0.0)), 1),
        "skipped_steps": progress.get("skipped_steps"),
        "device": meta.device,
        "git_commit": meta.git_commit,
        "torch": meta.torch,
        "checkpoint": path.name,
        "checkpoint_created": meta.created,
        "evaluation": meta.evaluation,
        "train_config": meta.train_config.to_dict(),
        "exported": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return VocoderSection(meta.vocoder_config, metadata), vocoder.eval(), meta.audio


def add_vocoder(voice_dir: Path, vocoder_run: Path, checkpoint: str = "best", fp16: bool = False) -> Path:
    """Give an existing voice directory the vocoder of `vocoder_run` (replacing any it had)."""
    config, model = load_voice(Path(voice_dir))
    section, vocoder, audio = vocoder_section(vocoder_run, checkpoint)
    if mel_settings(audio) != mel_settings(config.audio):
        raise VoiceError(f"the vocoder run {vocoder_run} was trained with other audio settings than voice {voice_dir}")
    save_voice(Path(voice_dir), replace(config, vocoder=section), model, fp16=fp16, vocoder=vocoder)
    logger.info("added the vocoder of %s (%s) to %s", vocoder_run, section.metadata["checkpoint"], voice_dir)
    return Path(voice_dir)

