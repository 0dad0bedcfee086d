"""Capturing a CUDA graph safely, shared by the decoder and Griffin-Lim graphs."""

from __future__ import annotations

from collections.abc import Callable

import torch

WARMUP_RUNS = 2
"""Eager runs on a side stream before capture: lazy initialisations (cuBLAS and cuFFT plans,
workspaces) must happen outside the capture."""


def capture(body: Callable[[], None], device: torch.device) -> torch.cuda.CUDAGraph:
    """Warm `body` up on a side stream, then capture it; replaying the graph reruns its kernels on
    the same tensors. Raises RuntimeError when the body cannot be captured."""
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(WARMUP_RUNS):
            body()
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    # thread_local: work launched from another thread must not invalidate this capture.
    with torch.cuda.graph(graph, capture_error_mode="thread_local"):
        body()
    return graph
