"""`OnnxSynthesizer`: a voice's exported graphs on ONNX Runtime, Griffin-Lim in numpy; no torch.

The same frontend, sentence splitting, batching, streaming and attention checks as the torch
`Synthesizer` (both are `tts.synthesis.SpeechSynthesizer`s), the same per-sentence seeds and stop
rule, so a sentence gets the frames and stop step torch gives it (tests/test_onnx.py). Loading
checks the voice's `onnx` section against the files: present, the same SHA-256, exported from the
weights beside them, and shaped for config.json's model.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tts.alignment import attention_health
from tts.onnx.griffin_lim import griffin_lim
from tts.onnx.model import STEP_INPUTS, STEP_OUTPUTS, OnnxTacotron, open_session
from tts.onnx.section import OnnxSection, sha256_of
from tts.onnx.vocoder import OnnxVocoder
from tts.synthesis import (
    STEP_LIMIT_MARGIN_FRAMES,
    VOCODER_NAMES,
    SentenceSynthesis,
    SpeechSynthesizer,
    SynthesisOptions,
    sentence_seed,
)
from tts.text import FrontendResult
from tts.text.symbols import spoken_length
from tts.voice_config import CONFIG_FILE, WEIGHTS_FILE, VoiceConfig, VoiceError, read_voice_config

logger = logging.getLogger(__name__)

GRAPH_INPUTS = {
    "encoder": ("ids", "lengths"),
    "decoder_step": STEP_INPUTS,
    "postnet": ("mel", "lengths"),
    "vocoder": ("spectrogram", "lengths"),
}
"""The inputs each graph must take (what `tts.onnx.export` writes)."""


@dataclass(frozen=True)
class CpuDevice:
    """Where ONNX Runtime runs here: the CPU (what the server reads as `synthesizer.device`)."""

    type: str = "cpu"

    def __str__(self) -> str:
        return self.type


CPU = CpuDevice()


def onnx_directory(voice_dir: Path, section: OnnxSection) -> Path:
    """The folder holding a voice's ONNX files."""
    return (Path(voice_dir) / section.directory).resolve()


def check_onnx_files(voice_dir: Path, config: VoiceConfig) -> dict[str, Path]:
    """The voice's ONNX files by role, after checking them against config.json; VoiceError naming
    the first problem (no section, a missing or changed file, graphs of other weights)."""
    voice_dir = Path(voice_dir)
    section = config.onnx
    if section is None:
        raise VoiceError(f"voice {voice_dir} has no onnx section in {CONFIG_FILE}: export it with "
                         f"`sori export-onnx {voice_dir}` (needs torch), or use --runtime torch")
    folder = onnx_directory(voice_dir, section)
    paths = {}
    for role, entry in section.files.items():
        path = folder / entry.file
        if not path.is_file():
            raise VoiceError(f"voice {voice_dir}: {CONFIG_FILE} lists the ONNX {role} {path} but it is missing; "
                             f"re-export with `sori export-onnx {voice_dir}`")
        found = sha256_of(path)
        if found != entry.sha256:
            raise VoiceError(f"voice {voice_dir}: {path.name} has SHA-256 {found[:12]}… but {CONFIG_FILE} says "
                             f"{entry.sha256[:12]}… (changed or damaged); re-export with `sori export-onnx`")
        paths[role] = path
    weights = voice_dir / WEIGHTS_FILE
    if weights.is_file() and sha256_of(weights) != section.weights_sha256:
        raise VoiceError(f"voice {voice_dir}: the ONNX files were exported from other weights than "
                         f"{WEIGHTS_FILE}; re-export with `sori export-onnx {voice_dir}`")
    return paths


