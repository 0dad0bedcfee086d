"""CUDA graphs for Griffin-Lim: all of `fast_griffin_lim`'s iterations captured once per shape.

On a GPU, 60 Griffin-Lim iterations over a sentence or two are about a thousand small kernels, and
launching them costs more than running them. A graph holds a static magnitude buffer and its output
waves, and replays every iteration at once. It is captured per (device, dtype, batch bucket = next
power of two, frame bucket = multiple of FRAME_BUCKET, STFT settings, iterations, momentum).
Batches are padded with silent frames and silent rows: `griffin_lim` already ends every item in
silence so that a batch gives each item what it gets alone, so more silence changes nothing real
(within float tolerance). With `capture=False` the padded run is eager: that is how the tests check
the padding on a CPU.
Shape legend: B batch, B_pad its bucket, T frames, T_pad their bucket.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import torch

from tts import cuda_graph
from tts.audio.config import AudioConfig
from tts.audio.griffin_lim import Frames, fast_griffin_lim
from tts.cuda_graph import GraphCache, batch_bucket, round_up

FRAME_BUCKET = 64
"""Frame counts are padded up to a multiple of this."""


def frame_bucket(frames: int) -> int:
    """The padded frame count a graph is captured for."""
    return round_up(frames, FRAME_BUCKET)


@dataclass(frozen=True)
class _Key:
    """What a captured Griffin-Lim graph is specialised to."""

    device: torch.device
    dtype: torch.dtype
    batch: int  # B_pad
    frames: int  # T_pad
    n_fft: int
    hop_length: int
    win_length: int
    iterations: int
    momentum: float


class _Graph:
    """A static magnitude buffer, its output, and the captured iterations (or their eager run)."""

    def __init__(self, key: _Key, n_freq: int, capture_graph: bool) -> None:
        self.key = key
        self.magnitude = torch.zeros(key.batch, n_freq, key.frames, dtype=key.dtype, device=key.device)
        self.waves = torch.zeros(key.batch, (key.frames - 1) * key.hop_length, dtype=key.dtype,
                                 device=key.device)
        # Built once outside any capture: it checks the window envelope on the host.
        self.frames = Frames(key.batch, key.frames, key.n_fft, key.hop_length, key.win_length,
                             key.dtype, key.device)
        self.graph: torch.cuda.CUDAGraph | None = None
        if capture_graph:
            self.graph = cuda_graph.capture_or_none(self._body, key.device, key)

    @property
    def captured(self) -> bool:
        """Whether replay launches a captured graph (False: the iterations run eagerly)."""
        return self.graph is not None

    def _body(self) -> None:
        key = self.key
        self.waves.copy_(fast_griffin_lim(self.magnitude, key.n_fft, key.hop_length, key.win_length,
                                          key.iterations, key.momentum, frames=self.frames))

    def run(self) -> None:
        """Griffin-Lim over the magnitude buffer into the waves buffer."""
        if self.graph is not None:
            self.graph.replay()
        else:
            self._body()


class GriffinLimGraphs:
    """Runs `fast_griffin_lim` by replaying captured graphs; keeps at most `max_graphs` (LRU).

    One lock serialises runs: the graphs' buffers are shared between calls.
    """

    def __init__(self, max_graphs: int = 64, capture: bool = True) -> None:
        self.capture = capture
        self.cache: GraphCache[_Graph] = GraphCache(max_graphs)
        """The captured buckets (`len`, `builds`, `captured` tell how they are used)."""
        self._lock = threading.Lock()

    @torch.inference_mode()
    def run(self, magnitude: torch.Tensor, config: AudioConfig) -> torch.Tensor:
        """`fast_griffin_lim` with the config's STFT settings, iterations and momentum.

        magnitude [B, n_freq, T] (linear) -> waves [B, (T - 1) * hop_length]. Always in inference
        mode: the buffers a graph keeps are created and updated in it.
        """
        batch, n_freq, frames = magnitude.shape
        key = _Key(magnitude.device, magnitude.dtype, batch_bucket(batch), frame_bucket(frames),
                   config.n_fft, config.hop_length, config.win_length, config.griffin_lim_iters,
                   config.griffin_lim_momentum)
        with self._lock, cuda_graph.on_device(magnitude.device):
            graph = self.cache.get(key, lambda: _Graph(key, n_freq, self.capture))
            graph.magnitude.zero_()
            graph.magnitude[:batch, :, :frames].copy_(magnitude)
            graph.run()
            return graph.waves[:batch, : (frames - 1) * config.hop_length].clone()
