"""Giving freed heap memory back to the operating system when the inference worker goes idle.

A batch allocates hundreds of MB of spectrograms and Griffin-Lim buffers. glibc keeps much of what
is freed in its arenas, so resident memory follows the largest batches seen so far rather than what
is live. `malloc_trim(0)` returns the free part; live objects (a real leak) stay, so the resident
size then measures what the process holds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from collections.abc import Callable

logger = logging.getLogger(__name__)


def _load_malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        function: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return function


class HeapTrimmer:
    """Calls malloc_trim(0) on demand; a no-op without glibc."""

    def __init__(self) -> None:
        self._malloc_trim = _load_malloc_trim()
        self.trims = 0
        """Times memory was handed back (for tests and diagnostics)."""
        if self._malloc_trim is None:
            logger.debug("malloc_trim is not available; freed heap memory stays with the process")

    @property
    def available(self) -> bool:
        """Whether this C library can trim."""
        return self._malloc_trim is not None

    def trim(self) -> None:
        """Return free heap memory to the operating system."""
        if self._malloc_trim is not None:
            self._malloc_trim(0)
            self.trims += 1


CPU_OUT_OF_MEMORY = ("[enforce fail at alloc_cpu", "DefaultCPUAllocator: can't allocate memory")
"""How PyTorch's RuntimeError for a CPU tensor it cannot allocate begins, and a phrase it holds
(enough alone, for builds whose message begins differently)."""


def is_out_of_memory(error: BaseException) -> bool:
    """Whether `error` is running out of memory: on the GPU (torch.OutOfMemoryError), in a CPU
    tensor allocation (a RuntimeError from PyTorch's allocator), or in Python (MemoryError)."""
    if isinstance(error, MemoryError) or _is_torch_out_of_memory(error):
        return True
    message = str(error) if isinstance(error, RuntimeError) else ""
    return message.startswith(CPU_OUT_OF_MEMORY[0]) or CPU_OUT_OF_MEMORY[1] in message


def _is_torch_out_of_memory(error: BaseException) -> bool:
    """torch.OutOfMemoryError, without importing torch: an error of torch's means torch is loaded
    (a slim install, on ONNX Runtime, has none)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(error, torch.OutOfMemoryError)