def _open_checked(role: str, path: Path, config: VoiceConfig, threads: int) -> Any:
    """A session for one graph; VoiceError when it is not a readable graph or does not fit the model."""
    try:
        session = open_session(path, threads)
    except Exception as error:  # onnxruntime raises its own exception types, not importable by name
        raise VoiceError(f"{path} is not a readable ONNX graph: {type(error).__name__}: {error}") from error
    inputs = {item.name: item.shape for item in session.get_inputs()}
    expected = GRAPH_INPUTS[role]
    if set(inputs) != set(expected):
        raise VoiceError(f"{path} takes inputs {sorted(inputs)}, not {sorted(expected)}: not a Sori "
                         f"{role} graph of this version; re-export with `sori export-onnx`")
    model = config.model
    widths = {"frame": model.n_mels, "prenet_masks": sum(model.decoder_prenet_dims),
              "attention_hidden": model.attention_rnn_dim, "decoder_hidden_1": model.decoder_rnn_dim,
              "context": model.encoder_dim, "mel": model.n_mels}
    if config.vocoder is not None:
        widths["spectrogram"] = config.vocoder.config.n_input
    wrong = [f"{name} has width {shape[-1]}, the model {widths[name]}" for name, shape in inputs.items()
             if name in widths and isinstance(shape[-1], int) and shape[-1] != widths[name]]
    if wrong:
        raise VoiceError(f"{path} does not fit {CONFIG_FILE}'s model: " + "; ".join(wrong))
    if role == "decoder_step":
        outputs = [item.name for item in session.get_outputs()]
        if outputs != list(STEP_OUTPUTS):
            raise VoiceError(f"{path} gives outputs {outputs}, not {list(STEP_OUTPUTS)}; re-export it")
    return session


def load_onnx_model(
    voice_dir: Path, config: VoiceConfig, threads: int = 1, paths: dict[str, Path] | None = None
) -> OnnxTacotron:
    """The voice's checked Tacotron graphs in ONNX Runtime sessions of `threads` intra-op threads each
    (`paths`: the files `_checked_paths` already checked, so they are not hashed again)."""
    paths = paths if paths is not None else _checked_paths(voice_dir, config)
    return OnnxTacotron(config.model, *(_open_checked(role, paths[role], config, threads)
                                        for role in ("encoder", "decoder_step", "postnet")))


def load_onnx_vocoder(
    voice_dir: Path, config: VoiceConfig, threads: int = 1, paths: dict[str, Path] | None = None
) -> OnnxVocoder:
    """The voice's checked neural vocoder graph; VoiceError when the voice or its export has none
    (`paths` as for `load_onnx_model`)."""
    if config.vocoder is None:
        raise VoiceError(f"voice {voice_dir} has no neural vocoder: config.json has no vocoder section")
    if config.onnx is not None and config.onnx.vocoder is None:
        raise VoiceError(f"voice {voice_dir}: its ONNX export has no vocoder (exported before the vocoder "
                         f"was added?); re-export with `sori export-onnx {voice_dir}`")
    paths = paths if paths is not None else _checked_paths(voice_dir, config)
    return OnnxVocoder(config.vocoder.config, _open_checked("vocoder", paths["vocoder"], config, threads))


def _checked_paths(voice_dir: Path, config: VoiceConfig) -> dict[str, Path]:
    """`check_onnx_files`, after checking that ONNX Runtime is installed."""
    if importlib.util.find_spec("onnxruntime") is None:
        raise VoiceError("the ONNX runtime needs the onnxruntime package: pip install onnxruntime")
    return check_onnx_files(voice_dir, config)


def stretch(spectrogram: np.ndarray, size: int) -> np.ndarray:
    """Linear interpolation along the last axis to `size` frames, as torch's F.interpolate
    (mode='linear', align_corners=False). [..., T] -> [..., size]."""
    length = spectrogram.shape[-1]
    scale = length / size
    source = np.maximum((np.arange(size) + 0.5) * scale - 0.5, 0.0)
    low = source.astype(np.int64)
    high = np.minimum(low + 1, length - 1)
    weight = (source - low).astype(np.float32)
    return spectrogram[..., low] * (1 - weight) + spectrogram[..., high] * weight


