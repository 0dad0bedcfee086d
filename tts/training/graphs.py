"""CUDA graphs for training: the decoder's teacher-forced loop, forward and backward, captured per
padded shape.

A training step decodes T_steps small decoder steps, each a few dozen kernels forward and more
backward; on a GPU the step costs what launching them costs, not their arithmetic. `GraphedSteps`
captures `Decoder.run_steps` with `torch.cuda.make_graphed_callables` once per bucket of shapes
(batch, steps and symbols rounded up), pads each batch into its bucket and slices the outputs back,
so the loss sees exactly the unpadded outputs: the loop is causal in steps, padded symbols are
masked out of attention and padded rows are separate items, so padding changes nothing real (up to
float rounding of longer sums).

The pre-net, with its random dropout, stays outside the graph: capturing draws nothing from the RNG,
so a resumed run draws the same dropout as an uninterrupted one. The graphs share one memory pool,
which is safe because a training step replays one graph, forward then backward, never two at once,
and uses its outputs (and the gradients, which parameters may hold as views of the graph's static
buffers until the next zero_grad) before the next replay.
Shape legend: B batch, T_steps decoder steps, T_text symbols.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from tts.cuda_graph import GraphCache, round_up
from tts.model.decoder import Decoder

logger = logging.getLogger(__name__)

STEP_BUCKET = 32
"""Decoder steps are padded up to a multiple of this."""

TEXT_BUCKET = 32
"""Symbols are padded up to a multiple of this."""

WARMUP_ITERATIONS = 2
"""Eager forward-backward passes before a capture (library initialisation must not be captured)."""


class _DecoderSteps(nn.Module):
    """`Decoder.run_steps` as a module, so that capturing it includes the decoder's parameters."""

    def __init__(self, decoder: Decoder) -> None:
        super().__init__()
        self.decoder = decoder

    def forward(
        self, prenet_out: torch.Tensor, memory: torch.Tensor, text_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.decoder.run_steps(prenet_out, memory, text_mask)


class GraphedSteps:
    """A drop-in for `Decoder.run_steps` in training that replays captured CUDA graphs.

    Batches are padded to `batch_size` rows (a short last batch costs a full one), steps and
    symbols to their buckets; at most `max_graphs` buckets stay captured (least recently used
    goes). Only for a CUDA model trained in one process without autocast. With `capture=False`
    the padded loop runs eagerly instead (how the padding is tested on a CPU).
    """

    def __init__(self, decoder: Decoder, batch_size: int, max_graphs: int = 48, capture: bool = True) -> None:
        self.decoder = decoder
        self.batch_size = batch_size
        self.capture = capture
        self.cache: GraphCache[Callable[..., Any]] = GraphCache(max_graphs)
        """The graphed loop per bucket (with capture off or failed, the eager one)."""
        self._pool: Any = None
        self.captures = 0
        """Buckets captured so far (each costs a few eager steps)."""

    def __call__(
        self, prenet_out: torch.Tensor, memory: torch.Tensor, text_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`Decoder.run_steps`' contract. prenet_out [B, T_steps, P], memory [B, T_text, E],
        text_mask [B, T_text] -> (frames [B, T_steps, r * n_mels], stops [B, T_steps],
        alignments [B, T_steps, T_text])."""
        batch, steps, _ = prenet_out.shape
        length = memory.size(1)
        if batch > self.batch_size or (self.capture and not prenet_out.is_cuda):
            return self.decoder.run_steps(prenet_out, memory, text_mask)
        key = (self.batch_size, round_up(steps, STEP_BUCKET), round_up(length, TEXT_BUCKET))
        padded_batch, padded_steps, padded_length = key
        rows = padded_batch - batch
        prenet_in = F.pad(prenet_out, (0, 0, 0, padded_steps - steps, 0, rows))
        memory_in = F.pad(memory, (0, 0, 0, padded_length - length, 0, rows))
        mask_in = F.pad(text_mask, (0, padded_length - length, 0, rows), value=False)
        graphed = self.cache.get(key, lambda: self._build(key, prenet_in, memory_in, mask_in))
        frames, stops, alignments = graphed(prenet_in, memory_in, mask_in)
        return frames[:batch, :steps], stops[:batch, :steps], alignments[:batch, :steps, :length]

    def _build(
        self, key: tuple[int, int, int], prenet_in: torch.Tensor, memory_in: torch.Tensor,
        mask_in: torch.Tensor,
    ) -> Callable[..., Any]:
        """The loop for a new bucket, captured forward and backward from detached copies of the
        inputs (the eager loop with capture off, or when capture fails for another reason than
        memory)."""
        if not self.capture:
            return _DecoderSteps(self.decoder)
        if self._pool is None:
            self._pool = torch.cuda.graph_pool_handle()
        samples = (prenet_in.detach().clone().requires_grad_(prenet_in.requires_grad),
                   memory_in.detach().clone().requires_grad_(memory_in.requires_grad),
                   mask_in.clone())
        try:
            graphed = torch.cuda.make_graphed_callables(
                _DecoderSteps(self.decoder), samples, num_warmup_iters=WARMUP_ITERATIONS,
                allow_unused_input=True, pool=self._pool,
            )
        except torch.OutOfMemoryError:
            raise  # the step fails as any out-of-memory step does; nothing is cached
        except RuntimeError:  # train on rather than stop: this bucket runs eagerly
            logger.exception("CUDA graph capture failed for batch %d, %d steps, %d symbols; "
                             "that bucket trains eagerly", *key)
            graphed = _DecoderSteps(self.decoder)
        else:
            self.captures += 1
            logger.info("captured the decoder loop for batch %d, %d steps, %d symbols (%d graphs)",
                        *key, len(self.cache) + 1)
        return graphed
