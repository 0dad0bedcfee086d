"""The vocoder's training loop: random segments -> generator -> mel + multi-resolution STFT loss
(+ optionally multi-period and multi-resolution discriminators, tts.training.vocoder.adversarial).

Per step: the step's segments (a pure function of seed and step) -> learning rate from a pure
schedule -> forward, [discriminator step], loss, backward, clip -> optimiser step, unless the loss or gradient is
non-finite or exploding (skipped and counted; a run that keeps diverging stops). Every
eval_interval: whole validation clips vocoded, their spectral distance to the recordings, audio to
TensorBoard. Every checkpoint_interval, and on SIGINT/SIGTERM: an atomic checkpoint (the module
tts.training.checkpoint) from which `resume=True` continues exactly.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tts.atomic import write_bytes_atomic
from tts.audio import AudioConfig
from tts.config_io import JsonConfig
from tts.training import checkpoint as ckpt
from tts.training.features import read_settings
from tts.training.metrics import append_metrics, trim_metrics
from tts.training.runtime import (
    StopFlag,
    TrainError,
    corpus_name,
    device_name,
    seed_everything,
    stop_on_signals,
)
from tts.training.vocoder.adversarial import Adversary, generator_weights, has_discriminators
from tts.training.vocoder.config import RESUMABLE_FIELDS, VocoderTrainConfig, learning_rate
from tts.training.vocoder.data import VocoderClip, load_clips, segment_batch
from tts.vocoder import Vocoder, VocoderConfig
from tts.vocoder.losses import VocoderLoss, spectral_distance

logger = logging.getLogger(__name__)

CONFIG_FILE = "vocoder_train_config.json"
LOSS_TERMS = ("total", "mel", "stft", "adversarial", "feature_matching", "discriminator")


class VocoderTrainingDiverged(RuntimeError):
    """Too many consecutive steps had a non-finite or exploding loss."""


@dataclass(frozen=True)
class VocoderRunMeta(JsonConfig):
    """How a vocoder run was made, as each of its checkpoints records it."""

    train_config: VocoderTrainConfig
    vocoder_config: VocoderConfig
    audio: AudioConfig
    features_dir: str
    corpus: str
    """Where the recordings were read from."""
    acoustic_voice: str | None
    """The voice whose teacher-forced mels were the input (fine-tuning); None: the recordings' mels."""
    initialised_from: str | None
    """The checkpoint whose weights this run started from (fine-tuning); None: fresh weights."""
    git_commit: str | None
    device: str
    torch: str


@dataclass(frozen=True)
class VocoderCheckpointMeta(VocoderRunMeta):
    """`checkpoint.json` of a vocoder checkpoint (less its format version)."""

    step: int
    created: str
    evaluation: dict[str, float]


@dataclass(frozen=True)
class VocoderTrainResult:
    """What a call to `train_vocoder` did."""

    run_dir: Path
    step: int
    skipped_steps: int
    interrupted: bool
    seconds_per_step: float
    """Median wall time of this call's steps (evaluation and checkpoints excluded)."""
    last_checkpoint: Path | None
    last_eval: dict[str, float]
    losses: list[float]
    """This call's training loss at each of its steps (skipped ones as NaN)."""


