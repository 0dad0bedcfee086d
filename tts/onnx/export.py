"""`sori export-onnx`: a voice's networks as ONNX graphs, checked against torch before they count.

Exported with torch's TorchScript-based exporter (`torch.onnx.export(..., dynamo=False)`): it takes
the encoder's and post-net's capturable path (no host reads of the lengths, both GRU directions as
ONNX GRU nodes), dynamic batch and length axes, and needs no package beyond `onnx`; the dynamo
exporter, torch 2.11's default, needs `onnxscript` besides and was not needed here. The decoder is
exported as one step (`Decoder.step` with the pre-net, its dropout multipliers an input), and
the loop, the stop rule and the seeded masks run in numpy (`tts.onnx.model`).

The graphs are written to a temporary folder, run by ONNX Runtime against torch on a set of
sentences (every stop step the same, the same attention argmax at every step, the largest mel
difference within tolerance), and only then moved into place, the config's `onnx` section last.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx.helper
import onnx.numpy_helper
import torch
from torch import nn

from tts.atomic import write_bytes_atomic
from tts.model import Tacotron
from tts.model.decoder import DecoderState
from tts.onnx.model import STATE_NAMES, STEP_INPUTS, STEP_OUTPUTS, OnnxTacotron, open_session
from tts.onnx.section import DEFAULT_DIRECTORY, OnnxFile, OnnxSection, sha256_of
from tts.onnx.vocoder import OnnxVocoder
from tts.synthesis import sentence_seed
from tts.text import text_to_ids
from tts.vocoder import Vocoder
from tts.vocoder.model import frame_mask
from tts.voice_config import CONFIG_FILE, WEIGHTS_FILE, VoiceConfig, VoiceError, read_voice_config
from tts.voice_format import load_vocoder, load_voice

logger = logging.getLogger(__name__)

OPSET = 17
"""ONNX opset of the exported graphs (ONNX Runtime 1.14 and later run it)."""
MEL_TOLERANCE = 1e-3
"""Largest mel difference (normalised [0, 1] units) allowed between ONNX Runtime and torch."""
CHECK_SENTENCES = (
    "안녕하세요.",
    "오늘 날씨가 맑고 따뜻해요.",
    "지금은 오후 3시 15분이에요.",
    "소리는 한국어 음성 합성기입니다.",
    "전화번호는 010-1234-5678이에요.",
    "우유와 빵을 장보기 목록에 추가했어요.",
    "네.",
    "긴 문장도 끝까지 읽고 스스로 멈춰야 합니다, 그렇지 않으면 실패로 보고됩니다.",
)
"""What the export is checked on: short and long, numbers, punctuation (not the evaluation set)."""
FILE_NAMES = {"encoder": "encoder.onnx", "decoder_step": "decoder_step.onnx", "postnet": "postnet.onnx",
              "vocoder": "vocoder.onnx"}
WAVE_TOLERANCE = 1e-3
"""Largest wave-sample difference allowed between the vocoder on ONNX Runtime (+ numpy iSTFT) and torch."""


class OnnxExportError(RuntimeError):
    """The export failed, or ONNX Runtime disagrees with torch beyond tolerance (numbers in the message)."""


@dataclass(frozen=True)
class ExportCheck:
    """ONNX Runtime against torch on the check sentences, decoded as one batch."""

    sentences: int
    max_mel_difference: float
    """Largest |mel_onnx - mel_torch| over every item's frames."""
    max_linear_difference: float
    """Largest |linear_onnx - linear_torch| over every item's frames."""
    stop_steps_equal: bool
    """Every item stopped at the same step, for the same reason."""
    attention_argmax_equal: bool
    """At every step of every item, attention peaked on the same symbol."""
    max_wave_difference: float | None = None
    """The neural vocoder's largest sample difference on the check's mels (None: no vocoder)."""

    @property
    def ok(self) -> bool:
        """Within tolerance and the same decisions."""
        vocoder_ok = self.max_wave_difference is None or self.max_wave_difference <= WAVE_TOLERANCE
        return (self.stop_steps_equal and self.attention_argmax_equal and vocoder_ok
                and self.max_mel_difference <= MEL_TOLERANCE)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with `ok` and the tolerance."""
        return {"sentences": self.sentences, "max_mel_difference": self.max_mel_difference,
                "max_linear_difference": self.max_linear_difference, "stop_steps_equal": self.stop_steps_equal,
                "attention_argmax_equal": self.attention_argmax_equal, "mel_tolerance": MEL_TOLERANCE,
                "max_wave_difference": self.max_wave_difference, "wave_tolerance": WAVE_TOLERANCE, "ok": self.ok}


class EncoderGraph(nn.Module):
    """ids [B, T_text], lengths [B] -> memory [B, T_text, encoder_dim], processed_memory [B, T_text, attention_dim]."""

    def __init__(self, model: Tacotron) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        memory = self.model.encoder(ids, lengths, capturable=True)
        return memory, self.model.decoder.attention.process_memory(memory)


class DecoderStepGraph(nn.Module):
    """One decoder step with its pre-net (inputs and outputs: tts.onnx.model.STEP_INPUTS/OUTPUTS)."""

    def __init__(self, model: Tacotron) -> None:
        super().__init__()
        self.decoder = model.decoder
        self.widths = model.decoder.prenet.widths

    def forward(self, frame: torch.Tensor, prenet_masks: torch.Tensor, attention_hidden: torch.Tensor,
                decoder_hidden_1: torch.Tensor, decoder_hidden_2: torch.Tensor, context: torch.Tensor,
                attention_weights: torch.Tensor, cumulative_weights: torch.Tensor, memory: torch.Tensor,
                processed_memory: torch.Tensor, text_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        masks = list(prenet_masks.split(self.widths, dim=1))
        prenet_out = self.decoder.prenet(frame, masks)
        state = DecoderState(attention_hidden, decoder_hidden_1, decoder_hidden_2, context,
                             attention_weights, cumulative_weights)
        frames, stop, new = self.decoder.step(prenet_out, state, memory, processed_memory, text_mask)
        return (frames, stop, *new)


class VocoderGraph(nn.Module):
    """spectrogram [B, T_frames, n_input], lengths [B] -> magnitude, phase [B, T_frames, n_freq]: the
    vocoder up to its inverse STFT, which runs in numpy (tts.onnx.vocoder)."""

    def __init__(self, vocoder: Vocoder) -> None:
        super().__init__()
        self.vocoder = vocoder

    def forward(self, spectrogram: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        vocoder = self.vocoder
        spectrogram = spectrogram.clamp(0.0, 1.0)
        mask = frame_mask(lengths, spectrogram.size(1))  # [B, T_frames]
        x = vocoder.embed((spectrogram * mask[..., None]).transpose(1, 2))
        x = vocoder.input_norm(x.transpose(1, 2)).transpose(1, 2) * mask[:, None, :]
        for block in vocoder.blocks:
            x = block(x, mask[:, None, :])
        x = vocoder.output_norm(x.transpose(1, 2))
        log_magnitude, phase = vocoder.head.projection(x).chunk(2, dim=-1)
        magnitude = torch.exp(log_magnitude.clamp(max=vocoder.config.max_log_magnitude)) * mask[..., None]
        return magnitude, phase


class PostnetGraph(nn.Module):
    """mel [B, T_frames, n_mels], lengths [B] -> linear [B, T_frames, n_freq]."""

    def __init__(self, model: Tacotron) -> None:
        super().__init__()
        self.model = model

    def forward(self, mel: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.model.linear_projection(self.model.postnet(mel, lengths, capturable=True))


def _to_onnx(module: nn.Module, args: tuple[torch.Tensor, ...], inputs: list[str], outputs: list[str],
             dynamic: dict[str, dict[int, str]]) -> bytes:
    """One graph's ONNX bytes (TorchScript exporter, constants folded, dynamic axes named)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter is deprecated in torch 2.11 and warns so, and about GRU batch
        # sizes it cannot prove; the export check below is what tells whether the graph is right.
        warnings.simplefilter("ignore")
        # A file-like target is documented (and works); torch's annotation names paths only.
        torch.onnx.export(module.eval(), args, buffer, input_names=inputs, output_names=outputs,  # type: ignore[arg-type]
                          dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True, dynamo=False)
    return buffer.getvalue()


