"""Free-running decoding for inference: `Decoder.step` rearranged so a step launches few kernels.

At small batch sizes a decoder step costs what its launches cost, not its arithmetic, so the same
computation is regrouped (`Decoder.reference_infer`, a plain loop over `Decoder.step`, stays the
readable specification):
- layers that read the same input share one matmul: the context feeds the attention GRU, the input
  projection and the output projection through one weight; mel and stop come from one projection;
- weights are split instead of inputs concatenated, so no step calls torch.cat;
- GRU gates are updated in place (6 kernels instead of 12 in `nn.GRUCell`);
- the location convolution and its linear projection fold into one convolution, read from a
  pre-padded buffer that also accumulates the cumulative weights;
- the attention score's bias, which softmax ignores, is dropped, and the padding mask is added by
  the same kernel that scores;
- pre-net dropout masks are drawn for a chunk of steps at once, and the stop token is checked once
  per chunk, so the host waits on the device once per chunk.
Results equal `Decoder.reference_infer`'s within float tolerance (tests/test_fast_decode.py).
The caller chooses the CPU threads (`Tacotron.infer` enters `tts.threads.inference_threads` once).
Shape legend: B batch, T_text encoder steps, T_steps decoder steps, r frames per step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from tts.model.dropout import dropout_masks

if TYPE_CHECKING:
    from tts.model.decoder import Decoder



class GRUWeights(NamedTuple):
    """A GRU cell's recurrent weight, transposed for `hidden @ weight`, and its bias."""

    hidden_weight: torch.Tensor  # [H, 3H]
    hidden_bias: torch.Tensor  # [3H]


class FusedDecoder(NamedTuple):
    """A decoder's parameters regrouped for `fast_decode`; rebuilt at each call from the live ones."""

    prenet: list[tuple[torch.Tensor, torch.Tensor]]  # per layer: weight [in, out], bias [out]
    attention_input: torch.Tensor  # [prenet_dim, 3 * attention_rnn_dim]: pre-net part of the GRU input
    attention_rnn: GRUWeights
    query: torch.Tensor  # [attention_rnn_dim, attention_dim]
    location: torch.Tensor  # [attention_dim, 2, kernel]: location conv followed by its projection
    score: torch.Tensor  # [1, 1, attention_dim]
    context: torch.Tensor  # [encoder_dim, 3 * attention_rnn_dim + decoder_rnn_dim + r * n_mels + 1]
    context_bias: torch.Tensor  # [3 * attention_rnn_dim + decoder_rnn_dim + r * n_mels + 1]
    input_hidden: torch.Tensor  # [attention_rnn_dim, decoder_rnn_dim]
    rnn_1_input: tuple[torch.Tensor, torch.Tensor]  # weight [decoder_rnn_dim, 3 * decoder_rnn_dim], bias
    rnn_1: GRUWeights
    rnn_2_input: tuple[torch.Tensor, torch.Tensor]
    rnn_2: GRUWeights
    output: torch.Tensor  # [decoder_rnn_dim, r * n_mels + 1]: mel frames then the stop logit


def fuse(decoder: Decoder) -> FusedDecoder:
    """Regroup a decoder's parameters (a handful of concatenations, cheap next to decoding)."""
    attention = decoder.attention
    prenet_dim = decoder.prenet.widths[-1]
    attention_dim = attention.query_layer.out_features
    rnn_dim = decoder.input_projection.out_features
    attention_weight = decoder.attention_rnn.weight_ih  # [3H_a, prenet_dim + encoder_dim]
    projection_weight = decoder.input_projection.weight  # [D, H_a + encoder_dim]
    attention_rnn_dim = decoder.attention_rnn.hidden_size
    output_weight = torch.cat((decoder.mel_projection.weight, decoder.stop_projection.weight))
    output_bias = torch.cat((decoder.mel_projection.bias, decoder.stop_projection.bias))
    context_weight = torch.cat((
        attention_weight[:, prenet_dim:],
        projection_weight[:, attention_rnn_dim:],
        output_weight[:, rnn_dim:],
    ))  # [3H_a + D + r * n_mels + 1, encoder_dim]
    context_bias = torch.cat((
        decoder.attention_rnn.bias_ih, decoder.input_projection.bias, output_bias
    ))
    location = torch.einsum(
        "af,fck->ack", attention.location_layer.weight, attention.location_conv.weight
    )
    return FusedDecoder(
        prenet=[(layer.weight.t().contiguous(), layer.bias)
                for layer in decoder.prenet.layers if isinstance(layer, nn.Linear)],
        attention_input=attention_weight[:, :prenet_dim].t().contiguous(),
        attention_rnn=_gru_weights(decoder.attention_rnn),
        query=attention.query_layer.weight.t().contiguous(),
        location=location,
        score=attention.score.weight.view(1, 1, attention_dim),
        context=context_weight.t(),
        context_bias=context_bias,
        input_hidden=projection_weight[:, :attention_rnn_dim].t().contiguous(),
        rnn_1_input=(decoder.rnn_1.weight_ih.t().contiguous(), decoder.rnn_1.bias_ih),
        rnn_1=_gru_weights(decoder.rnn_1),
        rnn_2_input=(decoder.rnn_2.weight_ih.t().contiguous(), decoder.rnn_2.bias_ih),
        rnn_2=_gru_weights(decoder.rnn_2),
        output=output_weight[:, :rnn_dim].t().contiguous(),
    )