class OnnxSynthesizer(SpeechSynthesizer):
    """A loaded voice whose networks run on ONNX Runtime (CPU), with Griffin-Lim in numpy."""

    runtime: Literal["torch", "onnx"] = "onnx"

    def __init__(self, config: VoiceConfig, model: OnnxTacotron, max_batch_size: int = 64,
                 vocoder: OnnxVocoder | None = None) -> None:
        super().__init__(config, CPU, max_batch_size)
        self.model = model
        self.vocoder = vocoder
        """The neural vocoder, used unless a request asks for Griffin-Lim; None: Griffin-Lim only."""

    @classmethod
    def load(
        cls, voice_dir: str | Path, device: str = "auto", max_batch_size: int = 64,
        vocoder: Literal["auto", "griffin-lim", "neural"] = "auto", threads: int = 1,
    ) -> OnnxSynthesizer:
        """Load a voice's ONNX graphs (`sori export-onnx`); `device` 'auto' or 'cpu'; `threads`
        intra-op threads per graph (1: each batch on the thread that asked, as torch's CPU policy)."""
        if str(device) not in ("auto", "cpu"):
            raise ValueError(f"the ONNX runtime runs on the CPU here; device {device!r} needs --runtime torch")
        if vocoder not in ("auto", *VOCODER_NAMES):
            raise ValueError(f"vocoder must be auto, {' or '.join(VOCODER_NAMES)}, got {vocoder!r}")
        config = read_voice_config(Path(voice_dir))
        paths = _checked_paths(Path(voice_dir), config)  # every graph hashed once
        model = load_onnx_model(Path(voice_dir), config, threads, paths)
        neural = None
        if vocoder == "neural" or (vocoder == "auto" and config.vocoder is not None):
            neural = load_onnx_vocoder(Path(voice_dir), config, threads, paths)
        return cls(config, model, max_batch_size, neural)

    @property
    def has_neural_vocoder(self) -> bool:
        """Whether a neural vocoder is loaded (else Griffin-Lim only)."""
        return self.vocoder is not None

    def _decode_batch(
        self, batch: Sequence[tuple[str, FrontendResult]], options: SynthesisOptions
    ) -> list[tuple[SentenceSynthesis, np.ndarray]]:
        """Tacotron on ONNX Runtime + Griffin-Lim in numpy (or the neural vocoder) for up to
        max_batch_size sentences."""
        neural = self.vocoder if self.vocoder_for(options) == "neural" else None
        model_config = self.config.model
        r = model_config.reduction_factor
        lengths = np.array([len(frontend.ids) for _, frontend in batch])
        ids = np.full((len(batch), lengths.max()), model_config.pad_id, dtype=np.int64)
        for row, (_, frontend) in enumerate(batch):
            ids[row, : lengths[row]] = frontend.ids
        max_steps = np.array(
            [int(np.ceil((n * options.max_frames_per_symbol + STEP_LIMIT_MARGIN_FRAMES) / r)) for n in lengths]
        )
        seeds = np.array([sentence_seed(frontend.ids) for _, frontend in batch])
        output = self.model.infer(ids, lengths, max_steps, seeds)
        frame_lengths = output.step_lengths * r
        # What is inverted: the linear spectrogram for Griffin-Lim; for the network, what it was
        # trained on (the mel, or the post-net's linear spectrogram).
        inverted = neural.config.input_of(output.mel, output.linear) if neural is not None else output.linear
        spectrogram = inverted.transpose(0, 2, 1)  # [B, F, T_frames]
        if options.speed != 1.0:
            # Each item over its own frames, as the torch path does.
            stretched = np.maximum(np.round(frame_lengths.astype(np.float32) / np.float32(options.speed)), 1)
            items = [stretch(spectrogram[row, :, :count], int(size))
                     for row, (count, size) in enumerate(zip(frame_lengths, stretched, strict=True))]
            frame_lengths = stretched.astype(np.int64)
        else:
            items = [spectrogram[row, :, :count] for row, count in enumerate(frame_lengths)]
        if neural is not None:
            padded = np.zeros((len(items), int(frame_lengths.max()), spectrogram.shape[1]), np.float32)
            for row, item in enumerate(items):
                padded[row, : item.shape[1]] = item.T
            waves = neural.infer(padded, frame_lengths)
        else:
            waves = [griffin_lim(item, self.config.audio, options.griffin_lim_iters) for item in items]
        results = []
        for row, (text, frontend) in enumerate(batch):
            labels = tuple(self.config.symbols.decode(frontend.ids))
            steps = int(output.step_lengths[row])
            alignment = output.alignments[row, :steps, : lengths[row]]
            sentence = SentenceSynthesis(
                text=text, frontend=frontend, labels=labels, alignment=alignment,
                mel=output.mel[row, : steps * r],
                health=attention_health(alignment, stopped_by_token=not bool(output.hit_limit[row]),
                                        spoken_length=spoken_length(labels)),
            )
            results.append((sentence, waves[row]))
        return results
