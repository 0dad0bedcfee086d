"""The training loop: one readable function from prepared features to checkpoints.

Per step: next length-bucketed batch -> learning rate and guided-attention weight from pure
schedules -> forward (on CUDA: TF32 products, the decoder loop replayed as CUDA graphs) -> loss -> backward -> clip -> step, unless the loss or
gradient is non-finite or exploding, in which case the step is skipped and counted (and a run that
keeps diverging stops, naming the step). Every eval_interval: validation, attention measures, an
alignment PNG, TensorBoard. Every checkpoint_interval, and on SIGINT/SIGTERM: an atomic checkpoint
from which `resume=True` continues exactly (weights, optimiser, scaler, RNGs, data position).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from tts.atomic import write_bytes_atomic
from tts.model import Tacotron, TacotronLoss
from tts.training import checkpoint as ckpt
from tts.training.config import TrainConfig
from tts.training.data import Batch, BucketBatchSampler, Collate, FeatureDataset
from tts.training.distributed import (
    DistributedContext,
    all_gather_objects,
    all_reduce_mean,
    barrier,
    setup_distributed,
    teardown,
    wrap_model,
)
from tts.training.evaluate import evaluate, validation_batches
from tts.training.features import FeatureSettings, read_settings
from tts.training.graphs import GraphedSteps
from tts.training.metrics import append_metrics, trim_metrics
from tts.training.runtime import (
    TRAIN_CONFIG_FILE,
    StopFlag,
    TrainError,
    corpus_name,
    cpu_threads,
    device_name,
    resolve_config,
    seed_everything,
    stop_on_signals,
)
from tts.training.schedule import guided_attention_weight, learning_rate, self_feeding_rate
from tts.training.self_feeding import self_fed_frames

logger = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """Too many consecutive steps had a non-finite or exploding loss."""


@dataclass(frozen=True)
class TrainResult:
    """What a call to `train` did."""

    run_dir: Path
    step: int
    skipped_steps: int
    interrupted: bool
    """Stopped by SIGINT/SIGTERM before max_steps (a checkpoint was written)."""
    seconds_per_step: float
    """Median wall time of this call's training steps (evaluation and checkpoints excluded)."""
    last_checkpoint: Path | None
    last_eval: dict[str, float]


def train(
    features_dir: Path,
    run_dir: Path,
    config: TrainConfig | None = None,
    *,
    resume: bool = False,
    overrides: dict[str, Any] | None = None,
) -> TrainResult:
    """Train (or resume) a Tacotron on prepared features; works alone or under torchrun."""
    features_dir, run_dir = Path(features_dir), Path(run_dir)
    settings = read_settings(features_dir)
    config = resolve_config(run_dir, config or TrainConfig(), overrides or {}, resume)
    context = setup_distributed(config.device)
    try:
        with stop_on_signals() as stop:
            return _run(features_dir, run_dir, settings, config, context, resume, stop)
    finally:
        teardown(context)


