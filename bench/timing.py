"""Interleaved timing: every round runs each candidate once, in a rotating order, so that the noise
of a shared machine falls on all of them alike; results are medians and per-round ratios."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Samples:
    """Seconds per round for each candidate, in the order the rounds ran."""

    seconds: dict[str, list[float]]

    def median(self, name: str) -> float:
        """Median seconds of one candidate."""
        return statistics.median(self.seconds[name])

    def ratio(self, name: str, reference: str) -> float:
        """Median over rounds of reference / name: how many times faster `name` is than `reference`."""
        pairs = zip(self.seconds[reference], self.seconds[name], strict=True)
        return statistics.median(ref / value for ref, value in pairs)

    def ratio_spread(self, name: str, reference: str) -> tuple[float, float]:
        """Lowest and highest per-round ratio (reference / name)."""
        ratios = [ref / value for ref, value in zip(self.seconds[reference], self.seconds[name], strict=True)]
        return min(ratios), max(ratios)


def interleave(
    candidates: Mapping[str, Callable[[], object]], rounds: int, warmup: int = 1
) -> Samples:
    """Run each candidate `warmup` times untimed, then `rounds` timed rounds, one call each per round,
    rotating which goes first."""
    names = list(candidates)
    for _ in range(warmup):
        for name in names:
            candidates[name]()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            candidates[name]()
            seconds[name].append(time.perf_counter() - start)
    return Samples(seconds)