def train_vocoder(
    features_dir: Path, run_dir: Path, config: VocoderTrainConfig | None = None, *, resume: bool = False,
    overrides: dict[str, Any] | None = None, corpus: Path | None = None, acoustic_voice: Path | None = None,
    init_from: Path | None = None,
) -> VocoderTrainResult:
    """Train (or resume) a vocoder on prepared features and the corpus they came from.

    `acoustic_voice`: train on that voice's teacher-forced mels instead of the recordings' own;
    `init_from`: a new run starts from that checkpoint's weights (a vocoder run's checkpoint
    directory, or a run directory for its best) instead of fresh ones; the optimiser starts afresh.
    """
    if init_from is not None and resume:
        raise TrainError("--init-from starts a new run; a resumed run continues from its own checkpoint")
    features_dir, run_dir = Path(features_dir), Path(run_dir)
    settings = read_settings(features_dir)
    audio = settings.audio
    config = resolve_config(run_dir, config or VocoderTrainConfig(), overrides or {}, resume)
    corpus_dir = corpus or (Path(name) if (name := corpus_name(features_dir)) else None)
    if corpus_dir is None:
        raise TrainError(f"{features_dir}'s prepare report names no corpus; give the corpus directory")
    device = _device(config)
    if device.type == "cpu" and config.threads:
        torch.set_num_threads(config.threads)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt.remove_incomplete(run_dir)
    write_bytes_atomic(run_dir / CONFIG_FILE, (json.dumps(config.to_dict(), indent=2) + "\n").encode())

    train_clips = load_clips(features_dir, "train", Path(corpus_dir), audio, spectrogram=config.spectrogram)
    val_clips = load_clips(features_dir, "val", Path(corpus_dir), audio, limit=config.eval_clips,
                           spectrogram=config.spectrogram)
    if acoustic_voice is not None:
        from tts.training.vocoder.teacher import teacher_forced_clips

        train_clips = teacher_forced_clips(train_clips, acoustic_voice, audio, settings.symbols, device,
                                           config.spectrogram, config.teacher_dropout)
        val_clips = teacher_forced_clips(val_clips, acoustic_voice, audio, settings.symbols, device,
                                         config.spectrogram, config.teacher_dropout)
    if not train_clips:
        raise TrainError(f"{features_dir} has no training utterances")
    vocoder_config = config.vocoder_config(audio)
    meta = VocoderRunMeta(config, vocoder_config, audio, str(features_dir), str(corpus_dir),
                          str(acoustic_voice) if acoustic_voice else None,
                          str(_initial_checkpoint(init_from)) if init_from else None, ckpt.git_commit(),
                          device_name(device), torch.__version__)
    with stop_on_signals() as stop:
        return _run(run_dir, config, meta, train_clips, val_clips, device, resume, stop)


def resolve_config(
    run_dir: Path, config: VocoderTrainConfig, overrides: dict[str, Any], resume: bool
) -> VocoderTrainConfig:
    """The run's config: the saved one when resuming (only RESUMABLE_FIELDS may change)."""
    saved = run_dir / CONFIG_FILE
    if not resume:
        if ckpt.list_checkpoints(run_dir):
            raise TrainError(f"{run_dir} already holds checkpoints: pass --resume, or choose a new --out")
        return dataclasses.replace(config, **overrides)
    if not saved.is_file():
        raise TrainError(f"nothing to resume in {run_dir}: it has no {CONFIG_FILE}")
    base = VocoderTrainConfig.from_dict(json.loads(saved.read_text(encoding="utf-8")))
    frozen = sorted(key for key, value in overrides.items()
                    if key not in RESUMABLE_FIELDS and getattr(base, key) != value)
    if frozen:
        raise TrainError(f"cannot change {', '.join(frozen)} when resuming (the run would not continue "
                         f"exactly); only {', '.join(sorted(RESUMABLE_FIELDS))} may change")
    return dataclasses.replace(base, **overrides)


def _device(config: VocoderTrainConfig) -> torch.device:
    if config.device == "cuda" and not torch.cuda.is_available():
        raise TrainError("device 'cuda' was requested but no CUDA GPU is available")
    use_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    return torch.device("cuda" if use_cuda else "cpu")


