"""How many CPU threads one inference call uses (Tacotron and Griffin-Lim share the policy).

A batch of a few sentences runs as thousands of small kernels (decoder steps, GRU steps,
convolutions over a few hundred frames, Griffin-Lim iterations). Splitting such kernels across cores costs more than it
saves, and on a busy machine far more: every split kernel waits until its helper thread gets a core.
So small CPU batches run on one intra-op thread, leaving the other cores to concurrent requests;
large batches keep the process setting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

SINGLE_THREAD_MAX_BATCH = 16
"""CPU batches up to this size run on one intra-op thread."""


@contextmanager
def inference_threads(batch: int, device: torch.device) -> Iterator[None]:
    """Run the block on one intra-op thread for a small CPU batch, then restore the setting.

    torch's setting is per calling thread (OpenMP and MKL keep it per thread), so concurrent
    requests served from other threads are unaffected.
    """
    previous = torch.get_num_threads()
    if device.type != "cpu" or batch > SINGLE_THREAD_MAX_BATCH or previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