def export_graphs(model: Tacotron) -> dict[str, bytes]:
    """The encoder, decoder step and post-net of an eval-mode model as ONNX bytes, by role."""
    config = model.config
    batch, length, frames = 2, 7, 4 * config.reduction_factor
    ids = torch.randint(1, config.n_symbols, (batch, length))
    lengths = torch.tensor([length, length - 2])
    text = {0: "batch", 1: "text"}
    encoder = _to_onnx(EncoderGraph(model), (ids, lengths), ["ids", "lengths"], ["memory", "processed_memory"],
                       {"ids": text, "lengths": {0: "batch"}, "memory": text, "processed_memory": text})
    with torch.no_grad():
        memory = model.encoder(ids, lengths)
        processed = model.decoder.attention.process_memory(memory)
    state = model.decoder.initial_state(memory)
    step_args = (torch.zeros(batch, config.n_mels), torch.ones(batch, sum(model.decoder.prenet.widths)),
                 *state, memory, processed, torch.ones(batch, length, dtype=torch.bool))
    step_dynamic: dict[str, dict[int, str]] = {name: {0: "batch"} for name in (*STEP_INPUTS, *STEP_OUTPUTS)}
    for name in ("attention_weights", "cumulative_weights", "next_attention_weights", "next_cumulative_weights",
                 "memory", "processed_memory", "text_mask"):
        step_dynamic[name] = text
    decoder_step = _to_onnx(DecoderStepGraph(model), step_args, list(STEP_INPUTS), list(STEP_OUTPUTS),
                            step_dynamic)
    mel = torch.rand(batch, frames, config.n_mels)
    time = {0: "batch", 1: "frames"}
    postnet = _to_onnx(PostnetGraph(model), (mel, torch.tensor([frames, frames - 3])), ["mel", "lengths"],
                       ["linear"], {"mel": time, "lengths": {0: "batch"}, "linear": time})
    return {"encoder": encoder, "decoder_step": decoder_step, "postnet": postnet}