def fused_tensors(weights: FusedDecoder) -> list[torch.Tensor]:
    """Every tensor of a FusedDecoder, in a fixed order."""
    flat: list[torch.Tensor] = []
    for value in weights:
        if isinstance(value, torch.Tensor):
            flat.append(value)
        elif isinstance(value, list):
            flat.extend(t for pair in value for t in pair)
        else:
            flat.extend(value)
    return flat


def map_fused(weights: FusedDecoder, fn: Callable[[torch.Tensor], torch.Tensor]) -> FusedDecoder:
    """A FusedDecoder with `fn` applied to each tensor."""
    fields: list[object] = []
    for value in weights:
        if isinstance(value, torch.Tensor):
            fields.append(fn(value))
        elif isinstance(value, list):
            fields.append([tuple(fn(t) for t in pair) for pair in value])
        elif isinstance(value, GRUWeights):
            fields.append(GRUWeights(*(fn(t) for t in value)))
        else:
            fields.append(tuple(fn(t) for t in value))
    return FusedDecoder(*fields)  # type: ignore[arg-type]  # rebuilt field by field, as read


def _gru_weights(cell: nn.GRUCell) -> GRUWeights:
    return GRUWeights(cell.weight_hh.t().contiguous(), cell.bias_hh)


def gru_update(input_gates: torch.Tensor, hidden: torch.Tensor, weights: GRUWeights) -> torch.Tensor:
    """One GRU cell update (PyTorch's gate order r, z, n) from precomputed input gates.

    input_gates [B, 3H] (W_ih x + b_ih; overwritten), hidden [B, H] -> new hidden [B, H].
    """
    size = hidden.size(1)
    hidden_gates = torch.addmm(weights.hidden_bias, hidden, weights.hidden_weight)  # [B, 3H]
    input_reset_update, input_candidate = input_gates.split((2 * size, size), dim=1)
    hidden_reset_update, hidden_candidate = hidden_gates.split((2 * size, size), dim=1)
    reset, update = input_reset_update.add_(hidden_reset_update).sigmoid_().chunk(2, dim=1)
    candidate = input_candidate.addcmul_(reset, hidden_candidate).tanh_()
    return torch.lerp(candidate, hidden, update)  # (1 - z) * n + z * h


class Utterance(NamedTuple):
    """Per-call constants: the encoder side of attention, prepared once."""

    processed_memory: torch.Tensor  # [B, attention_dim, T_text] (channels first, like the conv)
    projected_memory: torch.Tensor  # [B, T_text, context_width]: memory @ FusedDecoder.context
    mask_bias: torch.Tensor  # [B, 1, T_text]: 0 at real symbols, the lowest float at padding
    score: torch.Tensor  # [B, 1, attention_dim]


class StepState(NamedTuple):
    """What one fast step hands the next, besides the location buffer it updates in place."""

    attention_hidden: torch.Tensor  # [B, attention_rnn_dim]
    hidden_1: torch.Tensor  # [B, decoder_rnn_dim]
    hidden_2: torch.Tensor  # [B, decoder_rnn_dim]
    attention_gates: torch.Tensor  # [B, 3 * attention_rnn_dim]: the context's part of the GRU input
    frame: torch.Tensor  # [B, n_mels]: the last frame fed back to the pre-net


