"""Training schedules as pure functions of the step: nothing to save, nothing to restore on resume.

`step` counts steps already taken (0 for the first); the optimiser's learning rate is set from
`learning_rate(step, config)` before every step, and the loss's guided-attention weight likewise.
"""

from __future__ import annotations

import math

from tts.training.config import TrainConfig


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warm-up to config.learning_rate, then noam / cosine / constant decay, floored."""
    if step < 0:
        raise ValueError(f"step must not be negative, got {step}")
    peak, floor, warmup = config.learning_rate, config.min_learning_rate, config.warmup_steps
    position = step + 1
    if position <= warmup:
        return max(floor, peak * position / warmup) if warmup else peak
    if config.lr_decay == "constant":
        return peak
    if config.lr_decay == "noam":
        # Inverse square root of the step, continuous with the warm-up at its end.
        return max(floor, peak * math.sqrt(max(warmup, 1) / position))
    span = max(1, config.max_steps - warmup)
    progress = min(1.0, (position - warmup) / span)
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def guided_attention_weight(step: int, config: TrainConfig) -> float:
    """The guided-attention loss weight: the loss config's start value halving every half-life."""
    if step < 0:
        raise ValueError(f"step must not be negative, got {step}")
    start = config.loss.guided_attention_weight
    decayed = start * 0.5 ** (step / config.guided_attention_half_life)
    return max(config.guided_attention_min_weight, decayed)


def self_feeding_rate(step: int, config: TrainConfig) -> float:
    """Share of decoder steps fed their own prediction: 0 until self_feeding_start, then a linear
    rise over self_feeding_ramp_steps to self_feeding_max."""
    if step < 0:
        raise ValueError(f"step must not be negative, got {step}")
    if config.self_feeding_max == 0.0 or step < config.self_feeding_start:
        return 0.0
    if config.self_feeding_ramp_steps == 0:
        return config.self_feeding_max
    rise = min(1.0, (step - config.self_feeding_start) / config.self_feeding_ramp_steps)
    return config.self_feeding_max * rise
