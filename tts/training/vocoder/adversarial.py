"""The optional adversarial half of vocoder training: discriminators, their optimiser and losses.

Per step, after the generator's forward pass: the discriminators learn to tell the recordings
from the generated waves (least squares), then the generator is given their least-squares
adversarial loss and feature matching, added to its reconstruction loss by the loop.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch

from tts.training.vocoder.config import VocoderTrainConfig
from tts.vocoder.discriminators import (
    RESOLUTIONS,
    Discriminators,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)

STATE_PREFIX = "discriminators."
"""Checkpoint weights under this prefix are the discriminators' (a voice never stores them)."""


class GeneratorAdversarialTerms(NamedTuple):
    """The generator's adversarial terms (scalars)."""

    adversarial: torch.Tensor
    feature_matching: torch.Tensor


class Adversary:
    """The discriminators and their optimiser, for one training run."""

    def __init__(self, config: VocoderTrainConfig, device: torch.device) -> None:
        self.config = config
        self.discriminators = Discriminators(config.period_channels, config.resolution_channels, RESOLUTIONS)
        self.discriminators.to(device).train()
        self.optimizer = torch.optim.AdamW(
            self.discriminators.parameters(), lr=config.learning_rate, betas=(config.adam_beta1, config.adam_beta2),
            weight_decay=config.weight_decay)

    def train_discriminators(self, generated: torch.Tensor, real: torch.Tensor, lr: float) -> float:
        """One discriminator step on generated [B, T] (detached here) and real [B, T] waves -> its
        loss; a non-finite loss or gradient leaves the discriminators unchanged."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss = discriminator_loss(self.discriminators(real), self.discriminators(generated.detach()))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.discriminators.parameters(), self.config.grad_clip)
        value = float(loss.detach())
        if math.isfinite(value) and math.isfinite(float(norm)):
            self.optimizer.step()
        return value

    def generator_terms(self, generated: torch.Tensor, real: torch.Tensor) -> GeneratorAdversarialTerms:
        """The generator's adversarial and feature-matching losses for generated [B, T] (with
        gradient) against real [B, T]; the discriminators' own gradients are discarded."""
        with torch.no_grad():
            real_judgement = self.discriminators(real)
        fake_judgement = self.discriminators(generated)
        return GeneratorAdversarialTerms(generator_adversarial_loss(fake_judgement),
                                         feature_matching_loss(real_judgement, fake_judgement))

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(weights under STATE_PREFIX, optimiser state) for a checkpoint."""
        weights = {STATE_PREFIX + name: tensor for name, tensor in self.discriminators.state_dict().items()}
        return weights, self.optimizer.state_dict()

    def load(self, weights: dict[str, torch.Tensor], optimizer_state: dict[str, Any] | None) -> None:
        """Restore what `state` returned (the weights alone when `optimizer_state` is None)."""
        self.discriminators.load_state_dict(
            {name.removeprefix(STATE_PREFIX): tensor for name, tensor in weights.items() if name.startswith(STATE_PREFIX)})
        if optimizer_state is not None:
            self.optimizer.load_state_dict(optimizer_state)


def generator_weights(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A checkpoint's weights without the discriminators'."""
    return {name: tensor for name, tensor in state.items() if not name.startswith(STATE_PREFIX)}


def has_discriminators(state: dict[str, torch.Tensor]) -> bool:
    """Whether a checkpoint's weights include discriminators."""
    return any(name.startswith(STATE_PREFIX) for name in state)