def prepare_utterance(
    decoder: Decoder, weights: FusedDecoder, memory: torch.Tensor, text_mask: torch.Tensor
) -> Utterance:
    """The encoder side of attention for a batch. memory [B, T_text, encoder_dim], text_mask [B, T_text]."""
    batch, length, _ = memory.shape
    # The context only ever enters linear layers, so each step's projections of it are the
    # attention-weighted sum of the projected memory: one (T_text x width) product per step
    # instead of reading the whole (encoder_dim x width) weight.
    return Utterance(
        processed_memory=decoder.attention.process_memory(memory).transpose(1, 2).contiguous(),
        projected_memory=torch.matmul(memory, weights.context),
        mask_bias=torch.zeros(batch, 1, length, dtype=memory.dtype, device=memory.device).masked_fill_(
            ~text_mask.unsqueeze(1), torch.finfo(memory.dtype).min
        ),
        score=weights.score.expand(batch, 1, -1),
    )


def initial_step_state(decoder: Decoder, weights: FusedDecoder, memory: torch.Tensor) -> StepState:
    """All-zero decoder state for a batch (the context starts at 0, so its gates are the bias)."""
    batch = memory.size(0)
    return StepState(
        attention_hidden=memory.new_zeros(batch, decoder.attention_rnn.hidden_size),
        hidden_1=memory.new_zeros(batch, decoder.rnn_1.hidden_size),
        hidden_2=memory.new_zeros(batch, decoder.rnn_2.hidden_size),
        attention_gates=weights.context_bias[: 3 * decoder.attention_rnn.hidden_size].expand(batch, -1),
        frame=memory.new_zeros(batch, decoder.n_mels),
    )


def location_buffer(memory: torch.Tensor, kernel: int) -> torch.Tensor:
    """Zeroed [B, 2, T_text + kernel - 1]: rows 0 and 1 hold the previous and cumulative attention
    weights, padded for the location convolution."""
    return memory.new_zeros(memory.size(0), 2, memory.size(1) + kernel - 1)


def fast_step(
    weights: FusedDecoder,
    utterance: Utterance,
    location: torch.Tensor,
    state: StepState,
    masks: tuple[torch.Tensor | None, ...],
    last_frame: slice,
) -> tuple[StepState, torch.Tensor, torch.Tensor]:
    """One decoder step, regrouped; `location` is updated in place.

    masks: per pre-net layer [B, width] or None -> (new state, output [B, r * n_mels + 1] (frames,
    then the stop logit), alignment [B, 1, T_text]).
    """
    x = state.frame
    for (weight, bias), mask in zip(weights.prenet, masks, strict=True):
        x = torch.addmm(bias, x, weight).relu_()
        if mask is not None:
            x = x.mul_(mask)
    attention_hidden = gru_update(
        torch.addmm(state.attention_gates, x, weights.attention_input),
        state.attention_hidden, weights.attention_rnn,
    )
    alignment = _attend(attention_hidden, location, weights, utterance)  # [B, 1, T_text]
    pad = (weights.location.size(2) - 1) // 2
    length = alignment.size(2)
    location[:, 0:1, pad : pad + length].copy_(alignment)
    location[:, 1:2, pad : pad + length].add_(alignment)
    widths = [3 * attention_hidden.size(1), state.hidden_1.size(1), weights.output.size(1)]
    fanned = torch.baddbmm(weights.context_bias, alignment, utterance.projected_memory)
    attention_gates, input_part, output_part = fanned.squeeze(1).split(widths, dim=1)
    x = torch.addmm(input_part, attention_hidden, weights.input_hidden)
    hidden_1 = gru_update(
        torch.addmm(weights.rnn_1_input[1], x, weights.rnn_1_input[0]), state.hidden_1, weights.rnn_1
    )
    x = x.add_(hidden_1)
    hidden_2 = gru_update(
        torch.addmm(weights.rnn_2_input[1], x, weights.rnn_2_input[0]), state.hidden_2, weights.rnn_2
    )
    x = x.add_(hidden_2)
    output = torch.addmm(output_part, x, weights.output)  # [B, r * n_mels + 1]
    new_state = StepState(attention_hidden, hidden_1, hidden_2, attention_gates, output[:, last_frame])
    return new_state, output, alignment


def last_frame_slice(decoder: Decoder) -> slice:
    """Where the frame fed back (the last of the step's r frames) sits in a step's output."""
    start = (decoder.reduction_factor - 1) * decoder.n_mels
    return slice(start, start + decoder.n_mels)


