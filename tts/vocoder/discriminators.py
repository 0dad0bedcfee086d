"""Discriminators for adversarial vocoder training (training only; synthesis never builds them).

- Multi-period (HiFi-GAN): the wave folded into [T / p, p] for several primes p, each a stack of
  2-D convolutions over time only, so each sees the periodic structure at its period.
- Multi-resolution (UnivNet, as Vocos uses it): 2-D convolutions over the log-magnitude
  spectrogram at several STFT resolutions.

Each returns, per sub-discriminator, its score map and its intermediate feature maps; the losses
below are the least-squares GAN losses and feature matching.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

PERIODS = (2, 3, 5, 7, 11)
RESOLUTIONS = ((512, 128, 512), (1024, 256, 1024), (2048, 512, 2048))
"""(n_fft, hop, window) of each resolution discriminator."""
LEAK = 0.1


class Judgement(NamedTuple):
    """What the discriminators say about a batch of waves."""

    scores: list[torch.Tensor]  # per sub-discriminator, a score map [B, ...]
    features: list[list[torch.Tensor]]  # per sub-discriminator, its layers' outputs


class PeriodDiscriminator(nn.Module):
    """Convolutions over the wave folded at one period: [B, T] -> scores [B, T' * p]."""

    def __init__(self, period: int, channels: tuple[int, ...] = (32, 128, 512, 1024)) -> None:
        super().__init__()
        self.period = period
        widths = (1, *channels)
        self.layers = nn.ModuleList(
            weight_norm(nn.Conv2d(widths[i], widths[i + 1], (5, 1), (3, 1), padding=(2, 0)))
            for i in range(len(channels))
        )
        self.layers.append(weight_norm(nn.Conv2d(channels[-1], channels[-1], (5, 1), 1, padding=(2, 0))))
        self.output = weight_norm(nn.Conv2d(channels[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """wave [B, T] -> (scores [B, N], features)."""
        batch, length = wave.shape
        remainder = (-length) % self.period
        x = F.pad(wave, (0, remainder), mode="reflect") if remainder else wave
        x = x.view(batch, 1, -1, self.period)  # [B, 1, T / p, p]
        features = []
        for layer in self.layers:
            x = F.leaky_relu(layer(x), LEAK)
            features.append(x)
        x = self.output(x)
        features.append(x)
        return x.flatten(1), features


class ResolutionDiscriminator(nn.Module):
    """Convolutions over one resolution's log-magnitude spectrogram: [B, T] -> scores [B, N]."""

    window: torch.Tensor

    def __init__(self, n_fft: int, hop: int, win: int, channels: int = 32) -> None:
        super().__init__()
        self.n_fft, self.hop, self.win = n_fft, hop, win
        self.register_buffer("window", torch.hann_window(win), persistent=False)
        self.layers = nn.ModuleList([
            weight_norm(nn.Conv2d(1, channels, (7, 5), (2, 2), padding=(3, 2))),
            weight_norm(nn.Conv2d(channels, channels, (5, 3), (2, 1), padding=(2, 1))),
            weight_norm(nn.Conv2d(channels, channels, (5, 3), (2, 2), padding=(2, 1))),
            weight_norm(nn.Conv2d(channels, channels, 3, (2, 1), padding=(1, 1))),
            weight_norm(nn.Conv2d(channels, channels, 3, (2, 2), padding=(1, 1))),
        ])
        self.output = weight_norm(nn.Conv2d(channels, 1, 3, padding=(1, 1)))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """wave [B, T] -> (scores [B, N], features)."""
        spectrum = torch.stft(wave, self.n_fft, self.hop, self.win, self.window, center=True, return_complex=True)
        x = torch.log(spectrum.abs().clamp(min=1e-5))[:, None]  # [B, 1, n_freq, T_frames]
        features = []
        for layer in self.layers:
            x = F.leaky_relu(layer(x), LEAK)
            features.append(x)
        x = self.output(x)
        features.append(x)
        return x.flatten(1), features


class Discriminators(nn.Module):
    """Every period and resolution discriminator, judged together."""

    def __init__(self, period_channels: tuple[int, ...] = (32, 128, 512, 1024), resolution_channels: int = 32,
                 resolutions: tuple[tuple[int, int, int], ...] = RESOLUTIONS, periods: tuple[int, ...] = PERIODS) -> None:
        super().__init__()
        self.periods = nn.ModuleList(PeriodDiscriminator(p, period_channels) for p in periods)
        self.resolutions = nn.ModuleList(ResolutionDiscriminator(*r, channels=resolution_channels)
                                         for r in resolutions)

    def forward(self, wave: torch.Tensor) -> Judgement:
        """wave [B, T] -> a Judgement over every sub-discriminator."""
        outputs = [module(wave) for module in (*self.periods, *self.resolutions)]
        return Judgement([scores for scores, _ in outputs], [features for _, features in outputs])


def discriminator_loss(real: Judgement, fake: Judgement) -> torch.Tensor:
    """Least squares: real scores towards 1, generated towards 0 (summed over sub-discriminators)."""
    return sum((torch.mean((1 - r) ** 2) + torch.mean(f**2) for r, f in zip(real.scores, fake.scores, strict=True)),
               torch.zeros(()))


def generator_adversarial_loss(fake: Judgement) -> torch.Tensor:
    """Least squares: the generated waves' scores towards 1."""
    return sum((torch.mean((1 - f) ** 2) for f in fake.scores), torch.zeros(()))


def feature_matching_loss(real: Judgement, fake: Judgement) -> torch.Tensor:
    """Mean L1 between the discriminators' features of real and generated waves (real detached)."""
    pairs = [(r, f) for rs, fs in zip(real.features, fake.features, strict=True) for r, f in zip(rs, fs, strict=True)]
    return sum((F.l1_loss(f, r.detach()) for r, f in pairs), torch.zeros(())) / len(real.features)
