"""The training loop: one readable function from prepared features to checkpoints.

Per step: next length-bucketed batch -> learning rate and guided-attention weight from pure
schedules -> forward (on CUDA: TF32 products, the decoder loop replayed as CUDA graphs) -> loss ->
backward -> clip -> step, unless the loss or gradient is non-finite or exploding, in which case the
step is skipped and counted (and a run that keeps diverging stops, naming the step). Every
eval_interval: validation, attention measures, an alignment PNG, TensorBoard. Every
checkpoint_interval, and on SIGINT/SIGTERM: an atomic checkpoint from which `resume=True`
continues exactly (weights, optimiser, scaler, RNGs, data position).

`_run` reads top to bottom: set up and resume (tts.training.session), then the `while` loop; each
of its steps is a named function below it.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch

from tts.training import checkpoint as ckpt
from tts.training.config import TrainConfig
from tts.training.data import Batch, Collate
from tts.training.distributed import (
    DistributedContext,
    all_gather_objects,
    all_reduce_mean,
    barrier,
    setup_distributed,
    teardown,
    wrap_model,
)
from tts.training.evaluate import evaluate
from tts.training.features import FeatureSettings, read_settings
from tts.training.metrics import append_metrics
from tts.training.runtime import (
    StopFlag,
    TrainError,
    cpu_threads,
    resolve_config,
    stop_on_signals,
)
from tts.training.schedule import guided_attention_weight, learning_rate, self_feeding_rate
from tts.training.self_feeding import self_fed_frames
from tts.training.session import (
    TrainingSession,
    Validation,
    build_session,
    open_writer,
    resume_from_last,
    run_meta,
    start_run_dir,
    training_data,
    validation_data,
)

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
        start_run_dir(run_dir, config)
    barrier(context)
    meta = run_meta(config, model_config, settings, context, features_dir)
    run = build_session(config, model_config, settings, context, run_dir, meta)
    collate = Collate(model_config.reduction_factor, symbols.pad_id)
    train_set, sampler, loader = training_data(features_dir, config, context, collate)
    progress = resume_from_last(run, features_dir, model_config) if resume else ckpt.Progress()
    run.ddp_model = wrap_model(run.model, context)
    validation = validation_data(features_dir, config, collate) if main else Validation([], None)
    if main:
        run.writer = open_writer(run_dir, progress.step, resume)

    sampler.set_position(progress.epoch, progress.batch_in_epoch)
    if len(sampler.epoch_batches(progress.epoch)) == 0:
        raise TrainError(f"{len(train_set)} training utterances make no batch for {context.world_size} process(es)")
    batches = iter(loader)
    window = _LogWindow(torch.zeros(len(LOSS_TERMS), device=device))
    step_times: list[float] = []
    # Resuming a run: until this call writes one, its last checkpoint is the one it resumed from.
    last_path = ckpt.resolve_checkpoint(run_dir, "last") if resume and ckpt.list_checkpoints(run_dir) else None
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


# --- one optimisation step -------------------------------------------------------------------


def _optimisation_step(
    run: TrainingSession, batch: Batch, progress: ckpt.Progress, stop_requested: bool
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
    run: TrainingSession, batch: Batch, ga_weight: float, feeding: float, stop_requested: bool
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


def _skip_step(
    run: TrainingSession, progress: ckpt.Progress, saved_buffers: list[torch.Tensor], problem: str
) -> None:
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
    run: TrainingSession, progress: ckpt.Progress, window: _LogWindow, last: _StepOutcome, recent: list[float]
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


def _evaluate(run: TrainingSession, progress: ckpt.Progress, validation: Validation) -> None:
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


def _save_checkpoint(run: TrainingSession, progress: ckpt.Progress) -> Path | None:
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