def fast_decode(
    decoder: Decoder,
    memory: torch.Tensor,
    text_mask: torch.Tensor,
    max_steps: torch.Tensor,
    seeds: torch.Tensor,
    stop_threshold: float,
    check_every: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Decode until every item stopped or reached its limit; see `Decoder.infer` for the contract.

    memory [B, T_text, encoder_dim], text_mask [B, T_text], max_steps [B], seeds [B]
    -> (outputs [B, T_steps, r * n_mels + 1] (mel frames, then the stop logit),
        alignments [B, T_steps, T_text], steps [B], hit_limit [B] bool).
    """
    weights = fuse(decoder)
    batch = memory.size(0)
    device, dtype = memory.device, memory.dtype
    utterance = prepare_utterance(decoder, weights, memory, text_mask)
    location = location_buffer(memory, weights.location.size(2))
    state = initial_step_state(decoder, weights, memory)
    last_frame = last_frame_slice(decoder)

    max_steps = max_steps.to(device)
    limit = int(max_steps.max())
    steps = max_steps.clone()
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    stopped_by_token = torch.zeros(batch, dtype=torch.bool, device=device)
    outputs: list[torch.Tensor] = []
    alignments: list[torch.Tensor] = []
    for start in range(0, limit, check_every):
        chunk = torch.arange(start, min(start + check_every, limit), device=device)
        for masks in prenet_masks(decoder, seeds, chunk, dtype):
            state, output, alignment = fast_step(weights, utterance, location, state, masks, last_frame)
            outputs.append(output)
            alignments.append(alignment)
        stop_logits = torch.stack(outputs[-chunk.numel() :], dim=1)[:, :, -1]  # [B, n_steps]
        steps, finished, stopped_by_token = check_stops(
            stop_logits, chunk, max_steps, stop_threshold, steps, finished, stopped_by_token
        )
        if bool(finished.all()):
            break
    return torch.stack(outputs, dim=1), torch.cat(alignments, dim=1), steps, ~stopped_by_token


def _attend(
    query_state: torch.Tensor,
    location: torch.Tensor,
    weights: FusedDecoder,
    utterance: Utterance,
) -> torch.Tensor:
    """Location-sensitive attention weights. query_state [B, attention_rnn_dim],
    location [B, 2, T_text + kernel - 1] -> [B, 1, T_text]."""
    query = torch.mm(query_state, weights.query).unsqueeze(2)  # [B, attention_dim, 1]
    features = F.conv1d(location, weights.location)  # [B, attention_dim, T_text]
    hidden = features.add_(utterance.processed_memory).add_(query).tanh_()
    energies = torch.baddbmm(utterance.mask_bias, utterance.score, hidden)  # [B, 1, T_text]
    return torch.softmax(energies, dim=2)


def prenet_masks(
    decoder: Decoder, seeds: torch.Tensor, chunk: torch.Tensor, dtype: torch.dtype
) -> list[tuple[torch.Tensor | None, ...]]:
    """Per step of `chunk`, the dropout multiplier of each pre-net layer ([B, width], or None)."""
    n_layers = len(decoder.prenet.widths)
    if not decoder.prenet_dropout_at_inference or decoder.prenet_dropout == 0.0:
        return [(None,) * n_layers] * chunk.numel()
    per_layer = [
        dropout_masks(seeds, chunk, layer, width, decoder.prenet_dropout, dtype).unbind(1)
        for layer, width in enumerate(decoder.prenet.widths)
    ]  # per layer, n_steps masks [B, width]
    return list(zip(*per_layer, strict=True))


def check_stops(
    stop_logits: torch.Tensor,
    chunk: torch.Tensor,
    max_steps: torch.Tensor,
    threshold: float,
    steps: torch.Tensor,
    finished: torch.Tensor,
    stopped_by_token: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Apply a chunk's stop logits [B, n_steps]: the first firing step within an item's limit
    ends it. -> updated (steps [B], finished [B], stopped_by_token [B])."""
    fires = (torch.sigmoid(stop_logits) > threshold) & (chunk.unsqueeze(0) < max_steps.unsqueeze(1))
    stopped = fires.any(dim=1) & ~finished
    first = chunk[fires.to(torch.uint8).argmax(dim=1)] + 1
    steps = torch.where(stopped, first, steps)
    finished = finished | stopped | (max_steps <= chunk[-1] + 1)
    return steps, finished, stopped_by_token | stopped
