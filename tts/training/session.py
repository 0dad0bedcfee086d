"""What a training call builds before its first step: the model, optimiser, gradient scaler, loss,
data and run description, and, when resuming, the state of the last checkpoint put back exactly.

Kept apart from the loop (tts.training.loop) so the loop reads as the steps of training.
"""

from __future__ import annotations

import contextlib
import json
import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.utils.data import DataLoader

from tts.atomic import write_bytes_atomic
from tts.model import Tacotron, TacotronConfig, TacotronLoss
from tts.training import checkpoint as ckpt
from tts.training.config import TrainConfig
from tts.training.data import Batch, BucketBatchSampler, Collate, Example, FeatureDataset
from tts.training.distributed import DistributedContext
from tts.training.evaluate import validation_batches
from tts.training.features import FeatureSettings
from tts.training.graphs import GraphedSteps
from tts.training.metrics import trim_metrics
from tts.training.runtime import (
    TRAIN_CONFIG_FILE,
    TrainError,
    corpus_name,
    device_name,
    seed_everything,
)

logger = logging.getLogger(__name__)


@dataclass
class TrainingSession:
    """What a training call builds once, before its first step, and every step then uses."""

    config: TrainConfig
    context: DistributedContext
    settings: FeatureSettings
    run_dir: Path
    model: Tacotron
    ddp_model: nn.Module
    """`model`, wrapped for DistributedDataParallel under torchrun."""
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    loss_fn: TacotronLoss
    meta: ckpt.RunMeta
    """What every checkpoint of this run says about how it was made."""
    amp_dtype: torch.dtype | None
    """The autocast dtype on CUDA under bf16/fp16; None trains without autocast."""
    graphed_steps: GraphedSteps | None
    """The decoder's teacher-forced loop as CUDA graphs (one CUDA process, no autocast)."""
    buffers: list[torch.Tensor]
    """The model's floating-point buffers (batch-norm statistics): restored after a bad step."""
    writer: Any = None
    """TensorBoard's SummaryWriter on rank 0, else None."""

    def autocast(self) -> AbstractContextManager[Any]:
        """The mixed-precision region of a forward pass (a no-op without autocast)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=self.amp_dtype)


class Validation(NamedTuple):
    """What rank 0 evaluates on: scored batches and free-running sample sentences."""

    batches: list[Batch]
    samples: Batch | None


def start_run_dir(run_dir: Path, config: TrainConfig) -> None:
    """Rank 0: create the run directory, clear what a killed run left half written, save the config."""
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt.remove_incomplete(run_dir)
    payload = json.dumps(config.to_dict(), ensure_ascii=False, indent=2) + "\n"
    write_bytes_atomic(run_dir / TRAIN_CONFIG_FILE, payload.encode("utf-8"))


def build_session(
    config: TrainConfig, model_config: TacotronConfig, settings: FeatureSettings,
    context: DistributedContext, run_dir: Path, meta: ckpt.RunMeta,
) -> TrainingSession:
    """Model (the same initial weights on every rank), optimiser, gradient scaler and loss."""
    device = context.device
    seed_everything(config.seed)  # identical initial weights on every rank
    model = Tacotron(model_config).to(device)
    seed_everything(config.seed + 1 + context.rank)  # distinct dropout per rank
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, betas=(config.adam_beta1, config.adam_beta2),
        eps=config.adam_eps, weight_decay=config.weight_decay, fused=device.type == "cuda",
    )
    use_amp = device.type == "cuda" and config.precision in ("bf16", "fp16")
    if device.type == "cuda":
        # Process-wide, and this process is a training run: TF32 products unless fp32 was asked
        # for (under bf16/fp16 autocast, the products left in fp32 use TF32 too).
        torch.backends.cuda.matmul.allow_tf32 = config.precision != "fp32"
        torch.backends.cudnn.allow_tf32 = config.precision != "fp32"
    amp_dtype = torch.float16 if config.precision == "fp16" else torch.bfloat16
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp and config.precision == "fp16")
    loss_fn = TacotronLoss(config.loss, settings.audio.sample_rate, settings.audio.n_freq,
                           model_config.reduction_factor)
    graphed_steps = (GraphedSteps(model.decoder, config.batch_size)
                     if config.cuda_graphs and device.type == "cuda" and not use_amp
                     and not context.is_distributed else None)
    buffers = [b for b in model.buffers() if b.is_floating_point()]
    return TrainingSession(config, context, settings, run_dir, model, model, optimizer, scaler, loss_fn, meta,
                amp_dtype if use_amp else None, graphed_steps, buffers)


def training_data(
    features_dir: Path, config: TrainConfig, context: DistributedContext, collate: Collate,
) -> tuple[FeatureDataset, BucketBatchSampler, DataLoader[Example]]:
    """The training split, its length-bucketed sampler (this rank's share) and loader."""
    train_set = FeatureDataset(features_dir, "train")
    if not len(train_set):
        raise TrainError(f"{features_dir} has no training utterances")
    sampler = BucketBatchSampler(train_set.lengths, config.batch_size, config.bucket_batches,
                                 config.seed, context.rank, context.world_size)
    # Its own generator: creating a loader iterator must not draw from the global RNG, or a resumed
    # run's dropout stream would drift from the uninterrupted one.
    loader = DataLoader(train_set, batch_sampler=sampler, collate_fn=collate,
                        num_workers=config.num_workers, pin_memory=context.device.type == "cuda",
                        persistent_workers=config.num_workers > 0,
                        generator=torch.Generator().manual_seed(config.seed))
    return train_set, sampler, loader


def validation_data(features_dir: Path, config: TrainConfig, collate: Collate) -> Validation:
    """Rank 0's evaluation data: a few validation batches and the sentences decoded free-running."""
    val_set = FeatureDataset(features_dir, "val")
    batches = validation_batches(val_set, config.batch_size, config.eval_batches, collate)
    count = min(len(val_set), config.eval_sentences)
    samples = collate([val_set[i] for i in range(count)]) if count else None
    return Validation(batches, samples)


def open_writer(run_dir: Path, step: int, resume: bool) -> Any:
    """Rank 0's TensorBoard writer; evaluations after the step resumed from will be redone, so
    their earlier records are dropped."""
    from torch.utils.tensorboard import SummaryWriter

    trim_metrics(run_dir, step)
    return SummaryWriter(str(run_dir / "tensorboard"), purge_step=step + 1 if resume else None)


def run_meta(
    config: TrainConfig, model_config: TacotronConfig, settings: FeatureSettings,
    context: DistributedContext, features_dir: Path,
) -> ckpt.RunMeta:
    """How this run was made, as every checkpoint records it."""
    device = context.device
    return ckpt.RunMeta(
        train_config=config, model_config=model_config, audio=settings.audio, text=settings.text,
        symbols=settings.symbols, prepare=settings.prepare, features_dir=str(features_dir),
        corpus=corpus_name(features_dir), git_commit=ckpt.git_commit() if context.is_main else None,
        world_size=context.world_size, device=device_name(device), torch=torch.__version__,
        precision=config.precision if device.type == "cuda" else "fp32",
    )


# --- resume ----------------------------------------------------------------------------------


def resume_from_last(run: TrainingSession, features_dir: Path, model_config: TacotronConfig) -> ckpt.Progress:
    """Load the last checkpoint into the model, optimiser, scaler and RNGs; -> where it stood."""
    if not ckpt.list_checkpoints(run.run_dir):
        # Killed before its first checkpoint: its saved config is all there is to continue from.
        logger.warning("%s has no complete checkpoint yet: resuming from step 0", run.run_dir)
        return ckpt.Progress()
    latest = ckpt.resolve_checkpoint(run.run_dir, "last")
    loaded = ckpt.load_checkpoint(latest)
    _check_same_settings(loaded, features_dir, model_config, run.settings)
    run.model.load_state_dict(loaded.model_state)
    run.optimizer.load_state_dict(loaded.training_state["optimizer"])
    if loaded.training_state["scaler"]:
        run.scaler.load_state_dict(loaded.training_state["scaler"])
    progress = loaded.progress
    _restore_rng(loaded.training_state["rng"], run.context, run.config.seed + progress.step)
    logger.info("resumed from %s at step %d (epoch %d, batch %d)",
                latest, progress.step, progress.epoch, progress.batch_in_epoch)
    return progress


def _check_same_settings(
    loaded: ckpt.LoadedCheckpoint, features_dir: Path, model_config: TacotronConfig,
    settings: FeatureSettings,
) -> None:
    """TrainError unless the checkpoint was trained with this model, audio, text and symbol table."""
    meta = loaded.meta
    trained_on = {"model_config": meta.model_config, "audio": meta.audio, "text": meta.text,
                  "symbols": meta.symbols}
    now = {"model_config": model_config, "audio": settings.audio, "text": settings.text,
           "symbols": settings.symbols}
    changed = sorted(key for key in now if trained_on[key] != now[key])
    if changed:
        raise TrainError(f"{loaded.path} was trained with other {', '.join(changed)} settings than "
                         f"{features_dir} and this config give; resume with the same features")


def _restore_rng(rng_states: list[dict[str, Any]], context: DistributedContext, reseed: int) -> None:
    """This rank's saved RNG streams, or fresh ones (seeded from `reseed`) when the number of
    processes changed."""
    if len(rng_states) == context.world_size:
        ckpt.restore_rng_state(rng_states[context.rank])
        return
    logger.warning("resuming %d processes from a %d-process run: RNG streams reseeded and "
                   "the epoch's batch order re-sharded, so the run continues but not exactly",
                   context.world_size, len(rng_states))
    seed_everything(reseed + 1 + context.rank)
