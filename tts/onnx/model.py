"""Tacotron on ONNX Runtime with numpy: the encoder, a decoder loop over the exported step, and the
post-net, with the stop rule and seeded pre-net dropout of `Decoder.reference_infer`, so each item
gets what torch gives it (tests/test_onnx.py). Torch-free.

Shape legend: B batch, T_text input symbols, T_steps decoder steps, r frames per step,
T_frames = T_steps * r.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tts.model.config import TacotronConfig
from tts.onnx.dropout import dropout_masks

STATE_NAMES = (
    "attention_hidden", "decoder_hidden_1", "decoder_hidden_2", "context", "attention_weights", "cumulative_weights",
)
"""The decoder state, in `tts.model.decoder.DecoderState`'s order: inputs and outputs of a step."""
STEP_INPUTS = ("frame", "prenet_masks", *STATE_NAMES, "memory", "processed_memory", "text_mask")
"""The decoder step's inputs: the frame fed back [B, n_mels], the pre-net dropout multipliers of
every layer side by side [B, sum(widths)], the state, and the per-utterance constants."""
STEP_OUTPUTS = ("frames", "stop_logit", *(f"next_{name}" for name in STATE_NAMES))
"""The decoder step's outputs: r frames [B, r * n_mels], the stop logit [B], the new state (its
next_attention_weights are the step's alignment row [B, T_text])."""
MASK_CHUNK_STEPS = 32
"""Pre-net masks are drawn for this many steps at once (one hash over the chunk)."""


def session_options(threads: int) -> Any:
    """ONNX Runtime options: `threads` intra-op threads, one inter-op, every graph optimisation."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Passive waiting: idle pool threads sleep instead of spinning on a shared machine.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def open_session(path: Path | bytes, threads: int) -> Any:
    """An ONNX Runtime CPU session for a graph file (or its bytes)."""
    import onnxruntime

    source = path if isinstance(path, bytes) else str(path)
    return onnxruntime.InferenceSession(source, session_options(threads), providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class Decoded:
    """Free-running outputs, padded to the longest item, as `tts.model.InferenceOutput` (numpy)."""

    mel: np.ndarray  # [B, T_frames, n_mels]
    linear: np.ndarray  # [B, T_frames, n_freq]
    stop_logits: np.ndarray  # [B, T_steps]
    alignments: np.ndarray  # [B, T_steps, T_text]
    step_lengths: np.ndarray  # [B] decoder steps per item
    hit_limit: np.ndarray  # [B] bool: stopped by the step limit, not by the stop token


class OnnxTacotron:
    """The three exported graphs of a voice and the loop that runs them; no state between calls."""

    def __init__(self, config: TacotronConfig, encoder: Any, decoder_step: Any, postnet: Any) -> None:
        self.config = config
        self.encoder = encoder
        self.decoder_step = decoder_step
        self.postnet = postnet

    def infer(self, ids: np.ndarray, lengths: np.ndarray, max_steps: np.ndarray, seeds: np.ndarray) -> Decoded:
        """Decode a batch freely. ids [B, T_text] int64 (padded), lengths [B], max_steps [B]
        (clamped to 1..config.max_decoder_steps), seeds [B] for the pre-net dropout masks."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        lengths = np.asarray(lengths, dtype=np.int64)
        memory, processed_memory = self.encoder.run(None, {"ids": ids, "lengths": lengths})
        text_mask = np.arange(ids.shape[1])[None, :] < lengths[:, None]
        limits = np.clip(np.asarray(max_steps, dtype=np.int64), 1, self.config.max_decoder_steps)
        frames, stop_logits, alignments, steps, hit_limit = self.decode(
            memory, processed_memory, text_mask, limits, np.asarray(seeds, dtype=np.int64)
        )
        batch = ids.shape[0]
        mel = frames.reshape(batch, -1, self.config.n_mels)
        frame_lengths = steps * self.config.reduction_factor
        (linear,) = self.postnet.run(None, {"mel": mel, "lengths": frame_lengths})
        return Decoded(mel, linear, stop_logits, alignments, steps, hit_limit)

    def decode(
        self, memory: np.ndarray, processed_memory: np.ndarray, text_mask: np.ndarray,
        max_steps: np.ndarray, seeds: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """`Decoder.reference_infer` over the exported step: the stop token read at every step, an
        item ending at the first step whose stop probability exceeds the threshold, or at its limit.

        memory [B, T_text, encoder_dim], processed_memory [B, T_text, attention_dim], text_mask
        [B, T_text] bool, max_steps [B], seeds [B] -> (frames [B, T_steps, r * n_mels], stop logits
        [B, T_steps], alignments [B, T_steps, T_text], steps [B], hit_limit [B]).
        """
        config = self.config
        batch, length, encoder_dim = memory.shape
        zeros = np.zeros
        state = {
            "attention_hidden": zeros((batch, config.attention_rnn_dim), np.float32),
            "decoder_hidden_1": zeros((batch, config.decoder_rnn_dim), np.float32),
            "decoder_hidden_2": zeros((batch, config.decoder_rnn_dim), np.float32),
            "context": zeros((batch, encoder_dim), np.float32),
            "attention_weights": zeros((batch, length), np.float32),
            "cumulative_weights": zeros((batch, length), np.float32),
        }
        feeds: dict[str, np.ndarray] = {
            "frame": zeros((batch, config.n_mels), np.float32), **state,
            "memory": memory, "processed_memory": processed_memory, "text_mask": text_mask,
        }
        steps = max_steps.copy()
        finished = np.zeros(batch, dtype=bool)
        stopped_by_token = np.zeros(batch, dtype=bool)
        frames, stops, weights = [], [], []
        last_frame = slice((config.reduction_factor - 1) * config.n_mels, config.reduction_factor * config.n_mels)
        masks = np.empty((batch, 0, 0), np.float32)
        for step in range(int(max_steps.max())):
            if step % MASK_CHUNK_STEPS == 0:
                masks = self._masks(seeds, step)
            feeds["prenet_masks"] = masks[:, step % MASK_CHUNK_STEPS]
            out = self.decoder_step.run(None, feeds)
            frame, stop = out[0], out[1]
            feeds.update(zip(STATE_NAMES, out[2:], strict=True))
            feeds["frame"] = frame[:, last_frame]
            frames.append(frame)
            stops.append(stop)
            weights.append(out[2 + STATE_NAMES.index("attention_weights")])
            probability = 1.0 / (1.0 + np.exp(-stop))
            stopped = (probability > config.stop_threshold) & ~finished
            steps = np.where(stopped, step + 1, steps)
            stopped_by_token |= stopped
            finished |= stopped | (max_steps <= step + 1)
            if finished.all():
                break
        return (np.stack(frames, axis=1), np.stack(stops, axis=1), np.stack(weights, axis=1),
                steps, ~stopped_by_token)

    def _masks(self, seeds: np.ndarray, first_step: int) -> np.ndarray:
        """The pre-net multipliers of MASK_CHUNK_STEPS steps from `first_step`, every layer side by
        side -> [B, MASK_CHUNK_STEPS, sum(widths)] (all ones when dropout is off at inference)."""
        config = self.config
        widths = config.decoder_prenet_dims
        if not config.prenet_dropout_at_inference or config.prenet_dropout == 0.0:
            return np.ones((seeds.shape[0], MASK_CHUNK_STEPS, sum(widths)), np.float32)
        chunk = np.arange(first_step, first_step + MASK_CHUNK_STEPS)
        return np.concatenate([dropout_masks(seeds, chunk, layer, width, config.prenet_dropout)
                               for layer, width in enumerate(widths)], axis=2)