def export_vocoder(vocoder: Vocoder) -> bytes:
    """The neural vocoder (to its inverse STFT) of an eval-mode voice as ONNX bytes."""
    frames = 12
    spectrogram = torch.rand(2, frames, vocoder.config.n_input)
    time = {0: "batch", 1: "frames"}
    graph = _to_onnx(VocoderGraph(vocoder), (spectrogram, torch.tensor([frames, frames - 5])),
                     ["spectrogram", "lengths"], ["magnitude", "phase"],
                     {"spectrogram": time, "lengths": {0: "batch"}, "magnitude": time, "phase": time})
    return store_half_exact_weights(graph)


HALF_MIN_ELEMENTS = 1024
"""Weights smaller than this stay float32: a Cast costs more than the bytes it saves."""


def store_half_exact_weights(graph: bytes) -> bytes:
    """The graph with each large float32 weight whose every value is exact in float16 (a vocoder
    bundled in fp16 is) stored as float16 and cast back to float32 where it is used: about half the
    file, and the same numbers to the bit."""
    model = onnx.load_from_string(graph)
    casts = []
    for initializer in model.graph.initializer:
        if initializer.data_type != onnx.TensorProto.FLOAT:
            continue
        values = onnx.numpy_helper.to_array(initializer)
        half = values.astype(np.float16)
        if values.size < HALF_MIN_ELEMENTS or not np.array_equal(half.astype(np.float32), values):
            continue
        name = initializer.name
        initializer.CopyFrom(onnx.numpy_helper.from_array(half, f"{name}.float16"))
        casts.append(onnx.helper.make_node("Cast", [f"{name}.float16"], [name], to=onnx.TensorProto.FLOAT))
    for position, cast in enumerate(casts):
        model.graph.node.insert(position, cast)
    return model.SerializeToString()


