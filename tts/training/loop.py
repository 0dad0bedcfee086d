"""The training loop: one readable function from prepared features to checkpoints.

Per step: next length-bucketed batch -> learning rate and guided-attention weight from pure
schedules -> forward (on CUDA: TF32 products, the decoder loop replayed as CUDA graphs) -> loss ->
backward -> clip -> step, unless the loss or gradient is non-finite or exploding, in which case the
step is skipped and counted (and a run that keeps diverging stops, naming the step). Every
eval_interval: validation, attention measures, an alignment PNG, TensorBoard. Every
checkpoint_interval, and on SIGINT/SIGTERM: an atomic checkpoint from which `resume=True`
continues exactly (weights, optimiser, scaler, RNGs, data position).

`_run` reads top to bottom: set up, resume, then the `while` loop; each of its steps is a named
function below it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import statistics
import time
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

LOSS_TERMS = ("total", "mel", "linear", "stop", "guided_attention")
"""The loss terms in the order `TacotronLoss` returns them (logged and summed in this order)."""


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


@dataclass
class _Run:
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


class _Validation(NamedTuple):
    """What rank 0 evaluates on: scored batches and free-running sample sentences."""

    batches: list[Batch]
    samples: Batch | None


class _StepOutcome(NamedTuple):
    """One optimisation step, for the log line and the stop decision."""

    terms: torch.Tensor  # [5] this step's loss terms, in LOSS_TERMS order
    applied: bool
    """False when the step was skipped as bad."""
    learning_rate: float
    guided_attention_weight: float
    self_feeding_rate: float
    grad_norm: torch.Tensor  # [] before clipping
    stop_requested: bool
    """Some rank received SIGINT/SIGTERM: checkpoint now and return."""


@dataclass
class _LogWindow:
    """What the steps since the last log line add up to."""

    terms: torch.Tensor  # [5] summed loss terms of the applied steps
    applied_steps: int = 0
    frames: int = 0
    """Real frames trained on (skipped steps included), for frames/s."""

    def add(self, outcome: _StepOutcome, frames: int) -> None:
        """Count one step."""
        if outcome.applied:
            self.terms += outcome.terms
            self.applied_steps += 1
        self.frames += frames

    def reset(self) -> None:
        """Start a new window after a log line."""
        self.terms.zero_()
        self.applied_steps, self.frames = 0, 0


def _run(
    features_dir: Path, run_dir: Path, settings: FeatureSettings, config: TrainConfig,
    context: DistributedContext, resume: bool, stop: StopFlag,
) -> TrainResult:
    """Set up (or resume) the run, then train until max_steps or a stop request."""
    device, main = context.device, context.is_main
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads(config, context))
    symbols, audio = settings.symbols, settings.audio
    model_config = config.model_config(len(symbols), symbols.pad_id, audio.n_mels, audio.n_freq)
    if main:
        _start_run_dir(run_dir, config)
    barrier(context)
    meta = _run_meta(config, model_config, settings, context, features_dir)
    run = _build(config, model_config, settings, context, run_dir, meta)
    collate = Collate(model_config.reduction_factor, symbols.pad_id)
    train_set, sampler, loader = _training_data(features_dir, config, context, collate)
    progress = _resume(run, features_dir, model_config) if resume else ckpt.Progress()
    run.ddp_model = wrap_model(run.model, context)
    validation = _validation_data(features_dir, config, collate) if main else _Validation([], None)
    if main:
        run.writer = _open_writer(run_dir, progress.step, resume)

    sampler.set_position(progress.epoch, progress.batch_in_epoch)
    if len(sampler.epoch_batches(progress.epoch)) == 0:
        raise TrainError(f"{len(train_set)} training utterances make no batch for {context.world_size} process(es)")
    batches = iter(loader)
    window = _LogWindow(torch.zeros(len(LOSS_TERMS), device=device))
    step_times: list[float] = []
    last_path = None
    session_start = time.perf_counter()
    run.ddp_model.train()
    while progress.step < config.max_steps:
        started = time.perf_counter()
        batch: Batch | None = next(batches, None)
        if batch is None:  # the epoch is over: the sampler deals the next one
            progress.epoch, progress.batch_in_epoch = progress.epoch + 1, 0
            sampler.set_position(progress.epoch, 0)
            batches = iter(loader)
            continue
        progress.batch_in_epoch += 1
        frames = batch.frames
        outcome = _optimisation_step(run, batch.to(device), progress, stop.requested)
        progress.step += 1
        window.add(outcome, frames)
        step_times.append(time.perf_counter() - started)

        if main and progress.step % config.log_interval == 0 and window.applied_steps:
            _log_training(run, progress, window, outcome, step_times[-config.log_interval:])
            window.reset()
        if progress.step % config.eval_interval == 0:
            _evaluate(run, progress, validation)
        finished = progress.step >= config.max_steps
        if progress.step % config.checkpoint_interval == 0 or finished or outcome.stop_requested:
            progress.train_seconds += time.perf_counter() - session_start
            session_start = time.perf_counter()
            last_path = _save_checkpoint(run, progress)
        if outcome.stop_requested and not finished:
            break
    if run.writer is not None:
        run.writer.close()
    median = statistics.median(step_times) if step_times else float("nan")
    return TrainResult(run_dir, progress.step, progress.skipped_steps,
                       progress.step < config.max_steps, median, last_path, dict(progress.last_eval))


# --- set-up ----------------------------------------------------------------------------------


def _start_run_dir(run_dir: Path, config: TrainConfig) -> None:
    """Rank 0: create the run directory, clear what a killed run left half written, save the config."""
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt.remove_incomplete(run_dir)
    payload = json.dumps(config.to_dict(), ensure_ascii=False, indent=2) + "\n"
    write_bytes_atomic(run_dir / TRAIN_CONFIG_FILE, payload.encode("utf-8"))


def _build(
    config: TrainConfig, model_config: TacotronConfig, settings: FeatureSettings,
    context: DistributedContext, run_dir: Path, meta: ckpt.RunMeta,
) -> _Run:
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
    return _Run(config, context, settings, run_dir, model, model, optimizer, scaler, loss_fn, meta,
                amp_dtype if use_amp else None, graphed_steps, buffers)


def _training_data(
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


def _validation_data(features_dir: Path, config: TrainConfig, collate: Collate) -> _Validation:
    """Rank 0's evaluation data: a few validation batches and the sentences decoded free-running."""
    val_set = FeatureDataset(features_dir, "val")
    batches = validation_batches(val_set, config.batch_size, config.eval_batches, collate)
    count = min(len(val_set), config.eval_sentences)
    samples = collate([val_set[i] for i in range(count)]) if count else None
    return _Validation(batches, samples)


