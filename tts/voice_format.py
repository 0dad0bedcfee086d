"""The voice directory: `config.json` (every hyperparameter, the symbol table, a format version,
provenance), `model.safetensors` (weights) and, when the voice has a neural vocoder,
`vocoder.safetensors` (described by config.json's `vocoder` section), plus `onnx/` once exported
(`tts.onnx`). This module loads and saves the weights; `tts.voice_config` reads config.json without
torch. Loading names exactly what is wrong with a broken voice.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save
from torch import nn

from tts.atomic import write_bytes_atomic
from tts.model import Tacotron
from tts.vocoder import VOCODER_FORMAT_VERSION, Vocoder
from tts.voice_config import (
    CONFIG_FILE,
    PICKLE_SUFFIXES,
    VOCODER_FILE,
    VOICE_FORMAT_VERSION,
    WEIGHTS_FILE,
    VoiceConfig,
    VoiceError,
    read_voice_config,
)

__all__ = [
    "CONFIG_FILE",
    "PICKLE_SUFFIXES",
    "VOCODER_FILE",
    "VOICE_FORMAT_VERSION",
    "WEIGHTS_FILE",
    "VoiceConfig",
    "VoiceError",
    "load_vocoder",
    "load_voice",
    "read_voice_config",
    "save_voice",
]

logger = logging.getLogger(__name__)

def load_voice(voice_dir: Path, device: torch.device | str = "cpu") -> tuple[VoiceConfig, Tacotron]:
    """Load a voice's config and weights (as float32, eval mode) onto `device`."""
    voice_dir = Path(voice_dir)
    config = read_voice_config(voice_dir)
    weights_path = voice_dir / WEIGHTS_FILE
    if not weights_path.is_file():
        pickles = sorted(p.name for p in voice_dir.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
        refused = (f" (refusing {', '.join(pickles)}: voices load from safetensors only, since a "
                   f"pickle can run code when loaded)" if pickles else "")
        raise VoiceError(f"voice {voice_dir} has no {WEIGHTS_FILE}{refused}")
    model = Tacotron(config.model)
    _load_weights(weights_path, model, "config.json's model")
    return config, model.to(device).eval()


def load_vocoder(voice_dir: Path, config: VoiceConfig, device: torch.device | str = "cpu") -> Vocoder:
    """Load the neural vocoder of a voice whose config is `config` (float32, eval mode); VoiceError
    when the voice has none, or its file is missing, damaged, of another version or shape."""
    voice_dir = Path(voice_dir)
    path = voice_dir / VOCODER_FILE
    if config.vocoder is None:
        stray = f" ({VOCODER_FILE} is there, but config.json does not describe it)" if path.is_file() else ""
        raise VoiceError(f"voice {voice_dir} has no neural vocoder: config.json has no vocoder section{stray}")
    if not path.is_file():
        raise VoiceError(f"voice {voice_dir} has a vocoder section in config.json but no {VOCODER_FILE}")
    try:
        with safe_open(str(path), "pt") as handle:
            found = (handle.metadata() or {}).get("format_version")
    except (SafetensorError, OSError, ValueError) as error:
        raise VoiceError(f"{path} is not a readable safetensors file: {error}") from error
    if found != str(VOCODER_FORMAT_VERSION):
        raise VoiceError(f"{path} has format_version {found!r}; this Sori reads version {VOCODER_FORMAT_VERSION}")
    vocoder = Vocoder(config.vocoder.config)
    _load_weights(path, vocoder, "config.json's vocoder section")
    return vocoder.to(device).eval()


def _load_weights(weights_path: Path, model: nn.Module, described_by: str) -> None:
    """Load a safetensors file into `model` (as float32); VoiceError naming unreadable files and
    every missing, unexpected or wrongly shaped tensor."""
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as error:
        raise VoiceError(f"{weights_path} is not a readable safetensors file: {error}") from error
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(
        f"{name} {tuple(state[name].shape)} != {tuple(tensor.shape)}"
        for name, tensor in expected.items()
        if name in state and state[name].shape != tensor.shape
    )
    if missing or unexpected or wrong_shape:
        parts = []
        if wrong_shape:
            parts.append("shape mismatch: " + "; ".join(wrong_shape[:5]))
        if missing:
            parts.append("missing tensors: " + ", ".join(missing[:5]))
        if unexpected:
            parts.append("unexpected tensors: " + ", ".join(unexpected[:5]))
        raise VoiceError(f"{weights_path} does not fit {described_by}: " + " | ".join(parts))
    model.load_state_dict({name: tensor.float() for name, tensor in state.items()})


def save_voice(
    voice_dir: Path, config: VoiceConfig, model: Tacotron, fp16: bool = False, vocoder: Vocoder | None = None,
) -> Path:
    """Write a voice directory atomically file by file (weights first, config last); `vocoder` is
    required exactly when the config has a vocoder section."""
    config.check_consistency()
    if model.config != config.model:
        raise VoiceError("the model's configuration differs from the voice config's model section")
    if (vocoder is None) != (config.vocoder is None):
        raise VoiceError("a vocoder must be saved exactly when the voice config has a vocoder section")
    if vocoder is not None and config.vocoder is not None and vocoder.config != config.vocoder.config:
        raise VoiceError("the vocoder's configuration differs from the voice config's vocoder section")
    voice_dir = Path(voice_dir)
    voice_dir.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(voice_dir / WEIGHTS_FILE, _weights_bytes(model, fp16, VOICE_FORMAT_VERSION))
    if vocoder is not None:
        write_bytes_atomic(voice_dir / VOCODER_FILE, _weights_bytes(vocoder, fp16, VOCODER_FORMAT_VERSION))
    payload = json.dumps(config.to_dict(), ensure_ascii=False, indent=2) + "\n"
    write_bytes_atomic(voice_dir / CONFIG_FILE, payload.encode("utf-8"))
    logger.info("saved voice %s to %s (%s)", config.name, voice_dir, "fp16" if fp16 else "fp32")
    return voice_dir


def _weights_bytes(model: nn.Module, fp16: bool, version: int) -> bytes:
    """A module's weights as safetensors bytes (floats in fp16 or fp32), stamped with `version`."""
    dtype = torch.float16 if fp16 else torch.float32
    state = {
        name: (tensor.detach().to("cpu", dtype) if tensor.is_floating_point() else tensor.detach().cpu())
        .contiguous()
        for name, tensor in model.state_dict().items()
    }
    return save(state, metadata={"format_version": str(version)})