def check_vocoder(vocoder: Vocoder, session: Any, mel: np.ndarray, linear: np.ndarray, lengths: np.ndarray) -> float:
    """Largest sample difference between the vocoder in torch and on ONNX Runtime + numpy, per item
    of a decoded batch (mel [B, T, n_mels], linear [B, T, n_freq], lengths [B] frames)."""
    spectrogram = vocoder.config.input_of(mel, linear).astype(np.float32)
    with torch.no_grad():
        expected = vocoder.infer(torch.from_numpy(spectrogram), torch.from_numpy(lengths))
    ours = OnnxVocoder(vocoder.config, session).infer(spectrogram, lengths)
    return max(float(np.abs(a.numpy() - b).max()) for a, b in zip(expected, ours, strict=True))


def check_against_torch(config: VoiceConfig, model: Tacotron, onnx_model: OnnxTacotron,
                        vocoder: tuple[Vocoder, Any] | None = None,
                        sentences: tuple[str, ...] = CHECK_SENTENCES) -> ExportCheck:
    """Decode `sentences` as one batch with both and compare per item (torch's fast CPU path);
    with `vocoder` (torch module, ONNX session), also vocode the decoded frames with both."""
    ids_list = [text_to_ids(sentence, config.text, config.symbols).ids for sentence in sentences]
    lengths = np.array([len(ids) for ids in ids_list])
    ids = np.full((len(ids_list), lengths.max()), config.model.pad_id, dtype=np.int64)
    for row, item in enumerate(ids_list):
        ids[row, : len(item)] = item
    r = config.model.reduction_factor
    max_steps = np.array([int(np.ceil((n * 12.0 + 40) / r)) for n in lengths])
    seeds = np.array([sentence_seed(item) for item in ids_list])
    with torch.no_grad():
        reference = model.infer(torch.from_numpy(ids), torch.from_numpy(lengths), torch.from_numpy(max_steps),
                                torch.from_numpy(seeds), cuda_graphs=False)
    ours = onnx_model.infer(ids, lengths, max_steps, seeds)
    steps_equal = (reference.step_lengths.numpy().tolist() == ours.step_lengths.tolist()
                   and reference.hit_limit.numpy().tolist() == ours.hit_limit.tolist())
    mel_difference = linear_difference = 0.0
    argmax_equal = True
    for row in range(len(ids_list)):
        steps = int(min(reference.step_lengths[row], ours.step_lengths[row]))
        frames = steps * r
        mel_difference = max(mel_difference, float(np.abs(
            reference.mel[row, :frames].numpy() - ours.mel[row, :frames]).max()))
        linear_difference = max(linear_difference, float(np.abs(
            reference.linear[row, :frames].numpy() - ours.linear[row, :frames]).max()))
        peaks = reference.alignments[row, :steps, : lengths[row]].numpy().argmax(axis=1)
        argmax_equal &= bool((peaks == ours.alignments[row, :steps, : lengths[row]].argmax(axis=1)).all())
    wave_difference = None
    if vocoder is not None:
        wave_difference = check_vocoder(*vocoder, ours.mel, ours.linear, ours.step_lengths * r)
    return ExportCheck(len(sentences), mel_difference, linear_difference, steps_equal, argmax_equal,
                       wave_difference)


