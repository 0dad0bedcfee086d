"""Capturing CUDA graphs safely (shared by the decoder, Griffin-Lim and the CBHG graphs), and a
cache of graphs of whole functions keyed by their input shapes."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import torch

logger = logging.getLogger(__name__)

WARMUP_RUNS = 2
"""Eager runs on a side stream before capture: lazy initialisations (cuBLAS and cuFFT plans,
workspaces) must happen outside the capture."""


def batch_bucket(batch: int) -> int:
    """The padded batch size graphs are captured for: the next power of two."""
    return 1 << max(0, batch - 1).bit_length()


def round_up(value: int, multiple: int) -> int:
    """The smallest multiple of `multiple` that is >= value (a length bucket)."""
    return -(-value // multiple) * multiple


def on_device(device: torch.device) -> contextlib.AbstractContextManager[object]:
    """Make `device` current while graphs on it are captured or replayed (a graph replays on the
    current device's stream; `cuda:1` must not be captured on or replayed from cuda:0's)."""
    return torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()


def capture(body: Callable[[], None], device: torch.device) -> torch.cuda.CUDAGraph:
    """Warm `body` up on a side stream, then capture it on a stream of `device`; replaying the
    graph reruns its kernels on the same tensors. Raises RuntimeError when the body cannot be
    captured (torch.OutOfMemoryError when memory ran out)."""
    with on_device(device):
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_RUNS):
                body()
        torch.cuda.current_stream(device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # thread_local: work launched from another thread must not invalidate this capture.
        with torch.cuda.graph(graph, stream=torch.cuda.Stream(device), capture_error_mode="thread_local"):
            body()
    return graph


def capture_or_none(body: Callable[[], None], device: torch.device, what: object) -> torch.cuda.CUDAGraph | None:
    """`capture`, or None (logged) when it fails: the caller then runs `body` eagerly, since no
    request or run should fail for want of a graph. Running out of memory is transient and
    propagates, so the caller's out-of-memory handling applies and nothing is cached."""
    try:
        return capture(body, device)
    except torch.OutOfMemoryError:
        raise
    except RuntimeError:
        logger.exception("CUDA graph capture failed for %s; it runs eagerly", what)
        return None


Entry = TypeVar("Entry")


class GraphCache(Generic[Entry]):
    """Captured graphs by key: at most `max_graphs`, the least recently used dropped first (its
    device memory goes with it). Not thread-safe: its owner holds a lock around each use."""

    def __init__(self, max_graphs: int) -> None:
        if max_graphs < 1:
            raise ValueError("max_graphs must be >= 1")
        self.max_graphs = max_graphs
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self.builds = 0
        """Entries built so far, captured or eager (how well the keys are reused)."""

    def get(self, key: Hashable, build: Callable[[], Entry]) -> Entry:
        """The entry for `key`, built (and the oldest dropped, past max_graphs) if new."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry
        entry = build()
        self.builds += 1
        self._entries[key] = entry
        while len(self._entries) > self.max_graphs:
            self._entries.popitem(last=False)
        return entry

    @property
    def captured(self) -> int:
        """Cached entries that replay a real CUDA graph (the others run eagerly)."""
        return sum(bool(getattr(entry, "captured", False)) for entry in self._entries.values())

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class ShapeGraphs:
    """Replays functions of tensors as CUDA graphs, one per (name, input shapes, dtypes, device);
    keeps at most `max_graphs` (least recently used goes). The caller pads inputs to few shapes.

    A function must not read tensors on the host. Its result is copied out of the graph's static
    output, so a later replay never changes what an earlier call returned. A failed capture runs
    that shape eagerly from then on. With `capture=False` every call is eager (CPU tests).
    """

    def __init__(self, max_graphs: int = 64, capture: bool = True) -> None:
        self.max_graphs = max_graphs
        self.capture = capture
        self.cache: GraphCache[_ShapeGraph] = GraphCache(max_graphs)
        """The captured shapes (`len`, `builds`, `captured` tell how they are used)."""
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, object]) -> ShapeGraphs:
        """A copied model starts without graphs: they hold the original's device buffers."""
        return ShapeGraphs(self.max_graphs, self.capture)

    def __reduce__(self) -> tuple[type[ShapeGraphs], tuple[int, bool]]:
        """Pickled as its settings alone, for the same reason."""
        return ShapeGraphs, (self.max_graphs, self.capture)

    @torch.inference_mode()
    def __call__(self, fn: Callable[..., torch.Tensor], *inputs: torch.Tensor) -> torch.Tensor:
        """fn(*inputs), replayed from the graph captured for these shapes (captured if new).
        One cache serves one function. Always in inference mode: the static tensors are created
        and updated in it."""
        key = tuple((tuple(t.shape), t.dtype, t.device) for t in inputs)
        with self._lock, on_device(inputs[0].device):
            graph = self.cache.get(key, lambda: _ShapeGraph(fn, inputs, self.capture))
            return graph.run(fn, inputs)


class _ShapeGraph:
    """Static inputs, the captured call and its static output."""

    def __init__(self, fn: Callable[..., torch.Tensor], inputs: tuple[torch.Tensor, ...], capture_graph: bool) -> None:
        self.inputs = [t.clone() for t in inputs]
        self.output: torch.Tensor | None = None
        self.graph: torch.cuda.CUDAGraph | None = None
        if capture_graph:
            def body() -> None:
                self.output = fn(*self.inputs)

            self.graph = capture_or_none(body, inputs[0].device, getattr(fn, "__name__", fn))

    @property
    def captured(self) -> bool:
        """Whether replay launches a captured graph (False: the function runs eagerly)."""
        return self.graph is not None

    def run(self, fn: Callable[..., torch.Tensor], inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """fn(*inputs): copied into the static inputs and replayed, or run eagerly without a graph."""
        if self.graph is None or self.output is None:
            return fn(*inputs)
        for static, value in zip(self.inputs, inputs, strict=True):
            static.copy_(value)
        self.graph.replay()
        return self.output.clone()
