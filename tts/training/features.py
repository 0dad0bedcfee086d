"""The prepared-features directory: one module knows its layout and reads and writes it.

    FEATURES_DIR/
      prepare.json                  how the features were made (prepare, audio, text configs, symbols)
      utterances/<id>.safetensors   mel [T_frames, n_mels] f16, linear [T_frames, n_freq] f16, ids [T_text]
      utterances/<id>.json          the outcome for that transcript row (prepared or skipped, and why)
      train.jsonl val.jsonl test.jsonl   the split: one prepared utterance per line
      prepare_report.json           counts, hours, skips by reason, durations, frontend agreement

Every file is written atomically, so an interrupted preparation leaves only whole files behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save

from tts.atomic import write_bytes_atomic, write_bytes_if_changed
from tts.audio import AudioConfig
from tts.config_io import (
    ConfigError,
    JsonConfig,
    config_from_dict,
    config_to_dict,
    unversioned,
    versioned,
)
from tts.text import SymbolTable, TextConfig
from tts.training.config import PrepareConfig

FEATURES_FORMAT_VERSION = 1
SETTINGS_FILE = "prepare.json"
REPORT_FILE = "prepare_report.json"
UTTERANCE_DIR = "utterances"
SPLITS = ("train", "val", "test")


class FeaturesError(ValueError):
    """A features directory is missing, incomplete or made with other settings."""


@dataclass(frozen=True)
class FeatureSettings:
    """Everything the features depend on; a directory holds features of one setting only."""

    prepare: PrepareConfig
    audio: AudioConfig
    text: TextConfig
    symbols: SymbolTable

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, format version first."""
        return versioned(FEATURES_FORMAT_VERSION, config_to_dict(self))

    @classmethod
    def from_dict(cls, data: Any) -> FeatureSettings:
        """Rebuild and validate; FeaturesError names the broken section."""
        try:
            return config_from_dict(cls, unversioned(data, FEATURES_FORMAT_VERSION, "features description"))
        except ConfigError as error:
            raise FeaturesError(f"{SETTINGS_FILE} is invalid: {error}") from error

    def differences(self, other: FeatureSettings) -> list[str]:
        """Human-readable 'section.field: ours != theirs' for every setting that differs."""
        found = []
        for section in ("prepare", "audio", "text"):
            mine, theirs = asdict(getattr(self, section)), asdict(getattr(other, section))
            found += [f"{section}.{key}: {mine[key]!r} != {theirs.get(key)!r}"
                      for key in mine if mine[key] != theirs.get(key)]
        if self.symbols != other.symbols:
            found.append(f"symbols: v{self.symbols.version} != v{other.symbols.version}")
        return found


@dataclass(frozen=True)
class UtteranceRecord(JsonConfig):
    """The outcome of one transcript row, prepared or skipped."""

    id: str
    line: int
    audio: str
    fingerprint: str
    """Hash of the row's text and its WAV's size and modification time: unchanged means reusable."""
    reason: str | None = None
    """None when prepared, else a skip reason code (see `tts.training.prepare.SkipReason`)."""
    detail: str = ""
    text: str = ""
    normalized: str = ""
    n_frames: int = 0
    n_symbols: int = 0
    seconds: float = 0.0
    """Duration after trimming silence."""
    source_seconds: float = 0.0
    source_rate: int = 0
    source_channels: int = 0
    agrees_with_expanded: bool | None = None
    """Our reading of the original script equals the expanded column (after normalisation)."""
    original_reading: str = ""
    """Our read-out of the original script (set when both script columns are present)."""
    expanded_reading: str = ""
    """The expanded column after the same normalisation (set with `original_reading`)."""

    @property
    def prepared(self) -> bool:
        """The row became training features."""
        return self.reason is None



class ManifestEntry(NamedTuple):
    """One line of a split manifest."""

    id: str
    text: str
    normalized: str
    n_frames: int
    n_symbols: int
    seconds: float