def export_onnx(voice_dir: Path, out_dir: Path | None = None, threads: int = 1) -> tuple[OnnxSection, ExportCheck]:
    """Export a voice's networks to `out_dir` (default VOICE/onnx), check them against torch, then
    record them in the voice's config.json. OnnxExportError (nothing changed) when the check fails."""
    voice_dir = Path(voice_dir)
    config, model = load_voice(voice_dir, "cpu")
    out_dir = Path(out_dir) if out_dir is not None else voice_dir / DEFAULT_DIRECTORY
    torch.manual_seed(0)  # the example inputs traced; the graphs do not depend on them
    vocoder = load_vocoder(voice_dir, config, "cpu") if config.vocoder is not None else None
    try:
        graphs = export_graphs(model)
        if vocoder is not None:
            graphs["vocoder"] = export_vocoder(vocoder)
    except Exception as error:  # the exporter raises many kinds; name it and stop
        raise OnnxExportError(f"torch.onnx.export failed: {type(error).__name__}: {error}") from error
    sessions = {role: open_session(data, threads) for role, data in graphs.items()}
    onnx_model = OnnxTacotron(config.model, sessions["encoder"], sessions["decoder_step"], sessions["postnet"])
    check = check_against_torch(config, model, onnx_model,
                                (vocoder, sessions["vocoder"]) if vocoder is not None else None)
    if not check.ok:
        raise OnnxExportError(
            f"ONNX Runtime disagrees with torch on {check.sentences} sentences: largest mel difference "
            f"{check.max_mel_difference:.2e} (tolerance {MEL_TOLERANCE:.0e}), vocoder wave difference "
            f"{check.max_wave_difference if check.max_wave_difference is None else f'{check.max_wave_difference:.2e}'} "
            f"(tolerance {WAVE_TOLERANCE:.0e}), stop steps "
            f"{'equal' if check.stop_steps_equal else 'DIFFERENT'}, attention argmax "
            f"{'equal' if check.attention_argmax_equal else 'DIFFERENT'}; nothing was written"
        )
    section = _write(voice_dir, out_dir, config, graphs, check)
    logger.info("exported %s to %s (largest mel difference %.2e)", config.name, out_dir, check.max_mel_difference)
    return section, check


def _write(voice_dir: Path, out_dir: Path, config: VoiceConfig, graphs: dict[str, bytes],
           check: ExportCheck) -> OnnxSection:
    """Files into a temporary folder beside out_dir, renamed into place one by one, config last."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".onnx-export.", dir=out_dir))
    try:
        files = {}
        for role, data in graphs.items():
            name = FILE_NAMES[role]
            write_bytes_atomic(staging / name, data)
            files[role] = OnnxFile(name, sha256_of(staging / name))
        for role in graphs:
            os.replace(staging / FILE_NAMES[role], out_dir / FILE_NAMES[role])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    section = OnnxSection(
        opset=OPSET, encoder=files["encoder"], decoder_step=files["decoder_step"], postnet=files["postnet"],
        vocoder=files.get("vocoder"),
        weights_sha256=sha256_of(voice_dir / WEIGHTS_FILE),
        directory=os.path.relpath(out_dir.resolve(), voice_dir.resolve()),
        metadata={"exporter": "torch.onnx.export (TorchScript, dynamo=False)", "torch": torch.__version__,
                  "onnx": onnx.__version__, "exported": datetime.now(UTC).isoformat(timespec="seconds"),
                  "check": check.to_dict()},
    )
    # Re-read config.json (not `config`) so nothing else in it changes.
    current = read_voice_config(voice_dir)
    if current.model != config.model:
        raise VoiceError(f"{voice_dir / CONFIG_FILE} changed during the export; export again")
    payload = json.dumps(replace(current, onnx=section).to_dict(), ensure_ascii=False, indent=2) + "\n"
    write_bytes_atomic(voice_dir / CONFIG_FILE, payload.encode("utf-8"))
    return section


__all__ = ["CHECK_SENTENCES", "MEL_TOLERANCE", "OPSET", "ExportCheck", "OnnxExportError", "export_graphs",
           "export_onnx", "STATE_NAMES"]