def _run(
    run_dir: Path, config: VocoderTrainConfig, meta: VocoderRunMeta, train_clips: list[VocoderClip],
    val_clips: list[VocoderClip], device: torch.device, resume: bool, stop: StopFlag,
) -> VocoderTrainResult:
    """Build the model and optimiser (or resume them), then train until max_steps or a stop."""
    seed_everything(config.seed)
    model = Vocoder(meta.vocoder_config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                  betas=(config.adam_beta1, config.adam_beta2), weight_decay=config.weight_decay)
    hop = meta.audio.hop_length
    loss_fn = VocoderLoss(meta.audio.sample_rate, meta.audio.n_fft, hop, config.mel_loss_weight,
                          config.stft_loss_weight).to(device)
    adversary = Adversary(config, device) if config.adversarial else None
    progress = _resume(run_dir, model, optimizer, adversary, meta) if resume else ckpt.Progress()
    if not resume and meta.initialised_from is not None:
        _initialise(Path(meta.initialised_from), model, adversary, meta)
    trim_metrics(run_dir, progress.step)
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=progress.step + 1 if resume else None)
    losses: list[float] = []
    step_times: list[float] = []
    window: list[torch.Tensor] = []
    last_path = None
    session_start = time.perf_counter()
    model.train()
    while progress.step < config.max_steps:
        started = time.perf_counter()
        batch = segment_batch(train_clips, progress.step, config.seed, config.batch_size,
                              config.segment_frames, hop).to(device)
        lr = learning_rate(progress.step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        generated = model(batch.inputs)  # [B, segment_frames * hop]
        terms = loss_fn(generated, batch.wave)
        total, extra = terms.total, [torch.zeros(()), torch.zeros(()), torch.zeros(())]
        if adversary is not None and progress.step >= config.adversarial_start_step:
            discriminator = adversary.train_discriminators(generated, batch.wave, lr)
            adversarial = adversary.generator_terms(generated, batch.wave)
            total = (total + config.adversarial_weight * adversarial.adversarial
                     + config.feature_matching_weight * adversarial.feature_matching)
            extra = [adversarial.adversarial, adversarial.feature_matching, torch.tensor(discriminator)]
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        loss, reconstruction = float(total.detach()), float(terms.total.detach())
        # 'Exploding' is judged on the reconstruction loss, which the discriminators joining does not jump.
        problem = (f"non-finite loss {loss}" if not math.isfinite(loss)
                   else _bad_step_problem(reconstruction, float(grad_norm), progress.loss_ema, config))
        if problem is None:
            optimizer.step()
            progress.bad_streak = 0
            progress.loss_ema = (reconstruction if progress.loss_ema is None
                                 else 0.98 * progress.loss_ema + 0.02 * reconstruction)
            window.append(torch.stack([t.detach().float().cpu() for t in (total, terms.mel, terms.stft, *extra)]))
        else:
            _skip_step(progress, problem, config)
        losses.append(loss if problem is None else math.nan)
        progress.step += 1
        step_times.append(time.perf_counter() - started)

        if progress.step % config.log_interval == 0 and window:
            _log(writer, progress, torch.stack(window).mean(0).tolist(), lr, float(grad_norm),
                 statistics.median(step_times[-config.log_interval:]))
            window.clear()
        if progress.step % config.eval_interval == 0 and val_clips:
            _evaluate(model, loss_fn, val_clips, progress, writer, run_dir, meta.audio.sample_rate)
        finished = progress.step >= config.max_steps
        if progress.step % config.checkpoint_interval == 0 or finished or stop.requested:
            progress.train_seconds += time.perf_counter() - session_start
            session_start = time.perf_counter()
            last_path = _save(run_dir, model, optimizer, adversary, progress, meta, config)
        if stop.requested and not finished:
            break
    writer.close()
    median = statistics.median(step_times) if step_times else math.nan
    return VocoderTrainResult(run_dir, progress.step, progress.skipped_steps, progress.step < config.max_steps,
                              median, last_path, dict(progress.last_eval), losses)


def _resume(
    run_dir: Path, model: Vocoder, optimizer: torch.optim.Optimizer, adversary: Adversary | None,
    meta: VocoderRunMeta,
) -> ckpt.Progress:
    """Load the last checkpoint into the model, optimisers and RNGs; -> where it stood."""
    if not ckpt.list_checkpoints(run_dir):
        logger.warning("%s has no complete checkpoint yet: resuming from step 0", run_dir)
        return ckpt.Progress()
    path = ckpt.resolve_checkpoint(run_dir, "last")
    loaded, state, training_state = ckpt.read_checkpoint(path, VocoderCheckpointMeta)
    changed = [name for name in ("vocoder_config", "audio", "acoustic_voice")
               if getattr(loaded, name) != getattr(meta, name)]
    if changed:
        raise TrainError(f"{path} was trained with other {', '.join(changed)} settings; resume with the same "
                         f"features and options")
    model.load_state_dict(generator_weights(state))
    optimizer.load_state_dict(training_state["optimizer"]["generator"])
    if adversary is not None:
        adversary.load(state, training_state["optimizer"]["discriminators"])
    ckpt.restore_rng_state(training_state["rng"][0])
    progress = ckpt.Progress(**training_state["progress"])
    logger.info("resumed from %s at step %d", path, progress.step)
    return progress


def _initial_checkpoint(init_from: Path) -> Path:
    """A checkpoint directory as given, or a run directory's best checkpoint."""
    init_from = Path(init_from)
    return init_from if (init_from / ckpt.META_FILE).is_file() else ckpt.resolve_checkpoint(init_from, "best")


def _initialise(path: Path, model: Vocoder, adversary: Adversary | None, meta: VocoderRunMeta) -> None:
    """Start from another run's weights (the discriminators' too, when both runs have them)."""
    loaded, state, _ = ckpt.read_checkpoint(path, VocoderCheckpointMeta)
    if loaded.vocoder_config != meta.vocoder_config:
        raise TrainError(f"{path} holds a vocoder of other sizes or signal settings than this run's")
    model.load_state_dict(generator_weights(state))
    if adversary is not None and has_discriminators(state):
        adversary.load(state, None)
    logger.info("initialised from %s (step %d)", path, loaded.step)


def _bad_step_problem(loss: float, grad_norm: float, loss_ema: float | None, config: VocoderTrainConfig) -> str | None:
    """Why this step must not be applied (non-finite or exploding), or None when it is fine."""
    if not math.isfinite(loss):
        return f"non-finite loss {loss}"
    if loss_ema is not None and loss > config.loss_spike_factor * loss_ema:
        return f"exploding loss {loss:.4g} (running mean {loss_ema:.4g})"
    if not math.isfinite(grad_norm):
        return f"non-finite gradient norm {grad_norm}"
    return None


def _skip_step(progress: ckpt.Progress, problem: str, config: VocoderTrainConfig) -> None:
    """Count a bad step; VocoderTrainingDiverged after too many in a row."""
    progress.skipped_steps += 1
    progress.bad_streak += 1
    logger.warning("step %d skipped: %s (%d skipped so far)", progress.step, problem, progress.skipped_steps)
    if progress.bad_streak >= config.max_bad_steps:
        raise VocoderTrainingDiverged(
            f"vocoder training diverged: {progress.bad_streak} consecutive bad steps, the last at step "
            f"{progress.step} ({problem}); resume from the last checkpoint with a lower learning_rate")


def _log(writer: Any, progress: ckpt.Progress, means: list[float], lr: float, grad_norm: float,
         seconds: float) -> None:
    """The window's mean losses, to the log and TensorBoard (adversarial terms once they are on)."""
    terms = dict(zip(LOSS_TERMS, means, strict=True))
    shown = [name for name in LOSS_TERMS[1:] if name in ("mel", "stft") or terms[name] != 0.0]
    logger.info("step %d: loss %.4f (%s) lr %.2e grad %.2f | %.3f s/step | skipped %d", progress.step,
                terms["total"], " ".join(f"{name} {terms[name]:.4f}" for name in shown), lr, grad_norm, seconds,
                progress.skipped_steps)
    scalars = {**{f"train/{name}": terms[name] for name in ("total", *shown)},
               "train/learning_rate": lr, "train/grad_norm": grad_norm, "train/seconds_per_step": seconds,
               "train/skipped_steps": progress.skipped_steps}
    for tag, value in scalars.items():
        writer.add_scalar(tag, value, progress.step)


@torch.no_grad()
def _evaluate(model: Vocoder, loss_fn: VocoderLoss, clips: list[VocoderClip], progress: ckpt.Progress,
              writer: Any, run_dir: Path, sample_rate: int) -> None:
    """Vocode whole validation clips: their losses and spectral distance to the recordings, audio."""
    model.eval()
    device = next(model.parameters()).device
    distances, mel_losses = [], []
    for index, clip in enumerate(clips):
        wave = model.infer(clip.inputs[None].to(device))[0]  # [T_frames * hop]
        target = clip.wave.to(device)
        distances.append(spectral_distance(wave, target))
        mel_losses.append(float(loss_fn.mel(wave[None], target[None])))
        if index < 2:
            writer.add_audio(f"val/{clip.id}", wave.clamp(-1, 1).cpu()[None], progress.step, sample_rate)
    model.train()
    measures = {"val/spectral_distance": statistics.mean(distances), "val/mel": statistics.mean(mel_losses)}
    progress.last_eval = measures
    logger.info("step %d: validation spectral distance %.4f, mel L1 %.4f", progress.step, *measures.values())
    for tag, value in measures.items():
        writer.add_scalar(tag, value, progress.step)
    append_metrics(run_dir, {"step": progress.step, **measures})


def _save(run_dir: Path, model: Vocoder, optimizer: torch.optim.Optimizer, adversary: Adversary | None,
          progress: ckpt.Progress, meta: VocoderRunMeta, config: VocoderTrainConfig) -> Path:
    """An atomic checkpoint; the best (lowest validation spectral distance) and last k are kept."""
    distance = progress.last_eval.get("val/spectral_distance")
    best = distance is not None and (progress.best_val_loss is None or distance < progress.best_val_loss)
    if best:
        progress.best_val_loss = distance
    weights, optimizers = dict(model.state_dict()), {"generator": optimizer.state_dict(), "discriminators": {}}
    if adversary is not None:
        discriminator_weights, optimizers["discriminators"] = adversary.state()
        weights.update(discriminator_weights)
    path = ckpt.save_checkpoint(run_dir, model_state=weights, optimizer_state=optimizers, scaler_state={}, progress=progress, rng_states=[ckpt.capture_rng_state()],
                                meta=meta)
    if best and distance is not None:
        ckpt.mark_best(run_dir, path, progress.step, distance)
    ckpt.prune_checkpoints(run_dir, config.keep_last_k)
    return path
