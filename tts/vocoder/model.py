"""A Vocos-style vocoder: normalised mel frames -> ConvNeXt blocks -> log-magnitude and phase ->
inverse STFT, all at frame rate (one input frame = one hop of output samples).

Shapes: B batch, T_frames mel frames, T = T_frames * hop_length samples, C = `dim` channels.
Batches are padded: `lengths` [B] gives each item's real frames. Padding is masked to zero before
every convolution, and the overlap-add is normalised by each item's own window envelope, so an
item's samples do not depend on what it is batched with (`infer` returns what it alone gives).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from tts.vocoder.config import VocoderConfig


def frame_mask(lengths: torch.Tensor, total: int) -> torch.Tensor:
    """[B] real frames -> [B, total] float mask, 1 on real frames."""
    positions = torch.arange(total, device=lengths.device)
    return (positions[None, :] < lengths[:, None]).float()


class ConvNeXtBlock(nn.Module):
    """Depthwise convolution over time, then a per-frame feed-forward layer, scaled, plus the input."""

    def __init__(self, dim: int, intermediate_dim: int, kernel_size: int, layer_scale: float) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.expand = nn.Linear(dim, intermediate_dim)
        self.project = nn.Linear(intermediate_dim, dim)
        self.scale = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x [B, C, T_frames] (zero on padding), mask [B, 1, T_frames] -> [B, C, T_frames]."""
        h = self.depthwise(x).transpose(1, 2)  # [B, T_frames, C]
        h = self.project(F.gelu(self.expand(self.norm(h))))  # [B, T_frames, C]
        return (x + (self.scale * h).transpose(1, 2)) * mask


def inverse_stft(spectrum: torch.Tensor, mask: torch.Tensor, window: torch.Tensor, hop_length: int) -> torch.Tensor:
    """Centred inverse STFT of a padded batch, each item normalised by its own window envelope.

    spectrum [B, T_frames, n_freq] complex, mask [B, T_frames], window [n_fft]
    -> wave [B, T_frames * hop_length], zero past each item's frames. Frame t is centred on
    sample t * hop_length, as in the analysis STFT (center=True).
    """
    n_fft = window.numel()
    batch, frames = mask.shape
    pieces = torch.fft.irfft(spectrum, n=n_fft, dim=-1) * window  # [B, T_frames, n_fft]
    envelope_pieces = window.square()[None, None, :] * mask[..., None]  # [B, T_frames, n_fft]
    both = torch.cat([pieces, envelope_pieces.to(pieces.dtype)], dim=0).transpose(1, 2)  # [2B, n_fft, T_frames]
    total = (frames - 1) * hop_length + n_fft
    folded = F.fold(both, output_size=(1, total), kernel_size=(1, n_fft), stride=(1, hop_length))
    wave, envelope = folded.reshape(2, batch, total).unbind(0)  # [B, total] each
    start, count = n_fft // 2, frames * hop_length
    wave, envelope = wave[:, start : start + count], envelope[:, start : start + count]
    sample_mask = mask.repeat_interleave(hop_length, dim=1)  # [B, T]
    return torch.where(envelope > 1e-8, wave / envelope.clamp(min=1e-8), 0.0) * sample_mask


class InverseSTFTHead(nn.Module):
    """Per-frame log-magnitude and phase -> complex spectrum -> overlap-added wave.

    The inverse STFT is written out (`inverse_stft`) rather than torch.istft so that the window
    envelope it divides by counts only each item's real frames.
    """

    window: torch.Tensor

    def __init__(self, config: VocoderConfig) -> None:
        super().__init__()
        self.config = config
        self.projection = nn.Linear(config.dim, 2 * config.n_freq)
        window = torch.zeros(config.n_fft)
        offset = (config.n_fft - config.win_length) // 2
        window[offset : offset + config.win_length] = torch.hann_window(config.win_length)
        self.register_buffer("window", window, persistent=False)

    def spectrum(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x [B, T_frames, C], mask [B, T_frames] -> complex spectrum [B, T_frames, n_freq] (zero on padding)."""
        log_magnitude, phase = self.projection(x).float().chunk(2, dim=-1)  # [B, T_frames, n_freq] each
        magnitude = torch.exp(log_magnitude.clamp(max=self.config.max_log_magnitude)) * mask[..., None]
        return torch.polar(magnitude, phase)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x [B, T_frames, C], mask [B, T_frames] -> wave [B, T_frames * hop_length] (zero past each length)."""
        return inverse_stft(self.spectrum(x, mask), mask, self.window, self.config.hop_length)


class Vocoder(nn.Module):
    """Spectrogram [B, T_frames, n_input] in [0, 1] (the normalised mel, or the linear spectrogram,
    per `config.spectrogram`) -> wave [B, T_frames * hop_length] in about [-1, 1]."""

    def __init__(self, config: VocoderConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Conv1d(config.n_input, config.dim, config.kernel_size, padding=config.kernel_size // 2)
        self.input_norm = nn.LayerNorm(config.dim, eps=1e-6)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(config.dim, config.intermediate_dim, config.kernel_size, 1.0 / config.n_blocks)
            for _ in range(config.n_blocks)
        )
        self.output_norm = nn.LayerNorm(config.dim, eps=1e-6)
        self.head = InverseSTFTHead(config)

    def forward(self, mel: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """mel [B, T_frames, n_input], lengths [B] (None: all T_frames) -> wave [B, T_frames * hop_length]."""
        batch, frames, _ = mel.shape
        if lengths is None:
            lengths = torch.full((batch,), frames, device=mel.device)
        mask = frame_mask(lengths.to(mel.device), frames)  # [B, T_frames]
        x = self.embed((mel * mask[..., None]).transpose(1, 2))  # [B, C, T_frames]
        x = self.input_norm(x.transpose(1, 2)).transpose(1, 2) * mask[:, None, :]
        for block in self.blocks:
            x = block(x, mask[:, None, :])
        x = self.output_norm(x.transpose(1, 2))  # [B, T_frames, C]
        return self.head(x, mask)

    @torch.inference_mode()
    def infer(self, mel: torch.Tensor, lengths: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Padded spectrograms [B, T_frames, n_input] (clipped to [0, 1]) -> per item a float32 wave [lengths[i] * hop]
        on the mel's device, the same as that item vocoded alone."""
        batch, frames, _ = mel.shape
        if lengths is None:
            lengths = torch.full((batch,), frames)
        counts = [int(n) for n in lengths.tolist()]
        if batch == 0:
            return []
        waves = self.forward(mel.float().clamp(0.0, 1.0), lengths.to(mel.device))
        hop = self.config.hop_length
        return [waves[row, : count * hop].clone() for row, count in enumerate(counts)]
