"""The vocoder's reconstruction losses: log-mel L1 and a multi-resolution STFT loss.

Both compare a generated wave with the recording, [B, T] each. The mel here is the loss's own
(natural-log, full band, no pre-emphasis): it judges the output wave, and is not the normalised
mel Tacotron predicts, which is only the vocoder's input.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torchaudio.functional as AF
from torch import nn
from torch.nn import functional as F

STFT_RESOLUTIONS = ((512, 128, 512), (1024, 256, 1024), (2048, 512, 2048))
"""(n_fft, hop, window) of each resolution of the multi-resolution STFT loss."""


class VocoderLossTerms(NamedTuple):
    """Each term is a scalar tensor; `total` is the weighted sum that is minimised."""

    total: torch.Tensor
    mel: torch.Tensor
    stft: torch.Tensor


def stft_magnitude(wave: torch.Tensor, n_fft: int, hop: int, win: int, window: torch.Tensor) -> torch.Tensor:
    """wave [B, T] -> magnitude [B, n_fft // 2 + 1, T // hop + 1] (floored so its log is finite)."""
    spectrum = torch.stft(wave, n_fft, hop, win, window, center=True, pad_mode="reflect", return_complex=True)
    return spectrum.abs().clamp(min=1e-5)


class MelLoss(nn.Module):
    """L1 between the log-mel spectrograms of two waves."""

    window: torch.Tensor
    basis: torch.Tensor

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, n_mels: int = 80) -> None:
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        basis = AF.melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2, n_mels, sample_rate,
                                   norm="slaney", mel_scale="slaney")  # [n_freq, n_mels]
        self.register_buffer("basis", basis, persistent=False)

    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """wave [B, T] -> log-mel [B, T_frames, n_mels]."""
        magnitude = stft_magnitude(wave, self.n_fft, self.hop_length, self.n_fft, self.window)
        return torch.log(torch.matmul(magnitude.transpose(1, 2), self.basis).clamp(min=1e-5))

    def forward(self, generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """[B, T] each -> scalar."""
        return F.l1_loss(self.log_mel(generated), self.log_mel(target))


class MultiResolutionSTFTLoss(nn.Module):
    """Mean over resolutions of spectral convergence plus log-magnitude L1 (Yamamoto et al., 2020)."""

    def __init__(self, resolutions: tuple[tuple[int, int, int], ...] = STFT_RESOLUTIONS) -> None:
        super().__init__()
        self.resolutions = resolutions
        for index, (_, _, win) in enumerate(resolutions):
            self.register_buffer(f"window_{index}", torch.hann_window(win), persistent=False)

    def forward(self, generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """[B, T] each -> scalar."""
        total = generated.new_zeros(())
        for index, (n_fft, hop, win) in enumerate(self.resolutions):
            window = getattr(self, f"window_{index}")
            ours = stft_magnitude(generated, n_fft, hop, win, window)
            theirs = stft_magnitude(target, n_fft, hop, win, window)
            convergence = torch.linalg.norm(theirs - ours) / torch.linalg.norm(theirs)
            total = total + convergence + F.l1_loss(torch.log(ours), torch.log(theirs))
        return total / len(self.resolutions)


class VocoderLoss(nn.Module):
    """mel_weight * mel L1 + stft_weight * multi-resolution STFT loss."""

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, mel_weight: float, stft_weight: float) -> None:
        super().__init__()
        self.mel = MelLoss(sample_rate, n_fft, hop_length)
        self.stft = MultiResolutionSTFTLoss()
        self.mel_weight, self.stft_weight = mel_weight, stft_weight

    def forward(self, generated: torch.Tensor, target: torch.Tensor) -> VocoderLossTerms:
        """generated, target [B, T] -> the loss terms."""
        generated, target = generated.float(), target.float()
        mel, stft = self.mel(generated, target), self.stft(generated, target)
        return VocoderLossTerms(self.mel_weight * mel + self.stft_weight * stft, mel, stft)


def spectral_distance(generated: torch.Tensor, target: torch.Tensor, floor_db: float = -60.0) -> float:
    """A multi-resolution log-spectral distance between a wave and its reference, [T] each: the mean
    absolute difference of natural-log magnitudes over STFT_RESOLUTIONS, both floored at `floor_db`
    below the reference's loudest bin (so inaudible differences in silence do not dominate). For
    evaluation and tests: lower is closer, 0 is identical."""
    count = min(generated.numel(), target.numel())
    pair = torch.stack([generated[:count], target[:count]]).float()
    distances = []
    for n_fft, hop, win in STFT_RESOLUTIONS:
        magnitude = stft_magnitude(pair, n_fft, hop, win, torch.hann_window(win, device=pair.device))
        floor = magnitude[1].max() * 10.0 ** (floor_db / 20.0)
        levels = magnitude.clamp(min=floor).log()
        distances.append(float((levels[0] - levels[1]).abs().mean()))
    return sum(distances) / len(distances)
