"""Hyperparameters of data preparation (`PrepareConfig`) and training (`TrainConfig`).

Both are frozen dataclasses saved as JSON beside what they produced (the features directory, the
run directory), so a run can always say how it was made and refuse to mix incompatible inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Literal

from tts.config_io import ConfigError, JsonConfig
from tts.model.config import TacotronConfig, TacotronHyperparameters
from tts.model.loss import LossConfig

TextColumn = Literal["original", "expanded"]
Precision = Literal["tf32", "fp32", "bf16", "fp16"]
LearningRateDecay = Literal["noam", "cosine", "constant"]

DERIVED_MODEL_FIELDS = frozenset(
    {f.name for f in fields(TacotronConfig)} - {f.name for f in fields(TacotronHyperparameters)}
)
"""TacotronConfig fields that come from the features (symbol table, audio config), never overridden."""

__all__ = ["ConfigError", "DERIVED_MODEL_FIELDS", "PrepareConfig", "TrainConfig"]


@dataclass(frozen=True)
class PrepareConfig(JsonConfig):
    """How a KSS-layout corpus becomes training features."""

    text_column: TextColumn = "original"
    """Transcript column read through Sori's frontend: 'original' (numbers read by our read-out,
    as at synthesis time) or 'expanded' (the corpus's own written-out numbers)."""
    min_seconds: float = 0.5
    """Clips shorter than this after trimming silence are skipped."""
    max_seconds: float = 15.0
    """Clips longer than this after trimming silence are skipped (attention degrades on long clips
    and one long clip inflates a whole padded batch)."""
    max_symbols: int = 300
    """Sentences whose symbol ids (EOS included) outnumber this are skipped."""
    allow_dropped: bool = False
    """Keep utterances in which the frontend had to drop characters; by default they are skipped,
    because the audio then says something the symbols do not."""
    val_fraction: float = 0.02
    """Share of prepared utterances held out for validation (at least one when there are >= 3)."""
    test_fraction: float = 0.02
    """Share held out for testing (at least one when there are >= 3)."""
    seed: int = 1234
    """Seed of the split: each utterance's side depends only on the seed and its id."""

    def __post_init__(self) -> None:
        problems = []
        if self.text_column not in ("original", "expanded"):
            problems.append(f"text_column must be 'original' or 'expanded', got {self.text_column!r}")
        if not 0 <= self.min_seconds < self.max_seconds:
            problems.append(
                f"need 0 <= min_seconds < max_seconds, got {self.min_seconds} and {self.max_seconds}"
            )
        if self.max_symbols < 2:
            problems.append(f"max_symbols must be at least 2, got {self.max_symbols}")
        for name in ("val_fraction", "test_fraction"):
            if not 0 <= getattr(self, name) < 0.5:
                problems.append(f"{name} must be in [0, 0.5), got {getattr(self, name)}")
        if problems:
            raise ConfigError("invalid PrepareConfig: " + "; ".join(problems))


@dataclass(frozen=True)
class TrainConfig(JsonConfig):
    """Everything that shapes a training run; saved as `train_config.json` in the run directory."""

    seed: int = 1234
    """Seed of weight initialisation, dropout and the batch order."""
    batch_size: int = 32
    """Utterances per batch on each process (the global batch is this times the world size)."""
    bucket_batches: int = 16
    """Length bucketing: this many batches' worth of shuffled utterances are sorted by length and
    cut into batches, so a batch holds similar lengths and little padding."""
    learning_rate: float = 1e-3
    """Peak Adam learning rate, reached at the end of warm-up."""
    min_learning_rate: float = 1e-5
    """Floor of the decayed learning rate."""
    warmup_steps: int = 1000
    """Steps of linear warm-up from 0 to learning_rate."""
    lr_decay: LearningRateDecay = "noam"
    """After warm-up: 'noam' (inverse square root of the step), 'cosine' (to min_learning_rate at
    max_steps) or 'constant'."""
    adam_beta1: float = 0.9
    """Adam's first-moment decay."""
    adam_beta2: float = 0.999
    """Adam's second-moment decay."""
    adam_eps: float = 1e-6
    """Adam's denominator epsilon."""
    weight_decay: float = 0.0
    """Decoupled weight decay (AdamW); 0 is plain Adam."""
    grad_clip: float = 1.0
    """Gradients are rescaled so their global L2 norm is at most this."""
    max_steps: int = 100_000
    """Training stops after this many steps (batches, skipped ones included)."""
    log_interval: int = 50
    """Steps between training-loss log lines and TensorBoard scalars."""
    eval_interval: int = 1000
    """Steps between evaluations (validation losses, attention measures, alignment PNG, audio)."""
    checkpoint_interval: int = 1000
    """Steps between checkpoints; keep it a multiple of eval_interval so 'best' can be judged."""
    keep_last_k: int = 3
    """Checkpoints kept besides the best one; older ones are deleted."""
    eval_batches: int = 4
    """Validation batches scored at each evaluation (bounded to keep evaluation cheap on a CPU)."""
    eval_sentences: int = 2
    """Validation sentences decoded free-running at each evaluation (plotted and rendered)."""
    eval_griffin_lim_iters: int = 32
    """Griffin-Lim iterations for the evaluation audio in TensorBoard."""
    guided_attention_half_life: int = 5000
    """The guided-attention weight (loss.guided_attention_weight at step 0) halves every this many
    steps, so it steers early alignment and then lets go."""
    guided_attention_min_weight: float = 0.0
    """Floor of the decaying guided-attention weight."""
    self_feeding_max: float = 0.0
    """Scheduled sampling: the largest share of decoder steps fed the model's own (teacher-forced)
    prediction of the previous frame instead of the true one; 0 is pure teacher forcing. Inference
    only ever sees its own frames, and a decoder trained on true frames alone learns to copy them."""
    self_feeding_start: int = 0
    """Step at which the self-fed share starts rising from 0 (may be set when resuming a run)."""
    self_feeding_ramp_steps: int = 1000
    """Steps over which the self-fed share rises linearly to self_feeding_max."""
    precision: Precision = "tf32"
    """On CUDA: 'tf32' (fp32 weights and activations, TensorFloat-32 matrix products), 'fp32'
    (full fp32 products), or bf16/fp16 autocast ('fp16' adds a gradient scaler). The decoder's
    steps are too small for bf16 to pay: its casts cost more launches than it saves (bench/RESULTS.md).
    The CPU always trains in fp32."""
    cuda_graphs: bool = True
    """On CUDA in one process without autocast, replay the decoder's teacher-forced loop as CUDA
    graphs captured per padded shape bucket (tts.training.graphs)."""
    device: str = "auto"
    """'auto' (CUDA when available), 'cpu' or 'cuda'; under torchrun each rank takes its LOCAL_RANK GPU."""
    num_workers: int = 0
    """DataLoader worker processes (0 loads in the training process: best on a small CPU)."""
    threads: int = 0
    """Torch CPU threads per process; 0 divides the available cores among local processes."""
    max_bad_steps: int = 25
    """Training stops when this many consecutive steps were skipped as non-finite or exploding."""
    loss_spike_factor: float = 10.0
    """A loss above this times its running mean counts as exploding and its step is skipped."""
    model: TacotronHyperparameters = field(default_factory=TacotronHyperparameters)
    """The network's hyperparameters (`--model.reduction_factor=3`); n_symbols, pad_id, n_mels and
    n_freq come from the features (`model_config`)."""
    loss: LossConfig = field(default_factory=LossConfig)
    """Loss weights (`--loss.stop_weight=2`); guided_attention_weight is the schedule's start."""

    def __post_init__(self) -> None:
        problems = []
        positive = ("batch_size", "bucket_batches", "max_steps", "log_interval", "eval_interval",
                    "checkpoint_interval", "keep_last_k", "guided_attention_half_life",
                    "max_bad_steps", "eval_griffin_lim_iters")
        problems += [f"{name} must be positive, got {getattr(self, name)}"
                     for name in positive if getattr(self, name) <= 0]
        non_negative = ("warmup_steps", "eval_batches", "eval_sentences", "num_workers", "threads",
                        "weight_decay", "guided_attention_min_weight", "self_feeding_start",
                        "self_feeding_ramp_steps")
        problems += [f"{name} must not be negative, got {getattr(self, name)}"
                     for name in non_negative if getattr(self, name) < 0]
        if not 0.0 <= self.self_feeding_max <= 1.0:
            problems.append(f"self_feeding_max must be in [0, 1], got {self.self_feeding_max}")
        if not 0 < self.min_learning_rate <= self.learning_rate:
            problems.append("need 0 < min_learning_rate <= learning_rate")
        if not (math.isfinite(self.grad_clip) and self.grad_clip > 0):
            problems.append(f"grad_clip must be a positive number, got {self.grad_clip}")
        if self.loss_spike_factor <= 1:
            problems.append(f"loss_spike_factor must exceed 1, got {self.loss_spike_factor}")
        if self.lr_decay not in ("noam", "cosine", "constant"):
            problems.append(f"lr_decay must be noam, cosine or constant, got {self.lr_decay!r}")
        if self.precision not in ("tf32", "fp32", "bf16", "fp16"):
            problems.append(f"precision must be tf32, fp32, bf16 or fp16, got {self.precision!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            problems.append(f"device must be auto, cpu or cuda, got {self.device!r}")
        if problems:
            raise ConfigError("invalid TrainConfig: " + "; ".join(problems))

    def model_config(self, n_symbols: int, pad_id: int, n_mels: int, n_freq: int) -> TacotronConfig:
        """The network's configuration: these hyperparameters with the features' sizes."""
        hyperparameters = {f.name: getattr(self.model, f.name) for f in fields(self.model)}
        return TacotronConfig(n_symbols=n_symbols, pad_id=pad_id, n_mels=n_mels, n_freq=n_freq,
                              **hyperparameters)