def _open_writer(run_dir: Path, step: int, resume: bool) -> Any:
    """Rank 0's TensorBoard writer; evaluations after the step resumed from will be redone, so
    their earlier records are dropped."""
    from torch.utils.tensorboard import SummaryWriter

    trim_metrics(run_dir, step)
    return SummaryWriter(str(run_dir / "tensorboard"), purge_step=step + 1 if resume else None)


def _run_meta(
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


def _resume(run: _Run, features_dir: Path, model_config: TacotronConfig) -> ckpt.Progress:
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


# --- one optimisation step -------------------------------------------------------------------


def _optimisation_step(
    run: _Run, batch: Batch, progress: ckpt.Progress, stop_requested: bool
) -> _StepOutcome:
    """Forward, backward and the optimiser step, or a skipped step when the loss or gradient is bad."""
    config = run.config
    lr = learning_rate(progress.step, config)
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    ga_weight = guided_attention_weight(progress.step, config)
    feeding = self_feeding_rate(progress.step, config)
    saved_buffers = [b.clone() for b in run.buffers]  # batch-norm statistics, restored if the step is bad
    terms, loss, grad_norm, stop_votes = _forward_backward(run, batch, ga_weight, feeding, stop_requested)
    problem = _bad_step_problem(loss, grad_norm, progress.loss_ema, config, run.scaler.is_enabled())
    if problem is None:
        run.scaler.step(run.optimizer)
        run.scaler.update()
        progress.bad_streak = 0
        # The running mean that 'exploding' is judged against: about the last 50 good steps.
        progress.loss_ema = loss if progress.loss_ema is None else 0.98 * progress.loss_ema + 0.02 * loss
    else:
        _skip_step(run, progress, saved_buffers, problem)
    return _StepOutcome(terms, problem is None, lr, ga_weight, feeding, grad_norm, stop_votes > 0)


def _forward_backward(
    run: _Run, batch: Batch, ga_weight: float, feeding: float, stop_requested: bool
) -> tuple[torch.Tensor, float, torch.Tensor, float]:
    """Forward, loss, backward and clipping -> (loss terms [5], total loss averaged over ranks,
    gradient norm before clipping, share of ranks asked to stop)."""
    feedback = None
    if feeding > 0:
        # Its own autocast region: leaving it clears the cast weights cached without gradients.
        with run.autocast():
            feedback = self_fed_frames(run.model, batch.ids, batch.text_lengths, batch.mels, feeding)
    with run.autocast():
        output = run.ddp_model(batch.ids, batch.text_lengths, batch.mels, batch.frame_lengths, feedback,
                               run_steps=run.graphed_steps)
    terms = run.loss_fn(output, batch.mels, batch.linears, batch.text_lengths, batch.frame_lengths,
                        ga_weight)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(terms.total).backward()
    run.scaler.unscale_(run.optimizer)
    grad_norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.config.grad_clip)
    flags = torch.tensor(float(stop_requested), device=run.context.device)
    shared = all_reduce_mean(torch.stack([terms.total.detach().float(), flags]), run.context)
    loss, stop_votes = shared.tolist()
    # Nothing of this step's autograd graph may outlive it (returning drops `output` and `terms`):
    # the next forward may capture a CUDA graph, and a live graph's gradient accumulators would
    # make that capture wait on a stream.
    return torch.stack([t.detach().float() for t in terms]), loss, grad_norm, stop_votes


