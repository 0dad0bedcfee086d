"""A voice's config.json without torch: `VoiceConfig` (every hyperparameter, the symbol table, a
format version, provenance, and the `vocoder` and `onnx` sections), read and validated with errors
that name what is wrong. `tts.voice_format` loads and saves the weights (torch); a slim install
reads a voice through this module alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tts.audio.config import AudioConfig
from tts.config_io import ConfigError, config_from_dict, config_to_dict, unversioned, versioned
from tts.model.config import TacotronConfig
from tts.onnx.section import OnnxSection
from tts.text import SymbolTable, TextConfig
from tts.vocoder.config import VocoderSection

VOICE_FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
VOCODER_FILE = "vocoder.safetensors"
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle")
"""Weight files in pickle formats: never loaded (unpickling can run code), only named in errors."""


class VoiceError(ValueError):
    """A voice directory is missing, incomplete or inconsistent; the message says which part."""


@dataclass(frozen=True)
class VoiceConfig:
    """Everything needed to rebuild a voice's frontend, model and audio stage."""

    name: str
    text: TextConfig
    audio: AudioConfig
    model: TacotronConfig
    symbols: SymbolTable
    metadata: dict[str, Any] = field(default_factory=dict)
    """Provenance: corpus, training steps and time, hardware, licence (free-form, JSON-ready)."""
    vocoder: VocoderSection | None = None
    """The neural vocoder in `vocoder.safetensors`, or None: the voice speaks through Griffin-Lim."""
    onnx: OnnxSection | None = None
    """The ONNX graphs `sori export-onnx` wrote, or None: the voice runs on torch only."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, format version first (no `vocoder` or `onnx` key when there is none)."""
        body = config_to_dict(self)
        for optional in ("vocoder", "onnx"):
            if body[optional] is None:
                del body[optional]
        return versioned(VOICE_FORMAT_VERSION, body)

    @classmethod
    def from_dict(cls, data: Any) -> VoiceConfig:
        """Validate and rebuild; raises VoiceError naming the offending section."""
        try:
            config = config_from_dict(cls, unversioned(data, VOICE_FORMAT_VERSION, "the voice config"))
        except ConfigError as error:
            raise VoiceError(f"{CONFIG_FILE}: {error}") from error
        config.check_consistency()
        return config

    def check_consistency(self) -> None:
        """The sections must agree with each other (symbol table vs model, audio vs model)."""
        if len(self.symbols) != self.model.n_symbols:
            raise VoiceError(
                f"symbol table mismatch: the table has {len(self.symbols)} symbols but the model "
                f"was built for n_symbols={self.model.n_symbols}"
            )
        if self.symbols.pad_id != self.model.pad_id:
            raise VoiceError(
                f"symbol table mismatch: PAD is id {self.symbols.pad_id} in the table but "
                f"{self.model.pad_id} in the model"
            )
        if self.audio.n_mels != self.model.n_mels or self.audio.n_freq != self.model.n_freq:
            raise VoiceError(
                f"audio/model mismatch: audio gives {self.audio.n_mels} mels and {self.audio.n_freq} "
                f"bins, the model predicts {self.model.n_mels} and {self.model.n_freq}"
            )
        if self.vocoder is not None and self.vocoder.config.mismatches(self.audio):
            raise VoiceError(
                "audio/vocoder mismatch (vocoder != audio): " + "; ".join(self.vocoder.config.mismatches(self.audio))
            )


def read_voice_config(voice_dir: Path) -> VoiceConfig:
    """Read and validate `config.json` of a voice directory."""
    voice_dir = Path(voice_dir)
    if not voice_dir.is_dir():
        raise VoiceError(f"voice directory not found: {voice_dir}")
    path = voice_dir / CONFIG_FILE
    if not path.is_file():
        raise VoiceError(f"voice {voice_dir} has no {CONFIG_FILE}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise VoiceError(f"{path} is not readable JSON: {error}") from error
    return VoiceConfig.from_dict(data)
