"""Deterministic dropout masks for pre-net dropout at inference.

Tacotron keeps pre-net dropout on when synthesising. Drawing the masks from a counter-based hash of
(seed, step, layer, unit) instead of the global RNG makes every item's masks depend on that item
alone: a batch gives each sentence exactly what it would get on its own, and repeated requests give
identical audio, so a cache can trust them.
"""

from __future__ import annotations

import torch

_MASK32 = 0xFFFFFFFF
_MULTIPLIERS = (0x2C1B3C6D, 0x297A2D39, 0x1B873593)


def _mix(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer hash (xorshift-multiply rounds) kept in int64 without overflow."""
    for multiplier in _MULTIPLIERS:
        x = x ^ (x >> 16)
        x = (x * multiplier) & _MASK32
    return x ^ (x >> 16)


def hashed_uniform(seeds: torch.Tensor, step: int, layer: int, width: int) -> torch.Tensor:
    """Uniform numbers in [0, 1) that depend only on (seed, step, layer, unit).

    seeds: [B] int64 -> [B, width] float32 on the seeds' device.
    """
    return hashed_uniform_steps(seeds, torch.tensor([step]), layer, width)[:, 0]


def hashed_uniform_steps(
    seeds: torch.Tensor, steps: torch.Tensor, layer: int, width: int
) -> torch.Tensor:
    """`hashed_uniform` for several steps at once (one kernel launch per op, not per step).

    seeds: [B] int64, steps: [n_steps] int64 -> [B, n_steps, width] float32 on the seeds' device.
    """
    units = torch.arange(width, device=seeds.device, dtype=torch.int64)
    key = (seeds.to(torch.int64) & _MASK32).unsqueeze(1) * 0x01000193 + units.unsqueeze(0)
    key = _mix(key & _MASK32)  # [B, width]
    offsets = steps.to(seeds.device, torch.int64) * 0x3C6EF372 + layer * 0x1E3779B9  # [n_steps]
    key = _mix((key.unsqueeze(1) + offsets.view(1, -1, 1)) & _MASK32)
    return key.to(torch.float32) / float(1 << 32)


def dropout_mask(
    seeds: torch.Tensor, step: int, layer: int, width: int, probability: float, dtype: torch.dtype
) -> torch.Tensor:
    """Inverted-dropout multiplier: 0 where dropped, 1 / (1 - p) where kept. [B] -> [B, width]."""
    return dropout_masks(seeds, torch.tensor([step]), layer, width, probability, dtype)[:, 0]


def dropout_masks(
    seeds: torch.Tensor,
    steps: torch.Tensor,
    layer: int,
    width: int,
    probability: float,
    dtype: torch.dtype,
) -> torch.Tensor:
    """`dropout_mask` for several steps at once. seeds [B], steps [n_steps] -> [B, n_steps, width]."""
    keep = hashed_uniform_steps(seeds, steps, layer, width) >= probability
    return keep.to(dtype) / (1.0 - probability)
