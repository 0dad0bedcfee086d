"""Measures of an attention alignment: did the model read the text to the end, in order, sharply?

Used on every synthesis (attention health), in training (focus rate, diagonal score) and by
`sori eval`. Works on one item's alignment cropped to its real size, [T_steps, T_text].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

END_TOLERANCE = 1
"""The peak must reach within this many symbols of the last spoken one (the last syllable)."""
BACKWARD_TOLERANCE = 2
"""The peak may move back by at most this many symbols between steps."""
DIAGONAL_BAND = 0.15
"""Half-width of the diagonal band, as a fraction of the text length."""


@dataclass(frozen=True)
class AttentionHealth:
    """Summary of one alignment; `ok` when decoding read every symbol in order and stopped itself."""

    end_reached: bool
    """The attention peak arrived at the last symbols before decoding stopped."""
    monotonic: bool
    """The peak never jumped back by more than BACKWARD_TOLERANCE symbols."""
    stopped_by_token: bool
    """Decoding ended by the stop token, not by the step limit."""
    focus_rate: float
    """Mean over decoder steps of the largest attention weight (1.0 = perfectly sharp)."""
    diagonal_score: float
    """Share of attention mass within DIAGONAL_BAND of the straight diagonal."""
    max_backward_jump: int
    """Largest backward move of the peak, in symbols."""
    coverage: float
    """Share of input symbols that were ever the attention peak."""

    @property
    def ok(self) -> bool:
        """The alignment passed every check."""
        return self.end_reached and self.monotonic and self.stopped_by_token

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict including `ok`."""
        return {**asdict(self), "ok": self.ok}


def _as_array(alignment: np.ndarray | torch.Tensor) -> np.ndarray:
    if hasattr(alignment, "detach"):  # a torch tensor; torch itself is not imported (a slim install has none)
        alignment = alignment.detach().float().cpu().numpy()
    array = np.asarray(alignment, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"alignment must be a non-empty [T_steps, T_text] matrix, got {array.shape}")
    return array


def focus_rate(alignment: np.ndarray | torch.Tensor) -> float:
    """Mean over steps of the maximum attention weight. [T_steps, T_text] -> float in [0, 1]."""
    return float(_as_array(alignment).max(axis=1).mean())


def diagonal_score(alignment: np.ndarray | torch.Tensor, band: float = DIAGONAL_BAND) -> float:
    """Share of attention mass within `band` (fraction of T_text) of the line (0, 0)-(T_steps, T_text)."""
    array = _as_array(alignment)
    steps, symbols = array.shape
    expected = (np.arange(steps) + 0.5) / steps * symbols  # [T_steps]
    distance = np.abs(np.arange(symbols)[None, :] + 0.5 - expected[:, None])  # [T_steps, T_text]
    inside = distance <= max(band * symbols, 1.0)
    total = array.sum()
    return float((array * inside).sum() / total) if total > 0 else 0.0


def attention_health(
    alignment: np.ndarray | torch.Tensor, stopped_by_token: bool, spoken_length: int | None = None
) -> AttentionHealth:
    """All checks for one item's alignment [T_steps, T_text] (cropped to its real lengths).

    `spoken_length` is the number of symbols up to the last one with sound (trailing punctuation
    and EOS have none, so attention need not dwell there); default: all but the last (EOS).
    """
    array = _as_array(alignment)
    symbols = array.shape[1]
    target = (symbols - 1 if spoken_length is None else spoken_length) - 1
    peaks = array.argmax(axis=1)
    jumps = np.diff(peaks)
    max_back = int(max(0, -jumps.min())) if jumps.size else 0
    tail = peaks[-max(1, min(len(peaks), 3)):]
    return AttentionHealth(
        end_reached=bool(tail.max() >= target - END_TOLERANCE),
        monotonic=max_back <= BACKWARD_TOLERANCE,
        stopped_by_token=stopped_by_token,
        focus_rate=focus_rate(array),
        diagonal_score=diagonal_score(array),
        max_backward_jump=max_back,
        coverage=float(len(np.unique(peaks)) / symbols),
    )
