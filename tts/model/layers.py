"""Building blocks of Tacotron 1: pre-net, batch-normalised convolutions, highway layers, CBHG.

Every sequence block takes a mask so that padding never leaks into real positions: a padded batch
gives each item the same result as running it alone.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


@functools.cache
def _ignore_weight_compaction_warning() -> None:
    """cuDNN copies one GRU direction's weights out of the module's flat buffer on every call and
    warns so; the copy is small and, on the path that runs one direction (CBHG's capturable one),
    part of a captured graph. Registered once, when that path first runs."""
    warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous")


def lengths_to_mask(lengths: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
    """[B] lengths -> [B, T] bool mask, True at real positions."""
    total = int(lengths.max()) if max_length is None else max_length
    positions = torch.arange(total, device=lengths.device)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)


class Prenet(nn.Module):
    """Fully connected ReLU layers with dropout: a bottleneck that helps attention learn.

    In training the dropout draws from torch's RNG; at inference a caller may pass per-layer masks
    (see `tts.model.dropout`) so the result is deterministic per item.
    """

    def __init__(self, in_dim: int, dims: Sequence[int], dropout: float) -> None:
        super().__init__()
        sizes = [in_dim, *dims]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.dropout = dropout
        self._widths = [int(size) for size in dims]

    @property
    def widths(self) -> list[int]:
        """Output width of each layer (for building dropout masks)."""
        return list(self._widths)

    def forward(
        self, x: torch.Tensor, masks: Sequence[torch.Tensor | None] | None = None
    ) -> torch.Tensor:
        """[..., in_dim] -> [..., dims[-1]].

        Without `masks`, dropout is random (training mode only). With `masks`, `masks[i]`
        ([..., dims[i]]) multiplies layer i's output, and a None entry means no dropout there.
        """
        for index, layer in enumerate(self.layers):
            x = F.relu(layer(x))
            if masks is None:
                x = F.dropout(x, self.dropout, training=self.training)
            else:
                mask = masks[index]
                if mask is not None:
                    x = x * mask
        return x


class BatchNormConv1d(nn.Module):
    """Conv1d (same length) -> optional ReLU -> BatchNorm, on [B, C, T] with padding zeroed."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, relu: bool) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, bias=False)
        self.norm = nn.BatchNorm1d(out_channels)
        self.relu = relu

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """[B, C_in, T] with mask [B, 1, T] (None: no padding) -> [B, C_out, T], zero at padding."""
        left = (self.kernel_size - 1) // 2
        right = self.kernel_size - 1 - left
        x = self.conv(F.pad(x if mask is None else x * mask, (left, right)))
        if self.relu:
            x = F.relu(x)
        x = self.norm(x)
        return x if mask is None else x * mask


class Highway(nn.Module):
    """y = T(x) * H(x) + (1 - T(x)) * x, with the gate biased towards carrying x at first."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.transform = nn.Linear(dim, dim)
        self.gate = nn.Linear(dim, dim)
        nn.init.constant_(self.gate.bias, -1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[..., dim] -> [..., dim]."""
        gate = torch.sigmoid(self.gate(x))
        return gate * F.relu(self.transform(x)) + (1.0 - gate) * x


class CBHG(nn.Module):
    """Conv bank + max-pool + projections + residual + highway + bidirectional GRU.

    Used twice: as the encoder over pre-net outputs and as the post-net over mel frames.
    """

    def __init__(
        self,
        in_dim: int,
        bank_size: int,
        channels: int,
        projection_dims: tuple[int, int],
        highway_layers: int,
        gru_dim: int,
    ) -> None:
        super().__init__()
        self.bank = nn.ModuleList(
            BatchNormConv1d(in_dim, channels, width, relu=True) for width in range(1, bank_size + 1)
        )
        self.projections = nn.ModuleList([
            BatchNormConv1d(bank_size * channels, projection_dims[0], 3, relu=True),
            BatchNormConv1d(projection_dims[0], projection_dims[1], 3, relu=False),
        ])
        self.residual = (
            nn.Identity() if projection_dims[1] == in_dim
            else nn.Linear(in_dim, projection_dims[1], bias=False)
        )
        highway_dim = gru_dim
        self.pre_highway = nn.Linear(projection_dims[1], highway_dim, bias=False)
        self.highways = nn.ModuleList(Highway(highway_dim) for _ in range(highway_layers))
        self.gru = nn.GRU(highway_dim, gru_dim, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, capturable: bool = False) -> torch.Tensor:
        """[B, T, in_dim] with lengths [B] -> [B, T, 2 * gru_dim], zero at padded positions.

        `capturable` never reads the lengths on the host (so a CUDA graph can capture the pass):
        it always masks, and runs the GRU's two directions over per-item reversed sequences
        instead of packing. Same result within float rounding.
        """
        total = x.size(1)
        if capturable:
            padded, host_lengths = True, None
        else:
            host_lengths = lengths.cpu()
            # Without padding (a single item, or equal lengths) masking and packing change nothing.
            padded = bool((host_lengths < total).any())
        mask = lengths_to_mask(lengths, total).unsqueeze(1).to(x.dtype) if padded else None  # [B, 1, T]
        channels_first = x.transpose(1, 2)  # [B, in_dim, T]
        bank = torch.cat([conv(channels_first, mask) for conv in self.bank], dim=1)
        # Causal max over (t-1, t) keeps length; bank outputs are >= 0 so zeroed padding is inert.
        pooled = F.max_pool1d(bank, kernel_size=2, stride=1, padding=1)[:, :, :total]
        if mask is not None:
            pooled = pooled * mask
        projected = self.projections[1](self.projections[0](pooled, mask), mask)
        y = projected.transpose(1, 2) + self.residual(x)  # [B, T, projection_dims[1]]
        y = self.pre_highway(y)
        for highway in self.highways:
            y = highway(y)
        if not padded:
            return self.gru(y)[0]
        if host_lengths is None:
            assert mask is not None
            return self._bidirectional_without_packing(y, lengths) * mask.transpose(1, 2)
        packed = pack_padded_sequence(y, host_lengths, batch_first=True, enforce_sorted=False)
        outputs, _ = self.gru(packed)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=total)
        return outputs

    def _bidirectional_without_packing(self, y: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The bidirectional GRU over a padded batch without host lengths: the forward direction
        reads the padded sequence (causal, so padding comes after every real step), the backward
        one reads each item reversed within its own length. [B, T, H] -> [B, T, 2 * gru_dim],
        arbitrary at padded positions."""
        batch, total, _ = y.shape
        positions = torch.arange(total, device=y.device).unsqueeze(0)  # [1, T]
        ends = lengths.unsqueeze(1)  # [B, 1]
        reverse = torch.where(positions < ends, ends - 1 - positions, positions)  # [B, T], an involution
        gru = self.gru
        start = y.new_zeros(1, batch, gru.hidden_size)
        names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
        forward_weights: list[torch.Tensor] = [gru.get_parameter(name) for name in names]
        backward_weights: list[torch.Tensor] = [gru.get_parameter(f"{name}_reverse") for name in names]
        flipped = y.gather(1, reverse.unsqueeze(2).expand_as(y))
        # torch's own GRU kernel (what nn.GRU.forward calls) on one direction's weights at a time.
        _ignore_weight_compaction_warning()
        # Positional flags: has_biases, num_layers, dropout, train, bidirectional, batch_first.
        forward = torch._VF.gru(y, start, forward_weights, True, 1, 0.0, False, False, True)[0]
        backward = torch._VF.gru(flipped, start, backward_weights, True, 1, 0.0, False, False, True)[0]
        backward = backward.gather(1, reverse.unsqueeze(2).expand_as(backward))
        return torch.cat((forward, backward), dim=2)