class UtteranceFeatures(NamedTuple):
    """The stored features of one utterance."""

    mel: np.ndarray  # [T_frames, n_mels] float16 in [0, 1]
    linear: np.ndarray  # [T_frames, n_freq] float16 in [0, 1]
    ids: np.ndarray  # [T_text] int64, EOS last


def features_path(root: Path, utterance_id: str) -> Path:
    """Where the features of one utterance live."""
    return Path(root) / UTTERANCE_DIR / f"{utterance_id}.safetensors"


def record_path(root: Path, utterance_id: str) -> Path:
    """Where the outcome record of one transcript row lives."""
    return Path(root) / UTTERANCE_DIR / f"{utterance_id}.json"


def write_features(root: Path, utterance_id: str, features: UtteranceFeatures) -> None:
    """Store one utterance's features atomically."""
    payload = save({
        "mel": np.ascontiguousarray(features.mel, dtype=np.float16),
        "linear": np.ascontiguousarray(features.linear, dtype=np.float16),
        "ids": np.ascontiguousarray(features.ids, dtype=np.int64),
    })
    write_bytes_atomic(features_path(root, utterance_id), payload)


def read_features(root: Path, utterance_id: str) -> UtteranceFeatures:
    """Load one utterance's features; FeaturesError when the file is missing or damaged."""
    path = features_path(root, utterance_id)
    try:
        tensors = load_file(str(path))
        return UtteranceFeatures(tensors["mel"], tensors["linear"], tensors["ids"])
    except (OSError, SafetensorError, KeyError) as error:
        raise FeaturesError(f"cannot read the features of {utterance_id} at {path}: {error}") from error


def write_record(root: Path, record: UtteranceRecord) -> None:
    """Store one row's outcome atomically (after its features, so it marks them complete)."""
    payload = json.dumps(record.to_dict(), ensure_ascii=False) + "\n"
    write_bytes_atomic(record_path(root, record.id), payload.encode("utf-8"))


def read_record(root: Path, utterance_id: str) -> UtteranceRecord | None:
    """The stored outcome of a row, or None when there is none or it cannot be read."""
    path = record_path(root, utterance_id)
    try:
        return UtteranceRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def write_settings(root: Path, settings: FeatureSettings) -> None:
    """Write `prepare.json` atomically."""
    payload = json.dumps(settings.to_dict(), ensure_ascii=False, indent=2) + "\n"
    write_bytes_atomic(Path(root) / SETTINGS_FILE, payload.encode("utf-8"))


def read_settings(root: Path) -> FeatureSettings:
    """Read `prepare.json`; FeaturesError when the directory holds no prepared features."""
    path = Path(root) / SETTINGS_FILE
    if not path.is_file():
        raise FeaturesError(f"{root} holds no prepared features (no {SETTINGS_FILE}); run sori prepare")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FeaturesError(f"{path} is not readable JSON: {error}") from error
    return FeatureSettings.from_dict(data)


def write_manifest(root: Path, split: str, entries: Iterable[ManifestEntry]) -> None:
    """Write `<split>.jsonl` atomically, one JSON object per utterance (left alone when unchanged)."""
    lines = [json.dumps(entry._asdict(), ensure_ascii=False) for entry in entries]
    write_bytes_if_changed(Path(root) / f"{split}.jsonl", ("\n".join(lines) + "\n" if lines else "").encode())


def read_manifest(root: Path, split: str) -> list[ManifestEntry]:
    """Read `<split>.jsonl`; FeaturesError naming the file when it is missing or broken."""
    path = Path(root) / f"{split}.jsonl"
    if not path.is_file():
        raise FeaturesError(f"{root} has no {split}.jsonl; run sori prepare to completion")
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(ManifestEntry(**json.loads(line)))
        except (ValueError, TypeError) as error:
            raise FeaturesError(f"{path} line {number} is not a manifest entry: {error}") from error
    return entries
