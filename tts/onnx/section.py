"""The `onnx` section of a voice's config.json: which ONNX files a voice has, their opset and
hashes, and the weights they were exported from. Torch-free: a slim install reads it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tts.config_io import (
    ConfigError,
    JsonConfig,
    config_from_dict,
    config_to_dict,
    unversioned,
    versioned,
)

ONNX_FORMAT_VERSION = 1
"""Version of the `onnx` section and of the graphs' input and output names."""
DEFAULT_DIRECTORY = "onnx"
"""Where `sori export-onnx` writes the files, relative to the voice directory."""
_SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class OnnxFile(JsonConfig):
    """One exported graph: its file name inside the section's directory and its SHA-256."""

    file: str
    """File name, e.g. decoder_step.onnx (no directories)."""
    sha256: str
    """Hex SHA-256 of the file, checked when the ONNX runtime loads it."""

    def __post_init__(self) -> None:
        if not self.file or Path(self.file).name != self.file or not self.file.endswith(".onnx"):
            raise ConfigError(f"OnnxFile.file must be a bare *.onnx file name, got {self.file!r}")
        if not _SHA256.fullmatch(self.sha256):
            raise ConfigError(f"OnnxFile.sha256 of {self.file} must be 64 lowercase hex digits, got {self.sha256!r}")


@dataclass(frozen=True)
class OnnxSection:
    """What `sori export-onnx` wrote: the graphs, the opset, and the weights they came from."""

    opset: int
    """ONNX opset of every graph."""
    encoder: OnnxFile
    """ids [B, T_text], lengths [B] -> memory [B, T_text, encoder_dim], processed_memory [B, T_text, attention_dim]."""
    decoder_step: OnnxFile
    """One decoder step: the previous frame, the pre-net masks and the state in; r frames + stop, the
    alignment row and the new state out (names in tts.onnx.decode)."""
    postnet: OnnxFile
    """mel [B, T_frames, n_mels], lengths [B] -> linear [B, T_frames, n_freq]."""
    weights_sha256: str
    """SHA-256 of the model.safetensors the graphs were exported from (stale graphs are refused)."""
    directory: str = DEFAULT_DIRECTORY
    """The files' folder, relative to the voice directory."""
    vocoder: OnnxFile | None = None
    """The neural vocoder, when the voice has one and it was exported; None: Griffin-Lim only."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Provenance: exporter, torch and onnx versions, date, the export check's measures."""

    def __post_init__(self) -> None:
        if not 13 <= self.opset <= 30:
            raise ConfigError(f"OnnxSection.opset must be between 13 and 30, got {self.opset}")
        if not _SHA256.fullmatch(self.weights_sha256):
            raise ConfigError(f"OnnxSection.weights_sha256 must be 64 lowercase hex digits, got {self.weights_sha256!r}")

    @property
    def files(self) -> dict[str, OnnxFile]:
        """Each graph by role (encoder, decoder_step, postnet and vocoder when present)."""
        found = {"encoder": self.encoder, "decoder_step": self.decoder_step, "postnet": self.postnet}
        if self.vocoder is not None:
            found["vocoder"] = self.vocoder
        return found

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, format version first (no `vocoder` key when there is none)."""
        body = config_to_dict(self)
        if self.vocoder is None:
            del body["vocoder"]
        return versioned(ONNX_FORMAT_VERSION, body)

    @classmethod
    def from_dict(cls, data: Any) -> OnnxSection:
        """Validate and rebuild; ConfigError naming the version or field that is wrong."""
        return config_from_dict(cls, unversioned(data, ONNX_FORMAT_VERSION, "the onnx section"))
