"""A tiny test voice with a random-weight neural vocoder, for end-to-end vocoder tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from tts.vocoder import Vocoder, VocoderConfig, VocoderSection
from tts.voice_format import load_voice, save_voice


def tiny_vocoder_config(**overrides: object) -> VocoderConfig:
    """The default audio's signal settings with a narrow, shallow generator."""
    values: dict[str, object] = dict(dim=16, intermediate_dim=32, n_blocks=2)
    values.update(overrides)
    return VocoderConfig(**values)  # type: ignore[arg-type]


def add_test_vocoder(voice_dir: Path, seed: int = 0, fp16: bool = False, spectrogram: str = "mel") -> Path:
    """Rewrite the voice at `voice_dir` (see tests/voice_factory.py) with a tiny random vocoder fed
    `spectrogram` ("mel" or "linear")."""
    config, model = load_voice(voice_dir)
    torch.manual_seed(seed)
    vocoder = Vocoder(tiny_vocoder_config(spectrogram=spectrogram))
    section = VocoderSection(vocoder.config, {"description": "random weights, for tests only"})
    return save_voice(voice_dir, replace(config, vocoder=section), model, fp16=fp16, vocoder=vocoder)