def _bad_step_problem(
    loss: float, grad_norm: torch.Tensor, loss_ema: float | None, config: TrainConfig,
    scaler_enabled: bool,
) -> str | None:
    """Why this step must not be applied (non-finite or exploding), or None when it is fine.

    Under a gradient scaler an infinite norm is the scaler's business: it skips the step itself.
    """
    if not math.isfinite(loss):
        return f"non-finite loss {loss}"
    if loss_ema is not None and loss > config.loss_spike_factor * loss_ema:
        return f"exploding loss {loss:.4g} (running mean {loss_ema:.4g})"
    if not math.isfinite(float(grad_norm)) and not scaler_enabled:
        return f"non-finite gradient norm {float(grad_norm)}"
    return None


def _skip_step(run: _Run, progress: ckpt.Progress, saved_buffers: list[torch.Tensor], problem: str) -> None:
    """Undo a bad step's batch-norm updates and count it; TrainingDiverged after too many in a row."""
    with torch.no_grad():
        for buffer, saved in zip(run.buffers, saved_buffers, strict=True):
            buffer.copy_(saved)
    progress.skipped_steps += 1
    progress.bad_streak += 1
    if run.context.is_main:
        logger.warning("step %d skipped: %s (%d skipped so far)", progress.step, problem,
                       progress.skipped_steps)
    if progress.bad_streak >= run.config.max_bad_steps:
        raise TrainingDiverged(
            f"training diverged: {progress.bad_streak} consecutive bad steps, the last at step "
            f"{progress.step} ({problem}); resume from the last checkpoint with a lower "
            f"learning_rate or check the data"
        )


# --- logging, evaluation, checkpoints --------------------------------------------------------


