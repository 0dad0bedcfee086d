"""How a vocoder run trains: one frozen dataclass, saved in the run directory and every checkpoint."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from tts.audio import AudioConfig
from tts.config_io import ConfigError, JsonConfig
from tts.vocoder import VocoderConfig
from tts.vocoder.config import SPECTROGRAMS


@dataclass(frozen=True)
class VocoderTrainConfig(JsonConfig):
    """Every setting of `sori train-vocoder`; the generator's sizes are here, its signal settings
    come from the features' AudioConfig."""

    max_steps: int = 200_000
    """Optimisation steps (skipped ones included)."""
    batch_size: int = 16
    """Segments per step."""
    segment_frames: int = 32
    """Mel frames per training segment (32 x hop 256 = 8,192 samples, 0.37 s at 22,050 Hz)."""
    dim: int = 256
    """VocoderConfig.dim: channels of the ConvNeXt blocks."""
    intermediate_dim: int = 768
    """VocoderConfig.intermediate_dim."""
    n_blocks: int = 8
    """VocoderConfig.n_blocks."""
    kernel_size: int = 7
    """VocoderConfig.kernel_size."""
    spectrogram: str = "mel"
    """VocoderConfig.spectrogram: feed the vocoder the mel ("mel") or the linear spectrogram ("linear")."""
    teacher_dropout: bool = False
    """Fine-tuning (--acoustic-voice) only: run the voice's teacher-forced pass with the pre-net
    dropout masks synthesis draws for each sentence (False: eval mode, no pre-net dropout)."""
    learning_rate: float = 5e-4
    """Peak AdamW learning rate; a cosine decays it to min_learning_rate over decay_steps."""
    min_learning_rate: float = 5e-5
    decay_steps: int = 200_000
    """Steps of the cosine decay (kept apart from max_steps, so extending a run keeps its schedule)."""
    adam_beta1: float = 0.8
    adam_beta2: float = 0.99
    weight_decay: float = 0.01
    grad_clip: float = 10.0
    """Gradient norm clip."""
    mel_loss_weight: float = 1.0
    """Weight of the log-mel L1 loss."""
    stft_loss_weight: float = 1.0
    """Weight of the multi-resolution STFT loss."""
    adversarial: bool = False
    """Also train against multi-period and multi-resolution discriminators (least-squares GAN and
    feature matching); with it, HiFi-GAN-like weights are mel_loss_weight=45, stft_loss_weight=0."""
    adversarial_start_step: int = 0
    """Steps of reconstruction-only training before the discriminators join (0: from the start)."""
    adversarial_weight: float = 1.0
    """Weight of the generator's adversarial loss."""
    feature_matching_weight: float = 2.0
    """Weight of the feature-matching loss."""
    period_channels: tuple[int, ...] = (32, 128, 512, 1024)
    """Channels of each period discriminator's convolutions (HiFi-GAN's)."""
    resolution_channels: int = 32
    """Channels of each resolution discriminator's convolutions."""
    seed: int = 1234
    """Initial weights and every segment drawn (segments are a pure function of seed and step)."""
    log_interval: int = 50
    eval_interval: int = 1000
    """Steps between evaluations (whole validation clips vocoded, spectral distance, audio)."""
    checkpoint_interval: int = 1000
    keep_last_k: int = 3
    """Checkpoints kept besides the best."""
    eval_clips: int = 4
    """Validation clips vocoded whole at each evaluation."""
    threads: int = 0
    """CPU threads (0: every usable core)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    max_bad_steps: int = 20
    """Consecutive skipped (non-finite or exploding) steps that stop the run."""
    loss_spike_factor: float = 10.0
    """A loss above this many times its running mean is 'exploding' and the step is skipped."""

    def __post_init__(self) -> None:
        positive = ("max_steps", "batch_size", "segment_frames", "dim", "intermediate_dim", "n_blocks",
                    "kernel_size", "decay_steps", "log_interval", "eval_interval", "checkpoint_interval",
                    "keep_last_k", "max_bad_steps")
        problems = [f"{name} must be a positive integer, got {getattr(self, name)!r}" for name in positive
                    if not isinstance(getattr(self, name), int) or getattr(self, name) <= 0]
        for name in ("learning_rate", "min_learning_rate", "grad_clip", "loss_spike_factor"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                problems.append(f"{name} must be a positive number, got {value!r}")
        if self.spectrogram not in SPECTROGRAMS:
            problems.append(f"spectrogram must be one of {', '.join(SPECTROGRAMS)}, got {self.spectrogram!r}")
        if not self.mel_loss_weight >= 0 or not self.stft_loss_weight >= 0:
            problems.append("loss weights must not be negative")
        if not self.period_channels or any(c <= 0 for c in self.period_channels) or self.resolution_channels <= 0:
            problems.append("discriminator channels must be positive")
        if self.adversarial_start_step < 0 or self.adversarial_weight < 0 or self.feature_matching_weight < 0:
            problems.append("adversarial_start_step and the adversarial weights must not be negative")
        if self.eval_clips < 0 or self.threads < 0:
            problems.append("eval_clips and threads must not be negative")
        if problems:
            raise ConfigError("invalid VocoderTrainConfig: " + "; ".join(problems))

    def vocoder_config(self, audio: AudioConfig) -> VocoderConfig:
        """The generator this run trains, for the features' audio settings."""
        return VocoderConfig.for_audio(audio, dim=self.dim, intermediate_dim=self.intermediate_dim,
                                       n_blocks=self.n_blocks, kernel_size=self.kernel_size,
                                       spectrogram=self.spectrogram)


RESUMABLE_FIELDS = frozenset({
    "max_steps", "log_interval", "eval_interval", "checkpoint_interval", "keep_last_k", "eval_clips",
    "threads", "device", "max_bad_steps", "loss_spike_factor",
})
"""Settings a resumed run may change without breaking its continuity."""


def learning_rate(step: int, config: VocoderTrainConfig) -> float:
    """Cosine decay from learning_rate to min_learning_rate over decay_steps, then flat."""
    progress = min(step / config.decay_steps, 1.0)
    return config.min_learning_rate + 0.5 * (config.learning_rate - config.min_learning_rate) * (
        1.0 + math.cos(math.pi * progress))
