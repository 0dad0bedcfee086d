"""CUDA-graph decoding: a chunk of `fast_step`s captured once as a CUDA graph, replayed per chunk.

On a GPU a decoder step costs what launching its few dozen small kernels costs, not their
arithmetic. A CUDA graph launches a whole chunk of steps (pre-net dropout masks, the stop check and
the step counter included) as one unit. A graph works on static buffers (inputs, decoder state,
outputs) that it updates in place, so it is captured once per (device, dtype, batch bucket,
text bucket) and replayed for every later batch that fits: rows beyond the batch are empty items
that finish at once, symbols beyond an item's text are masked out of attention.

The chunk body (`run_chunk`) is ordinary PyTorch: on a CPU, `GraphDecoder(capture=False)` runs it
eagerly with the same buffers, padding and chunking, which is how the tests check it against
`fast_decode` and `Decoder.reference_infer` without a GPU. Per item the results equal theirs within
float tolerance (padding changes only the length of the sums, never which values enter them).
Shape legend: B batch, B_pad its bucket, T_text symbols, T_pad their bucket, K steps per chunk.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import torch

from tts import cuda_graph
from tts.cuda_graph import GraphCache, batch_bucket, round_up
from tts.model.fast_decode import (
    FusedDecoder,
    StepState,
    Utterance,
    check_stops,
    fast_step,
    fuse,
    fused_tensors,
    last_frame_slice,
    map_fused,
    prenet_masks,
    prepare_utterance,
)

if TYPE_CHECKING:
    from tts.model.decoder import Decoder

TEXT_BUCKET = 32
"""Text lengths are padded up to a multiple of this, so a few graphs cover every sentence."""


def text_bucket(length: int) -> int:
    """The padded text length a graph is captured for: the next multiple of TEXT_BUCKET."""
    return round_up(length, TEXT_BUCKET)


@dataclass(frozen=True)
class GraphKey:
    """What a captured graph is specialised to."""

    device: torch.device
    dtype: torch.dtype
    batch: int  # B_pad
    length: int  # T_pad


class ChunkBuffers(NamedTuple):
    """Every tensor a chunk reads or writes; the graph is captured over these addresses."""

    # inputs, written before each decode
    processed_memory: torch.Tensor  # [B_pad, attention_dim, T_pad]
    projected_memory: torch.Tensor  # [B_pad, T_pad, context_width]
    mask_bias: torch.Tensor  # [B_pad, 1, T_pad]
    score: torch.Tensor  # [B_pad, 1, attention_dim]
    seeds: torch.Tensor  # [B_pad] int64
    max_steps: torch.Tensor  # [B_pad] int64; 0 for padding rows, which finish at once
    # decoder state, carried from chunk to chunk
    location: torch.Tensor  # [B_pad, 2, T_pad + kernel - 1]
    attention_hidden: torch.Tensor  # [B_pad, attention_rnn_dim]
    hidden_1: torch.Tensor  # [B_pad, decoder_rnn_dim]
    hidden_2: torch.Tensor  # [B_pad, decoder_rnn_dim]
    attention_gates: torch.Tensor  # [B_pad, 3 * attention_rnn_dim]
    frame: torch.Tensor  # [B_pad, n_mels]
    start: torch.Tensor  # [1] int64: the first step of the next chunk
    steps: torch.Tensor  # [B_pad] int64
    finished: torch.Tensor  # [B_pad] bool
    stopped_by_token: torch.Tensor  # [B_pad] bool
    # outputs of the last chunk
    outputs: torch.Tensor  # [B_pad, K, r * n_mels + 1]
    alignments: torch.Tensor  # [B_pad, K, T_pad]
    all_finished: torch.Tensor  # [] bool


def allocate_buffers(
    decoder: Decoder, weights: FusedDecoder, key: GraphKey, chunk_steps: int
) -> ChunkBuffers:
    """Zeroed buffers for one graph."""
    batch, length = key.batch, key.length

    def zeros(*shape: int, dtype: torch.dtype = key.dtype) -> torch.Tensor:
        return torch.zeros(*shape, dtype=dtype, device=key.device)

    attention_dim = weights.query.size(1)
    hidden = decoder.attention_rnn.hidden_size
    rnn = decoder.rnn_1.hidden_size
    return ChunkBuffers(
        processed_memory=zeros(batch, attention_dim, length),
        projected_memory=zeros(batch, length, weights.context.size(1)),
        mask_bias=zeros(batch, 1, length),
        score=zeros(batch, 1, attention_dim),
        seeds=zeros(batch, dtype=torch.int64),
        max_steps=zeros(batch, dtype=torch.int64),
        location=zeros(batch, 2, length + weights.location.size(2) - 1),
        attention_hidden=zeros(batch, hidden),
        hidden_1=zeros(batch, rnn),
        hidden_2=zeros(batch, rnn),
        attention_gates=zeros(batch, 3 * hidden),
        frame=zeros(batch, decoder.n_mels),
        start=zeros(1, dtype=torch.int64),
        steps=zeros(batch, dtype=torch.int64),
        finished=zeros(batch, dtype=torch.bool),
        stopped_by_token=zeros(batch, dtype=torch.bool),
        outputs=zeros(batch, chunk_steps, weights.output.size(1)),
        alignments=zeros(batch, chunk_steps, length),
        all_finished=torch.zeros((), dtype=torch.bool, device=key.device),
    )


def load_batch(
    decoder: Decoder,
    weights: FusedDecoder,
    buffers: ChunkBuffers,
    memory: torch.Tensor,
    text_mask: torch.Tensor,
    max_steps: torch.Tensor,
    seeds: torch.Tensor,
) -> None:
    """Write a batch into the buffers (padding rows and positions included) and reset the state.

    memory [B, T_text, encoder_dim], text_mask [B, T_text], max_steps [B], seeds [B].
    """
    batch, length, _ = memory.shape
    utterance = prepare_utterance(decoder, weights, memory, text_mask)
    buffers.processed_memory.zero_()
    buffers.processed_memory[:batch, :, :length].copy_(utterance.processed_memory)
    buffers.projected_memory.zero_()
    buffers.projected_memory[:batch, :length].copy_(utterance.projected_memory)
    buffers.mask_bias.fill_(torch.finfo(memory.dtype).min)
    buffers.mask_bias[:batch, :, :length].copy_(utterance.mask_bias)
    buffers.score.copy_(weights.score.expand_as(buffers.score))
    buffers.seeds.zero_()
    buffers.seeds[:batch].copy_(seeds)
    buffers.max_steps.zero_()
    buffers.max_steps[:batch].copy_(max_steps)
    for state in (buffers.attention_hidden, buffers.hidden_1, buffers.hidden_2, buffers.frame,
                  buffers.location, buffers.start, buffers.finished, buffers.stopped_by_token):
        state.zero_()
    # The context starts at 0, so the attention GRU's context gates start at their bias.
    buffers.attention_gates.copy_(weights.context_bias[: buffers.attention_gates.size(1)].expand_as(
        buffers.attention_gates))
    buffers.steps.copy_(buffers.max_steps)


def _state_buffers(buffers: ChunkBuffers) -> StepState:
    return StepState(buffers.attention_hidden, buffers.hidden_1, buffers.hidden_2,
                     buffers.attention_gates, buffers.frame)


def run_chunk(
    decoder: Decoder, weights: FusedDecoder, buffers: ChunkBuffers, stop_threshold: float
) -> None:
    """K decoder steps from the buffers' state, written back in place: what a graph replays.

    Allocates only temporaries, reads the step counter from a tensor and never waits on the
    device, so it can be captured as it is.
    """
    chunk_steps = buffers.outputs.size(1)
    chunk = buffers.start + torch.arange(chunk_steps, device=buffers.start.device)  # [K]
    utterance = Utterance(buffers.processed_memory, buffers.projected_memory, buffers.mask_bias,
                          buffers.score)
    state = _state_buffers(buffers)
    last_frame = last_frame_slice(decoder)
    outputs, alignments = [], []
    for masks in prenet_masks(decoder, buffers.seeds, chunk, buffers.outputs.dtype):
        state, output, alignment = fast_step(
            weights, utterance, buffers.location, state, masks, last_frame
        )
        outputs.append(output)
        alignments.append(alignment)
    for target, value in zip(_state_buffers(buffers), state, strict=True):
        target.copy_(value)
    stacked = torch.stack(outputs, dim=1)  # [B_pad, K, r * n_mels + 1]
    buffers.outputs.copy_(stacked)
    buffers.alignments.copy_(torch.cat(alignments, dim=1))
    steps, finished, stopped = check_stops(
        stacked[:, :, -1], chunk, buffers.max_steps, stop_threshold,
        buffers.steps, buffers.finished, buffers.stopped_by_token,
    )
    buffers.steps.copy_(steps)
    buffers.finished.copy_(finished)
    buffers.stopped_by_token.copy_(stopped)
    buffers.all_finished.copy_(finished.all())
    buffers.start.add_(chunk_steps)


class _Graph:
    """One captured chunk (or, without capture, its eager stand-in) and its buffers."""

    def __init__(
        self, decoder: Decoder, weights: FusedDecoder, key: GraphKey, chunk_steps: int,
        stop_threshold: float, capture: bool,
    ) -> None:
        self.buffers = allocate_buffers(decoder, weights, key, chunk_steps)
        self.stop_threshold = stop_threshold
        self._decoder, self._weights = decoder, weights
        self._graph: torch.cuda.CUDAGraph | None = None
        if capture:
            self._graph = cuda_graph.capture_or_none(
                lambda: run_chunk(decoder, weights, self.buffers, stop_threshold), key.device, key)

    @property
    def captured(self) -> bool:
        """Whether replay launches a captured graph (False: the chunk runs eagerly)."""
        return self._graph is not None

    def replay(self) -> None:
        """Run one chunk."""
        if self._graph is not None:
            self._graph.replay()
        else:
            run_chunk(self._decoder, self._weights, self.buffers, self.stop_threshold)


class GraphDecoder:
    """Decodes batches by replaying captured chunks; keeps at most `max_graphs` graphs (LRU).

    One lock serialises decodes: the graphs share their static buffers between calls. Fused
    weights live at fixed addresses and are refreshed in place (no recapture) whenever the
    decoder's parameters change, e.g. after a training step or `load_state_dict`.
    """

    def __init__(self, max_graphs: int = 64, capture: bool = True) -> None:
        self.max_graphs = max_graphs
        self.capture = capture
        self.cache: GraphCache[_Graph] = GraphCache(max_graphs)
        """The captured buckets (`len`, `builds`, `captured` tell how they are used)."""
        self._weights: dict[tuple[torch.device, torch.dtype], FusedDecoder] = {}
        self._lock = threading.Lock()

    def fresh(self) -> GraphDecoder:
        """An empty decoder with the same settings."""
        return GraphDecoder(self.max_graphs, self.capture)

    def __deepcopy__(self, memo: dict[int, object]) -> GraphDecoder:
        """A copied model starts without graphs: they hold the original's device buffers."""
        return self.fresh()

    def __reduce__(self) -> tuple[type[GraphDecoder], tuple[int, bool]]:
        """Pickled as its settings alone, for the same reason."""
        return GraphDecoder, (self.max_graphs, self.capture)

    def clear(self) -> None:
        """Drop every graph and static weight (frees their device memory)."""
        with self._lock:
            self.cache.clear()
            self._weights.clear()

    @torch.inference_mode()
    def decode(
        self,
        decoder: Decoder,
        memory: torch.Tensor,
        text_mask: torch.Tensor,
        max_steps: torch.Tensor,
        seeds: torch.Tensor,
        stop_threshold: float,
        chunk_steps: int = 8,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """`fast_decode` with check_every = chunk_steps, computed by graph replays.

        memory [B, T_text, encoder_dim], text_mask [B, T_text], max_steps [B], seeds [B]
        -> (outputs [B, T_steps, r * n_mels + 1], alignments [B, T_steps, T_text], steps [B],
        hit_limit [B] bool). Always in inference mode, whatever the caller's grad mode: the
        buffers a graph keeps are created and updated in it.
        """
        if chunk_steps < 1:
            raise ValueError(f"chunk_steps must be >= 1, got {chunk_steps}")
        batch, length, _ = memory.shape
        device = memory.device
        key = GraphKey(device, memory.dtype, batch_bucket(batch), text_bucket(length))
        max_steps = max_steps.to(device)
        limit = int(max_steps.max())
        with self._lock, cuda_graph.on_device(device):
            weights = self._static_weights(decoder, device, memory.dtype)
            graph = self._graph(decoder, weights, key, chunk_steps, stop_threshold)
            buffers = graph.buffers
            load_batch(decoder, weights, buffers, memory, text_mask, max_steps, seeds.to(device))
            n_chunks = -(-limit // chunk_steps)
            outputs = memory.new_empty(batch, n_chunks * chunk_steps, buffers.outputs.size(2))
            alignments = memory.new_empty(batch, n_chunks * chunk_steps, length)
            done = self._replay_until_finished(graph, outputs, alignments, n_chunks)
            used = min(done * chunk_steps, limit)
            steps, hit_limit = buffers.steps[:batch].clone(), ~buffers.stopped_by_token[:batch]
        return outputs[:, :used], alignments[:, :used], steps, hit_limit

    def _replay_until_finished(
        self, graph: _Graph, outputs: torch.Tensor, alignments: torch.Tensor, n_chunks: int
    ) -> int:
        """Replay chunks, copying each one's outputs out, until every item finished -> chunks used.

        The host reads chunk c's finished flag only after launching chunk c + 1, so on a GPU it
        never leaves the device idle while it waits; that extra chunk is then discarded (items
        that finished do not change). A CPU runs the same schedule, so its tests check it.
        """
        buffers = graph.buffers
        size = buffers.outputs.size(1)
        batch, length = outputs.size(0), alignments.size(2)
        cuda = buffers.all_finished.is_cuda
        flags = [torch.zeros((), dtype=torch.bool, pin_memory=cuda) for _ in range(2)]
        events = [torch.cuda.Event() for _ in range(2)] if cuda else []
        for index in range(n_chunks + 1):
            if index < n_chunks:
                graph.replay()
                outputs[:, index * size : (index + 1) * size].copy_(buffers.outputs[:batch])
                alignments[:, index * size : (index + 1) * size].copy_(buffers.alignments[:batch, :, :length])
                flags[index % 2].copy_(buffers.all_finished, non_blocking=cuda)
                if cuda:
                    events[index % 2].record()
            if index >= 1:
                if cuda:
                    events[(index - 1) % 2].synchronize()
                if bool(flags[(index - 1) % 2]):
                    return index
        return n_chunks

    def _graph(
        self, decoder: Decoder, weights: FusedDecoder, key: GraphKey, chunk_steps: int, stop_threshold: float
    ) -> _Graph:
        """The cached graph for this bucket, chunk size and threshold (constants inside it),
        captured if new."""
        return self.cache.get(
            (key, chunk_steps, stop_threshold),
            lambda: _Graph(decoder, weights, key, chunk_steps, stop_threshold, self.capture),
        )

    def _static_weights(self, decoder: Decoder, device: torch.device, dtype: torch.dtype) -> FusedDecoder:
        """The fused weights at the fixed addresses the graphs read, refreshed from the live
        parameters at every decode: no version counter sees every update (fused optimisers and
        `.data` writes leave it alone), and a refresh is a few dozen small copies."""
        fresh = fuse(decoder)
        static = self._weights.get((device, dtype))
        if static is None:
            static = map_fused(fresh, lambda t: t.detach().to(dtype).clone())
            self._weights[(device, dtype)] = static
        else:
            for target, source in zip(fused_tensors(static), fused_tensors(fresh), strict=True):
                target.copy_(source)
        return static