def _log_training(
    run: _Run, progress: ckpt.Progress, window: _LogWindow, last: _StepOutcome, recent: list[float]
) -> None:
    """Rank 0: the mean losses of the window, the last step's schedule values and speed, to the
    log and TensorBoard."""
    means = (window.terms / window.applied_steps).tolist()
    seconds = statistics.median(recent)
    grad_norm = float(last.grad_norm)
    frames_per_second = window.frames * run.context.world_size / max(sum(recent), 1e-9)
    logger.info("step %d: loss %.4f (mel %.4f linear %.4f stop %.4f guided %.4f) lr %.2e "
                "ga %.3f fed %.2f grad %.2f | %.2f s/step %.0f frames/s | skipped %d",
                progress.step, *means, last.learning_rate, last.guided_attention_weight,
                last.self_feeding_rate, grad_norm, seconds, frames_per_second, progress.skipped_steps)
    if run.writer is None:
        return
    scalars = {
        **{f"train/{name}": value for name, value in zip(LOSS_TERMS, means, strict=True)},
        "train/learning_rate": last.learning_rate,
        "train/guided_attention_weight": last.guided_attention_weight,
        "train/self_feeding_rate": last.self_feeding_rate,
        "train/grad_norm": grad_norm,
        "train/seconds_per_step": seconds,
        "train/skipped_steps": progress.skipped_steps,
    }
    for tag, value in scalars.items():
        run.writer.add_scalar(tag, value, progress.step)


def _evaluate(run: _Run, progress: ckpt.Progress, validation: _Validation) -> None:
    """Rank 0 evaluates (without touching any RNG stream); the others wait."""
    if run.context.is_main:
        device = run.context.device
        with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
            metrics = evaluate(run.model, run.loss_fn, validation.batches, validation.samples,
                               step=progress.step,
                               guided_weight=guided_attention_weight(progress.step, run.config),
                               symbols=run.settings.symbols, audio=run.settings.audio,
                               griffin_lim_iters=run.config.eval_griffin_lim_iters,
                               run_dir=run.run_dir, device=device, writer=run.writer)
        progress.last_eval = {"step": progress.step, **metrics}
        append_metrics(run.run_dir, progress.last_eval)
        logger.info("step %d: eval %s", progress.step,
                    " ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
    barrier(run.context)


def _is_new_best(progress: ckpt.Progress, config: TrainConfig) -> bool:
    """Whether an evaluation of this very step has the lowest validation loss so far (recorded in
    `progress`). Losses compare only under one self-feeding rate (that of the step just taken):
    a new rate restarts the record."""
    val_loss = progress.last_eval.get("val/total")
    if progress.last_eval.get("step") != progress.step or val_loss is None:
        return False
    rate = self_feeding_rate(progress.step - 1, config)
    if rate != progress.best_self_feeding_rate:
        progress.best_val_loss, progress.best_self_feeding_rate = None, rate
    if progress.best_val_loss is None or val_loss <= progress.best_val_loss:
        progress.best_val_loss = val_loss
        return True
    return False


def _save_checkpoint(run: _Run, progress: ckpt.Progress) -> Path | None:
    """Collective: gather every rank's RNG state; rank 0 writes, marks the best and prunes."""
    rng_states = all_gather_objects(ckpt.capture_rng_state(), run.context)
    path = None
    if run.context.is_main:
        is_best = _is_new_best(progress, run.config)
        path = ckpt.save_checkpoint(run.run_dir, model_state=run.model.state_dict(),
                                    optimizer_state=run.optimizer.state_dict(),
                                    scaler_state=run.scaler.state_dict(), progress=progress,
                                    rng_states=rng_states, meta=run.meta)
        if is_best:
            ckpt.mark_best(run.run_dir, path, progress.step, progress.last_eval["val/total"])
        ckpt.prune_checkpoints(run.run_dir, run.config.keep_last_k)
        logger.info("step %d: checkpoint %s", progress.step, path)
    barrier(run.context)
    return path
