"""The pre-net's seeded inference dropout masks in numpy: `tts.model.dropout`'s counter-based hash
of (seed, step, layer, unit), integer for integer, so the ONNX runtime drops the same units as torch
(tests/test_onnx.py holds the two equal)."""

from __future__ import annotations

import numpy as np

_MASK32 = 0xFFFFFFFF
_MULTIPLIERS = (0x2C1B3C6D, 0x297A2D39, 0x1B873593)


def _mix(x: np.ndarray) -> np.ndarray:
    """The 32-bit hash of tts.model.dropout._mix, in int64 without overflow."""
    for multiplier in _MULTIPLIERS:
        x = x ^ (x >> 16)
        x = (x * multiplier) & _MASK32
    return x ^ (x >> 16)


def hashed_uniform_steps(seeds: np.ndarray, steps: np.ndarray, layer: int, width: int) -> np.ndarray:
    """Uniform numbers in [0, 1) from (seed, step, layer, unit).

    seeds [B] int, steps [n_steps] int -> [B, n_steps, width] float32.
    """
    units = np.arange(width, dtype=np.int64)
    key = (np.asarray(seeds, dtype=np.int64) & _MASK32)[:, None] * 0x01000193 + units[None, :]
    key = _mix(key & _MASK32)  # [B, width]
    offsets = np.asarray(steps, dtype=np.int64) * 0x3C6EF372 + layer * 0x1E3779B9  # [n_steps]
    key = _mix((key[:, None, :] + offsets[None, :, None]) & _MASK32)
    return key.astype(np.float32) / np.float32(1 << 32)


def dropout_masks(seeds: np.ndarray, steps: np.ndarray, layer: int, width: int, probability: float) -> np.ndarray:
    """Inverted-dropout multipliers (0 dropped, 1 / (1 - p) kept). seeds [B], steps [n_steps]
    -> [B, n_steps, width] float32."""
    keep = hashed_uniform_steps(seeds, steps, layer, width) >= probability
    return keep.astype(np.float32) / np.float32(1.0 - probability)
