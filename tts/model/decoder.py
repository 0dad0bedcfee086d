"""The Tacotron decoder: pre-net, attention GRU, location-sensitive attention, two residual GRUs,
r mel frames and one stop logit per step.

Decoder state is a value (`DecoderState`) passed into each step and returned from it; nothing is
kept on the module between calls, so inference is reentrant and batchable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import nn

from tts.model.attention import LocationSensitiveAttention
from tts.model.config import TacotronConfig
from tts.model.dropout import dropout_mask, dropout_masks
from tts.model.fast_decode import fast_decode
from tts.model.graph_decode import GraphDecoder
from tts.model.layers import Prenet

StepsFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
"""(prenet_out, memory, text_mask) -> (frames, stop logits, alignments): see `Decoder.run_steps`."""


class DecoderState(NamedTuple):
    """Everything one decoder step needs from the previous one."""

    attention_hidden: torch.Tensor  # [B, attention_rnn_dim]
    decoder_hidden_1: torch.Tensor  # [B, decoder_rnn_dim]
    decoder_hidden_2: torch.Tensor  # [B, decoder_rnn_dim]
    context: torch.Tensor  # [B, encoder_dim]
    attention_weights: torch.Tensor  # [B, T_text]
    cumulative_weights: torch.Tensor  # [B, T_text]


class DecoderOutput(NamedTuple):
    """Decoder results over a whole utterance."""

    mel: torch.Tensor  # [B, T_steps * r, n_mels]
    stop_logits: torch.Tensor  # [B, T_steps]
    alignments: torch.Tensor  # [B, T_steps, T_text]


class Decoder(nn.Module):
    """Autoregressive mel decoder with location-sensitive attention over the encoder outputs."""

    def __init__(self, config: TacotronConfig) -> None:
        super().__init__()
        self.n_mels = config.n_mels
        self.reduction_factor = config.reduction_factor
        self.prenet = Prenet(config.n_mels, config.decoder_prenet_dims, config.prenet_dropout)
        self.prenet_dropout = config.prenet_dropout
        self.prenet_dropout_at_inference = config.prenet_dropout_at_inference
        prenet_dim = config.decoder_prenet_dims[-1]
        self.attention_rnn = nn.GRUCell(prenet_dim + config.encoder_dim, config.attention_rnn_dim)
        self.attention = LocationSensitiveAttention(
            config.attention_rnn_dim, config.encoder_dim, config.attention_dim,
            config.location_filters, config.location_kernel_size,
        )
        self.input_projection = nn.Linear(
            config.attention_rnn_dim + config.encoder_dim, config.decoder_rnn_dim
        )
        self.rnn_1 = nn.GRUCell(config.decoder_rnn_dim, config.decoder_rnn_dim)
        self.rnn_2 = nn.GRUCell(config.decoder_rnn_dim, config.decoder_rnn_dim)
        out_dim = config.decoder_rnn_dim + config.encoder_dim
        self.mel_projection = nn.Linear(out_dim, config.n_mels * config.reduction_factor)
        self.stop_projection = nn.Linear(out_dim, 1)
        self.graphs = GraphDecoder()
        """A cache of CUDA graphs of decoding chunks, captured on first use per batch and text
        bucket. Not decoding state: results are the same with it empty, only slower."""

    def initial_state(self, memory: torch.Tensor) -> DecoderState:
        """All-zero state for a batch. memory [B, T_text, encoder_dim]."""
        batch, length, encoder_dim = memory.shape
        zeros = memory.new_zeros
        return DecoderState(
            attention_hidden=zeros(batch, self.attention_rnn.hidden_size),
            decoder_hidden_1=zeros(batch, self.rnn_1.hidden_size),
            decoder_hidden_2=zeros(batch, self.rnn_2.hidden_size),
            context=zeros(batch, encoder_dim),
            attention_weights=zeros(batch, length),
            cumulative_weights=zeros(batch, length),
        )

    def step(
        self,
        prenet_out: torch.Tensor,
        state: DecoderState,
        memory: torch.Tensor,
        processed_memory: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, DecoderState]:
        """One step: prenet_out [B, prenet_dim] -> (frames [B, r * n_mels], stop logit [B], state)."""
        attention_hidden = self.attention_rnn(
            torch.cat((prenet_out, state.context), dim=1), state.attention_hidden
        )
        context, weights = self.attention(
            attention_hidden, memory, processed_memory,
            state.attention_weights, state.cumulative_weights, mask,
        )
        x = self.input_projection(torch.cat((attention_hidden, context), dim=1))
        hidden_1 = self.rnn_1(x, state.decoder_hidden_1)
        x = x + hidden_1
        hidden_2 = self.rnn_2(x, state.decoder_hidden_2)
        x = x + hidden_2
        out = torch.cat((x, context), dim=1)
        new_state = DecoderState(
            attention_hidden, hidden_1, hidden_2, context, weights,
            state.cumulative_weights + weights,
        )
        return self.mel_projection(out), self.stop_projection(out).squeeze(1), new_state

    def forward(
        self,
        memory: torch.Tensor,
        text_mask: torch.Tensor,
        targets: torch.Tensor,
        feedback: torch.Tensor | None = None,
        run_steps: StepsFn | None = None,
        prenet_masks: Sequence[torch.Tensor | None] | None = None,
    ) -> DecoderOutput:
        """Teacher-forced pass: each step sees the last frame of the previous step.

        memory [B, T_text, encoder_dim], text_mask [B, T_text], targets [B, T_frames, n_mels]
        with T_frames a multiple of r -> DecoderOutput. The frames fed back are `targets`, or
        `feedback` (same shape) when given: scheduled sampling mixes in the model's own predictions.
        `run_steps` replaces `self.run_steps` (training passes a CUDA-graphed equivalent).
        `prenet_masks` (per pre-net layer [B, T_steps, width], see `synthesis_prenet_masks`)
        replace the pre-net's random dropout.
        """
        batch, total_frames, _ = targets.shape
        r = self.reduction_factor
        if total_frames % r:
            raise ValueError(f"target frames ({total_frames}) must be a multiple of r ({r})")
        if feedback is not None and feedback.shape != targets.shape:
            raise ValueError(f"feedback {tuple(feedback.shape)} must match targets {tuple(targets.shape)}")
        fed = targets if feedback is None else feedback
        go = fed.new_zeros(batch, 1, self.n_mels)
        inputs = torch.cat((go, fed[:, r - 1::r][:, :-1]), dim=1)  # [B, T_steps, n_mels]
        prenet_out = self.prenet(inputs, prenet_masks)  # [B, T_steps, prenet_dim]
        steps_fn = self.run_steps if run_steps is None else run_steps
        frames, stops, alignments = steps_fn(prenet_out, memory, text_mask)
        return DecoderOutput(frames.reshape(batch, total_frames, self.n_mels), stops, alignments)

    def run_steps(
        self, prenet_out: torch.Tensor, memory: torch.Tensor, text_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The teacher-forced loop over `step`, from pre-net outputs.

        prenet_out [B, T_steps, prenet_dim], memory [B, T_text, encoder_dim], text_mask [B, T_text]
        -> (frames [B, T_steps, r * n_mels], stop logits [B, T_steps], alignments [B, T_steps, T_text]).
        """
        processed_memory = self.attention.process_memory(memory)
        state = self.initial_state(memory)
        frames, stops, weights = [], [], []
        # unbind, not prenet_out[:, step]: each indexing would cost a full-size zero gradient
        # in the backward pass, quadratic in the number of steps.
        for step_input in prenet_out.unbind(1):
            frame, stop, state = self.step(step_input, state, memory, processed_memory, text_mask)
            frames.append(frame)
            stops.append(stop)
            weights.append(state.attention_weights)
        return torch.stack(frames, dim=1), torch.stack(stops, dim=1), torch.stack(weights, dim=1)

    def reference_infer(
        self,
        memory: torch.Tensor,
        text_mask: torch.Tensor,
        max_steps: torch.Tensor,
        seeds: torch.Tensor,
        stop_threshold: float,
    ) -> tuple[DecoderOutput, torch.Tensor, torch.Tensor]:
        """Free-running decoding as the paper draws it: the specification `infer` is held to.

        memory [B, T_text, encoder_dim], text_mask [B, T_text], max_steps [B], seeds [B]
        -> (DecoderOutput up to the step where the last item finished, steps [B] decoded per
        item, hit_limit [B] bool). One `step` per decoder step; each feeds back the last of its r
        frames through the pre-net with dropout masks drawn from (seed, step), and the stop token
        is read at every step: an item ends at the first step whose stop probability exceeds
        `stop_threshold`, or at its own limit. Slow (one host sync per step); `infer` computes
        the same faster, and tests hold the two equal.
        """
        batch, device = memory.size(0), memory.device
        processed_memory = self.attention.process_memory(memory)
        state = self.initial_state(memory)
        frame = memory.new_zeros(batch, self.n_mels)  # the all-zero <GO> frame
        max_steps = max_steps.to(device)
        steps = max_steps.clone()
        finished = torch.zeros(batch, dtype=torch.bool, device=device)
        stopped_by_token = torch.zeros(batch, dtype=torch.bool, device=device)
        frames, stops, weights = [], [], []
        for step in range(int(max_steps.max())):
            prenet_out = self.prenet(frame, self._inference_dropout(seeds, step, memory.dtype))
            out, stop, state = self.step(prenet_out, state, memory, processed_memory, text_mask)
            frames.append(out)
            stops.append(stop)
            weights.append(state.attention_weights)
            frame = out[:, -self.n_mels :]
            stopped = (torch.sigmoid(stop) > stop_threshold) & ~finished
            steps = torch.where(stopped, torch.full_like(steps, step + 1), steps)
            stopped_by_token |= stopped
            finished |= stopped | (max_steps <= step + 1)
            if bool(finished.all()):
                break
        mel = torch.stack(frames, dim=1).reshape(batch, -1, self.n_mels)
        decoded = DecoderOutput(mel, torch.stack(stops, dim=1), torch.stack(weights, dim=1))
        return decoded, steps, ~stopped_by_token

    def synthesis_prenet_masks(
        self, seeds: torch.Tensor, n_steps: int, dtype: torch.dtype
    ) -> list[torch.Tensor | None]:
        """Per pre-net layer, the dropout multipliers [B, n_steps, width] that free-running
        synthesis applies at steps 0..n_steps-1 for these seeds [B] (None entries: off)."""
        if not self.prenet_dropout_at_inference:
            return [None] * len(self.prenet.widths)
        steps = torch.arange(n_steps, device=seeds.device)
        return [
            dropout_masks(seeds, steps, layer, width, self.prenet_dropout, dtype)
            for layer, width in enumerate(self.prenet.widths)
        ]

    def _inference_dropout(
        self, seeds: torch.Tensor, step: int, dtype: torch.dtype
    ) -> list[torch.Tensor | None]:
        """Per pre-net layer, the dropout multiplier [B, width] for one inference step (None: off)."""
        if not self.prenet_dropout_at_inference:
            return [None] * len(self.prenet.widths)
        return [
            dropout_mask(seeds, step, layer, width, self.prenet_dropout, dtype)
            for layer, width in enumerate(self.prenet.widths)
        ]

    def infer(
        self,
        memory: torch.Tensor,
        text_mask: torch.Tensor,
        max_steps: torch.Tensor,
        seeds: torch.Tensor,
        stop_threshold: float,
        check_every: int = 8,
        cuda_graphs: bool = True,
    ) -> tuple[DecoderOutput, torch.Tensor, torch.Tensor]:
        """`reference_infer`, computed fast: the same steps, stop reasons and outputs per item.

        memory [B, T_text, encoder_dim], text_mask [B, T_text], max_steps [B], seeds [B]
        -> (DecoderOutput over the longest item, steps [B] decoded per item, hit_limit [B] bool).
        The stop token is checked (one host sync) every `check_every` steps, so the output may
        run up to check_every - 1 steps past the last item's end. The steps are regrouped into
        few kernels (`tts.model.fast_decode`); on CUDA with `cuda_graphs`, chunks of check_every
        steps replay captured graphs instead (`tts.model.graph_decode`). The caller picks the
        CPU threads (`Tacotron.infer` enters `tts.threads.inference_threads`).
        """
        if cuda_graphs and memory.is_cuda:
            outputs, alignments, steps, hit_limit = self.graphs.decode(
                self, memory, text_mask, max_steps, seeds, stop_threshold, check_every
            )
        else:
            outputs, alignments, steps, hit_limit = fast_decode(
                self, memory, text_mask, max_steps, seeds, stop_threshold, check_every
            )
        mel = outputs[:, :, :-1].reshape(memory.size(0), -1, self.n_mels)
        return DecoderOutput(mel, outputs[:, :, -1], alignments), steps, hit_limit