def _run(
    features_dir: Path, run_dir: Path, settings: FeatureSettings, config: TrainConfig,
    context: DistributedContext, resume: bool, stop: StopFlag,
) -> TrainResult:
    device, main = context.device, context.is_main
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads(config, context))
    symbols, audio = settings.symbols, settings.audio
    model_config = config.model_config(len(symbols), symbols.pad_id, audio.n_mels, audio.n_freq)
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        ckpt.remove_incomplete(run_dir)
        payload = json.dumps(config.to_dict(), ensure_ascii=False, indent=2) + "\n"
        write_bytes_atomic(run_dir / TRAIN_CONFIG_FILE, payload.encode("utf-8"))
    barrier(context)

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
    loss_fn = TacotronLoss(config.loss, audio.sample_rate, audio.n_freq, model_config.reduction_factor)

    train_set = FeatureDataset(features_dir, "train")
    if not len(train_set):
        raise TrainError(f"{features_dir} has no training utterances")
    sampler = BucketBatchSampler(train_set.lengths, config.batch_size, config.bucket_batches,
                                 config.seed, context.rank, context.world_size)
    collate = Collate(model_config.reduction_factor, symbols.pad_id)
    # Its own generator: creating a loader iterator must not draw from the global RNG, or a resumed
    # run's dropout stream would drift from the uninterrupted one.
    loader = DataLoader(train_set, batch_sampler=sampler, collate_fn=collate,
                        num_workers=config.num_workers, pin_memory=device.type == "cuda",
                        persistent_workers=config.num_workers > 0,
                        generator=torch.Generator().manual_seed(config.seed))
    progress = ckpt.Progress()
    if resume and not ckpt.list_checkpoints(run_dir):
        # Killed before its first checkpoint: its saved config is all there is to continue from.
        logger.warning("%s has no complete checkpoint yet: resuming from step 0", run_dir)
    elif resume:
        latest = ckpt.resolve_checkpoint(run_dir, "last")
        loaded = ckpt.load_checkpoint(latest)
        trained_on = {key: loaded.meta.get(key) for key in ("model_config", "audio", "text", "symbols")}
        now = {"model_config": model_config.to_dict(), "audio": audio.to_dict(),
               "text": settings.text.to_dict(), "symbols": symbols.to_dict()}
        changed = sorted(key for key in now if trained_on[key] != now[key])
        if changed:
            raise TrainError(f"{latest} was trained with other {', '.join(changed)} settings than "
                             f"{features_dir} and this config give; resume with the same features")
        model.load_state_dict(loaded.model_state)
        optimizer.load_state_dict(loaded.training_state["optimizer"])
        if loaded.training_state["scaler"]:
            scaler.load_state_dict(loaded.training_state["scaler"])
        progress = loaded.progress
        rng_states = loaded.training_state["rng"]
        if len(rng_states) == context.world_size:
            ckpt.restore_rng_state(rng_states[context.rank])
        else:
            logger.warning("resuming %d processes from a %d-process run: RNG streams reseeded and "
                           "the epoch's batch order re-sharded, so the run continues but not exactly",
                           context.world_size, len(rng_states))
            seed_everything(config.seed + 1 + context.rank + progress.step)
        logger.info("resumed from %s at step %d (epoch %d, batch %d)",
                    latest, progress.step, progress.epoch, progress.batch_in_epoch)
    ddp_model = wrap_model(model, context)

    val_set = FeatureDataset(features_dir, "val")
    val_batches = validation_batches(val_set, config.batch_size, config.eval_batches, collate) if main else []
    samples = (collate([val_set[i] for i in range(min(len(val_set), config.eval_sentences))])
               if main and len(val_set) and config.eval_sentences else None)
    writer = None
    if main:
        from torch.utils.tensorboard import SummaryWriter

        # Evaluations after the step resumed from will be redone: drop their earlier records.
        trim_metrics(run_dir, progress.step)
        writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=progress.step + 1 if resume else None)
    meta = {
        "train_config": config.to_dict(), "model_config": model_config.to_dict(),
        "audio": audio.to_dict(), "text": settings.text.to_dict(), "symbols": symbols.to_dict(),
        "prepare": settings.prepare.to_dict(), "features_dir": str(features_dir),
        "corpus": corpus_name(features_dir), "git_commit": ckpt.git_commit() if main else None,
        "world_size": context.world_size, "device": device_name(device), "torch": torch.__version__,
        "precision": config.precision if device.type == "cuda" else "fp32",
    }
    graphed_steps = (GraphedSteps(model.decoder, config.batch_size)
                     if config.cuda_graphs and device.type == "cuda" and not use_amp
                     and not context.is_distributed else None)
    autocast = (lambda: torch.autocast("cuda", dtype=amp_dtype)) if use_amp else contextlib.nullcontext

    def save() -> Path | None:
        """Collective: gather every rank's RNG state; rank 0 writes, prunes and marks the best."""
        rng_states = all_gather_objects(ckpt.capture_rng_state(), context)
        path = None
        if main:
            val_loss = progress.last_eval.get("val/total")
            is_best = False
            if progress.last_eval.get("step") == progress.step and val_loss is not None:
                # Validation losses compare only under one self-feeding rate (that of the step
                # just taken): a new rate restarts the best.
                rate = self_feeding_rate(progress.step - 1, config)
                if rate != progress.best_self_feeding_rate:
                    progress.best_val_loss, progress.best_self_feeding_rate = None, rate
                if progress.best_val_loss is None or val_loss <= progress.best_val_loss:
                    progress.best_val_loss, is_best = val_loss, True
            path = ckpt.save_checkpoint(run_dir, model_state=model.state_dict(),
                                        optimizer_state=optimizer.state_dict(),
                                        scaler_state=scaler.state_dict(), progress=progress,
                                        rng_states=rng_states, meta=meta)
            if is_best and val_loss is not None:
                ckpt.mark_best(run_dir, path, progress.step, val_loss)
            ckpt.prune_checkpoints(run_dir, config.keep_last_k)
            logger.info("step %d: checkpoint %s", progress.step, path)
        barrier(context)
        return path

    def run_eval() -> None:
        """Rank 0 evaluates (without touching any RNG stream); the others wait."""
        if main:
            with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
                metrics = evaluate(model, loss_fn, val_batches, samples, step=progress.step,
                                   guided_weight=guided_attention_weight(progress.step, config),
                                   symbols=symbols, audio=audio,
                                   griffin_lim_iters=config.eval_griffin_lim_iters,
                                   run_dir=run_dir, device=device, writer=writer)
            progress.last_eval = {"step": progress.step, **metrics}
            append_metrics(run_dir, progress.last_eval)
            logger.info("step %d: eval %s", progress.step,
                        " ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
        barrier(context)

    sampler.set_position(progress.epoch, progress.batch_in_epoch)
    if len(sampler.epoch_batches(progress.epoch)) == 0:
        raise TrainError(f"{len(train_set)} training utterances make no batch for {context.world_size} process(es)")
    batches = iter(loader)
    buffers = [b for b in model.buffers() if b.is_floating_point()]
    step_times: list[float] = []
    running = torch.zeros(5, device=device)
    running_steps, running_frames, last_path = 0, 0, None
    session_start = time.perf_counter()
    ddp_model.train()
    while progress.step < config.max_steps:
        started = time.perf_counter()
        try:
            batch: Batch = next(batches)
        except StopIteration:
            progress.epoch, progress.batch_in_epoch = progress.epoch + 1, 0
            sampler.set_position(progress.epoch, 0)
            batches = iter(loader)
            continue
        progress.batch_in_epoch += 1
        frames = batch.frames
        batch = batch.to(device)
        lr = learning_rate(progress.step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        ga_weight = guided_attention_weight(progress.step, config)
        saved_buffers = [b.clone() for b in buffers]  # batch-norm statistics, restored if the step is bad

        feeding = self_feeding_rate(progress.step, config)
        feedback = None
        if feeding > 0:
            # Its own autocast region: leaving it clears the cast weights cached without gradients.
            with autocast():
                feedback = self_fed_frames(model, batch.ids, batch.text_lengths, batch.mels, feeding)
        with autocast():
            output = ddp_model(batch.ids, batch.text_lengths, batch.mels, batch.frame_lengths, feedback,
                               run_steps=graphed_steps)
        terms = loss_fn(output, batch.mels, batch.linears, batch.text_lengths, batch.frame_lengths, ga_weight)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(terms.total).backward()
        scaler.unscale_(optimizer)
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        shared = all_reduce_mean(torch.stack([terms.total.detach().float(),
                                              torch.tensor(float(stop.requested), device=device)]), context)
        loss, stop_votes = shared.tolist()
        step_terms = torch.stack([t.detach().float() for t in terms])
        # Nothing of this step's autograd graph may outlive it: the next forward may capture a CUDA
        # graph, and a live graph's gradient accumulators would make that capture wait on a stream.
        del output, terms
        problem = None
        if not math.isfinite(loss):
            problem = f"non-finite loss {loss}"
        elif progress.loss_ema is not None and loss > config.loss_spike_factor * progress.loss_ema:
            problem = f"exploding loss {loss:.4g} (running mean {progress.loss_ema:.4g})"
        elif not math.isfinite(float(grad_norm)) and not scaler.is_enabled():
            problem = f"non-finite gradient norm {float(grad_norm)}"
        if problem is None:
            scaler.step(optimizer)
            scaler.update()
            progress.bad_streak = 0
            progress.loss_ema = loss if progress.loss_ema is None else 0.98 * progress.loss_ema + 0.02 * loss
            running += step_terms
            running_steps += 1
        else:
            with torch.no_grad():
                for buffer, saved in zip(buffers, saved_buffers, strict=True):
                    buffer.copy_(saved)
            progress.skipped_steps += 1
            progress.bad_streak += 1
            if main:
                logger.warning("step %d skipped: %s (%d skipped so far)", progress.step, problem,
                               progress.skipped_steps)
            if progress.bad_streak >= config.max_bad_steps:
                raise TrainingDiverged(
                    f"training diverged: {progress.bad_streak} consecutive bad steps, the last at step "
                    f"{progress.step} ({problem}); resume from the last checkpoint with a lower "
                    f"learning_rate or check the data"
                )
        progress.step += 1
        running_frames += frames
        step_times.append(time.perf_counter() - started)

        if main and progress.step % config.log_interval == 0 and running_steps:
            means = (running / running_steps).tolist()
            recent = step_times[-config.log_interval:]
            seconds = statistics.median(recent)
            logger.info("step %d: loss %.4f (mel %.4f linear %.4f stop %.4f guided %.4f) lr %.2e "
                        "ga %.3f fed %.2f grad %.2f | %.2f s/step %.0f frames/s | skipped %d",
                        progress.step, *means, lr, ga_weight, feeding, float(grad_norm), seconds,
                        running_frames * context.world_size / max(sum(recent), 1e-9), progress.skipped_steps)
            if writer is not None:
                for name, value in zip(("total", "mel", "linear", "stop", "guided_attention"), means, strict=True):
                    writer.add_scalar(f"train/{name}", value, progress.step)
                writer.add_scalar("train/learning_rate", lr, progress.step)
                writer.add_scalar("train/guided_attention_weight", ga_weight, progress.step)
                writer.add_scalar("train/self_feeding_rate", feeding, progress.step)
                writer.add_scalar("train/grad_norm", float(grad_norm), progress.step)
                writer.add_scalar("train/seconds_per_step", seconds, progress.step)
                writer.add_scalar("train/skipped_steps", progress.skipped_steps, progress.step)
            running.zero_()
            running_steps, running_frames = 0, 0
        if progress.step % config.eval_interval == 0:
            run_eval()
        finished = progress.step >= config.max_steps
        if progress.step % config.checkpoint_interval == 0 or finished or stop_votes > 0:
            progress.train_seconds += time.perf_counter() - session_start
            session_start = time.perf_counter()
            last_path = save()
        if stop_votes > 0 and not finished:
            break
    if writer is not None:
        writer.close()
    median = statistics.median(step_times) if step_times else float("nan")
    return TrainResult(run_dir, progress.step, progress.skipped_steps,
                       progress.step < config.max_steps, median, last_path, dict(progress.last_eval))

