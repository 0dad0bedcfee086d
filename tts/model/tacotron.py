"""Tacotron 1: embedding -> pre-net -> CBHG encoder -> attention decoder (mel, stop) -> CBHG post-net
(linear spectrogram).

`forward` is the teacher-forced pass used in training; `infer` decodes a batch of texts freely.
Shape legend: B batch, T_text input symbols, T_frames mel frames, T_steps = T_frames / r decoder steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from tts.cuda_graph import ShapeGraphs, batch_bucket, round_up
from tts.model.config import TacotronConfig
from tts.model.decoder import Decoder, StepsFn
from tts.model.graph_decode import text_bucket
from tts.model.layers import CBHG, Prenet, lengths_to_mask
from tts.threads import inference_threads

POSTNET_FRAME_BUCKET = 64
"""At inference on CUDA, decoded frames are padded up to a multiple of this for the post-net graph."""


class TacotronOutput(NamedTuple):
    """Teacher-forced outputs."""

    mel: torch.Tensor  # [B, T_frames, n_mels]
    linear: torch.Tensor  # [B, T_frames, n_freq]
    stop_logits: torch.Tensor  # [B, T_steps]
    alignments: torch.Tensor  # [B, T_steps, T_text]


class InferenceOutput(NamedTuple):
    """Free-running outputs, padded to the longest item; `frame_lengths` says where each ends."""

    mel: torch.Tensor  # [B, T_frames, n_mels]
    linear: torch.Tensor  # [B, T_frames, n_freq]
    stop_logits: torch.Tensor  # [B, T_steps]
    alignments: torch.Tensor  # [B, T_steps, T_text]
    frame_lengths: torch.Tensor  # [B] frames per item (steps * r)
    step_lengths: torch.Tensor  # [B] decoder steps per item
    hit_limit: torch.Tensor  # [B] bool: stopped by the step limit, not by the stop token


class Encoder(nn.Module):
    """Symbol embeddings -> pre-net -> CBHG. ids [B, T_text] -> [B, T_text, encoder_dim]."""

    def __init__(self, config: TacotronConfig) -> None:
        super().__init__()
        self.embedding = nn.Embedding(config.n_symbols, config.embedding_dim, padding_idx=config.pad_id)
        nn.init.normal_(self.embedding.weight, 0.0, 0.3)
        with torch.no_grad():
            self.embedding.weight[config.pad_id].zero_()
        self.prenet = Prenet(config.embedding_dim, config.encoder_prenet_dims, config.prenet_dropout)
        prenet_dim = config.encoder_prenet_dims[-1]
        self.cbhg = CBHG(
            prenet_dim, config.encoder_bank_size, config.encoder_channels,
            (config.encoder_channels, prenet_dim), config.encoder_highway_layers,
            config.encoder_gru_dim,
        )

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, capturable: bool = False) -> torch.Tensor:
        """ids [B, T_text], lengths [B] -> [B, T_text, encoder_dim]. `capturable`: see `CBHG`."""
        return self.cbhg(self.prenet(self.embedding(ids)), lengths, capturable)


class Tacotron(nn.Module):
    """The whole network; holds parameters only, never decoding state."""

    def __init__(self, config: TacotronConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.postnet = CBHG(
            config.n_mels, config.postnet_bank_size, config.postnet_channels,
            (config.postnet_projection_dim, config.n_mels), config.postnet_highway_layers,
            config.postnet_gru_dim,
        )
        self.linear_projection = nn.Linear(config.postnet_dim, config.n_freq)
        self.encoder_graphs = ShapeGraphs()
        """A cache of CUDA graphs of the encoder at inference, per padded shape (not state:
        results are the same with it empty, only slower)."""
        self.postnet_graphs = ShapeGraphs()
        """The same for the post-net and linear projection."""

    def forward(
        self,
        ids: torch.Tensor,
        text_lengths: torch.Tensor,
        mels: torch.Tensor,
        frame_lengths: torch.Tensor,
        feedback: torch.Tensor | None = None,
        run_steps: StepsFn | None = None,
        prenet_masks: Sequence[torch.Tensor | None] | None = None,
    ) -> TacotronOutput:
        """Teacher-forced pass.

        ids [B, T_text], text_lengths [B], mels [B, T_frames, n_mels] (T_frames a multiple of r),
        frame_lengths [B] -> TacotronOutput. `feedback` ([B, T_frames, n_mels]) replaces the true
        frames the decoder is fed back (scheduled sampling); the targets stay `mels`. `run_steps`
        replaces the decoder's teacher-forced loop (see `Decoder.run_steps`). `prenet_masks`
        replace the decoder pre-net's random dropout (see `Decoder.synthesis_prenet_masks`).
        """
        text_mask = lengths_to_mask(text_lengths, ids.size(1))
        memory = self.encoder(ids, text_lengths)
        decoded = self.decoder(memory, text_mask, mels, feedback, run_steps, prenet_masks)
        linear = self.linear_projection(self.postnet(decoded.mel, frame_lengths))
        return TacotronOutput(decoded.mel, linear, decoded.stop_logits, decoded.alignments)

    @torch.inference_mode()
    def infer(
        self,
        ids: torch.Tensor,
        text_lengths: torch.Tensor,
        max_steps: torch.Tensor | int | None = None,
        seeds: torch.Tensor | None = None,
        stop_threshold: float | None = None,
        cuda_graphs: bool = True,
    ) -> InferenceOutput:
        """Free-running decoding of a batch; each item's result equals decoding it alone.

        ids [B, T_text], text_lengths [B]; max_steps: per-item [B] or one int (default
        config.max_decoder_steps, never above it); seeds [B] for the pre-net dropout masks.
        On CUDA the decoder replays captured CUDA graphs unless `cuda_graphs` is False; the
        result per item is the same either way (within float rounding).
        """
        if self.training:
            raise RuntimeError("Tacotron.infer needs eval mode (batch norm statistics); call .eval()")
        batch = ids.size(0)
        device = ids.device
        ceiling = self.config.max_decoder_steps
        if max_steps is None:
            max_steps = ceiling
        limits = torch.as_tensor(max_steps, device=device, dtype=torch.long).expand(batch)
        limits = limits.clamp(1, ceiling)
        if seeds is None:
            seeds = torch.zeros(batch, dtype=torch.long, device=device)
        threshold = self.config.stop_threshold if stop_threshold is None else stop_threshold
        text_mask = lengths_to_mask(text_lengths, ids.size(1))
        graphed = cuda_graphs and ids.is_cuda
        with inference_threads(batch, device):
            memory = self._encode_graphed(ids, text_lengths) if graphed else self.encoder(ids, text_lengths)
            decoded, steps, hit_limit = self.decoder.infer(
                memory, text_mask, limits, seeds.to(device), threshold, cuda_graphs=cuda_graphs
            )
            frame_lengths = steps * self.config.reduction_factor
            if graphed:
                linear = self._postnet_graphed(decoded.mel, frame_lengths)
            else:
                linear = self.linear_projection(self.postnet(decoded.mel, frame_lengths))
        return InferenceOutput(
            decoded.mel, linear, decoded.stop_logits, decoded.alignments,
            frame_lengths, steps, hit_limit,
        )

    def _encode_graphed(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The encoder as a CUDA graph: ids [B, T_text] padded into their bucket (pad symbols,
        empty rows), then the real part of the memory [B, T_text, encoder_dim]."""
        batch, length = ids.shape
        rows, columns = batch_bucket(batch) - batch, text_bucket(length) - length
        padded_ids = F.pad(ids, (0, columns, 0, rows), value=self.config.pad_id)
        padded_lengths = F.pad(lengths, (0, rows))
        memory = self.encoder_graphs(self._encode_capturable, padded_ids, padded_lengths)
        return memory[:batch, :length]

    def _encode_capturable(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The encoder without host reads of the lengths (what the graph captures)."""
        return self.encoder(ids, lengths, capturable=True)

    def _postnet_graphed(self, mel: torch.Tensor, frame_lengths: torch.Tensor) -> torch.Tensor:
        """Post-net and linear projection as a CUDA graph: mel [B, T_frames, n_mels] padded into
        its bucket (silent frames, empty rows) -> linear [B, T_frames, n_freq]."""
        batch, frames, _ = mel.shape
        rows = batch_bucket(batch) - batch
        extra = round_up(frames, POSTNET_FRAME_BUCKET) - frames
        padded_mel = F.pad(mel, (0, 0, 0, extra, 0, rows))
        padded_lengths = F.pad(frame_lengths, (0, rows))
        linear = self.postnet_graphs(self._postnet_capturable, padded_mel, padded_lengths)
        return linear[:batch, :frames]

    def _postnet_capturable(self, mel: torch.Tensor, frame_lengths: torch.Tensor) -> torch.Tensor:
        """Post-net and projection without host reads of the lengths (what the graph captures)."""
        return self.linear_projection(self.postnet(mel, frame_lengths, capturable=True))
