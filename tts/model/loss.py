"""Tacotron training loss, kept apart from the network: masked L1 on mel and linear spectrograms
(extra weight on the linear bins below a priority frequency), stop-token BCE, and the guided
attention loss of Tachibana et al. 2017 that pulls alignments towards the diagonal early on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from tts.config_io import JsonConfig
from tts.model.layers import lengths_to_mask
from tts.model.tacotron import TacotronOutput


@dataclass(frozen=True)
class LossConfig(JsonConfig):
    """Weights of the loss terms."""

    mel_weight: float = 1.0
    """Weight of the masked L1 loss on mel frames."""
    linear_weight: float = 1.0
    """Weight of the masked L1 loss on linear frames."""
    priority_freq_hz: float = 3000.0
    """Linear bins below this frequency get an extra L1 term (intelligibility lives there)."""
    priority_weight: float = 0.5
    """Share of the linear loss given to the bins below `priority_freq_hz`."""
    stop_weight: float = 1.0
    """Weight of the stop-token binary cross-entropy."""
    stop_positive_weight: float = 5.0
    """Positive-class weight in the stop BCE: only one step per item is a stop."""
    guided_attention_weight: float = 1.0
    """Initial weight of the guided attention loss (training may decay it)."""
    guided_attention_sigma: float = 0.2
    """Width of the tolerated band around the diagonal (fraction of the axes)."""


class LossTerms(NamedTuple):
    """The weighted total and each unweighted term, for logging."""

    total: torch.Tensor
    mel: torch.Tensor
    linear: torch.Tensor
    stop: torch.Tensor
    guided_attention: torch.Tensor


def stop_targets(frame_lengths: torch.Tensor, total_steps: int, reduction_factor: int) -> torch.Tensor:
    """1 from the step holding each item's last frame onwards. [B] -> [B, T_steps] float."""
    last_step = (frame_lengths - 1) // reduction_factor  # [B]
    steps = torch.arange(total_steps, device=frame_lengths.device)
    return (steps.unsqueeze(0) >= last_step.unsqueeze(1)).float()


def guided_attention_weights(
    text_lengths: torch.Tensor, step_lengths: torch.Tensor, total_text: int, total_steps: int, sigma: float
) -> torch.Tensor:
    """Penalty W[b, t, n] = 1 - exp(-(n/N - t/T)^2 / (2 sigma^2)), zero outside real positions.

    -> [B, T_steps, T_text].
    """
    device = text_lengths.device
    steps = torch.arange(total_steps, device=device).view(1, -1, 1).float()
    symbols = torch.arange(total_text, device=device).view(1, 1, -1).float()
    t_norm = steps / step_lengths.view(-1, 1, 1).float()
    n_norm = symbols / text_lengths.view(-1, 1, 1).float()
    weights = 1.0 - torch.exp(-((n_norm - t_norm) ** 2) / (2.0 * sigma**2))
    mask = (
        lengths_to_mask(step_lengths, total_steps).unsqueeze(2)
        & lengths_to_mask(text_lengths, total_text).unsqueeze(1)
    )
    return weights * mask


def _masked_l1(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over real frames. prediction/target [B, T, C], mask [B, T, 1]."""
    denominator = mask.sum() * prediction.size(2)
    return (torch.abs(prediction - target) * mask).sum() / denominator.clamp(min=1)


class TacotronLoss(nn.Module):
    """Computes `LossTerms` from teacher-forced outputs and padded targets."""

    def __init__(self, config: LossConfig, sample_rate: int, n_freq: int, reduction_factor: int) -> None:
        super().__init__()
        self.config = config
        self.reduction_factor = reduction_factor
        nyquist = sample_rate / 2.0
        self.priority_bins = max(1, int(round(config.priority_freq_hz / nyquist * (n_freq - 1))) + 1)

    def forward(
        self,
        output: TacotronOutput,
        mel_targets: torch.Tensor,
        linear_targets: torch.Tensor,
        text_lengths: torch.Tensor,
        frame_lengths: torch.Tensor,
        guided_attention_weight: float | None = None,
    ) -> LossTerms:
        """mel_targets [B, T_frames, n_mels], linear_targets [B, T_frames, n_freq], lengths [B].

        `guided_attention_weight` overrides the config's (for a decaying schedule).
        """
        c = self.config
        r = self.reduction_factor
        total_frames = mel_targets.size(1)
        frame_mask = lengths_to_mask(frame_lengths, total_frames).unsqueeze(2).float()
        mel_loss = _masked_l1(output.mel.float(), mel_targets, frame_mask)
        linear = output.linear.float()
        full = _masked_l1(linear, linear_targets, frame_mask)
        low = _masked_l1(
            linear[..., : self.priority_bins], linear_targets[..., : self.priority_bins], frame_mask
        )
        linear_loss = (1.0 - c.priority_weight) * full + c.priority_weight * low

        total_steps = output.stop_logits.size(1)
        step_lengths = (frame_lengths + r - 1) // r
        step_mask = lengths_to_mask(step_lengths, total_steps).float()
        targets = stop_targets(frame_lengths, total_steps, r)
        stop_all = F.binary_cross_entropy_with_logits(
            output.stop_logits.float(), targets, reduction="none",
            pos_weight=torch.tensor(c.stop_positive_weight, device=targets.device),
        )
        stop_loss = (stop_all * step_mask).sum() / step_mask.sum().clamp(min=1)

        penalty = guided_attention_weights(
            text_lengths, step_lengths, output.alignments.size(2), total_steps, c.guided_attention_sigma
        )
        guided = (output.alignments.float() * penalty).sum() / step_mask.sum().clamp(min=1)

        ga_weight = c.guided_attention_weight if guided_attention_weight is None else guided_attention_weight
        total = (
            c.mel_weight * mel_loss + c.linear_weight * linear_loss
            + c.stop_weight * stop_loss + ga_weight * guided
        )
        return LossTerms(total, mel_loss, linear_loss, stop_loss, guided)
