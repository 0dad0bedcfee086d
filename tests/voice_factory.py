"""A tiny test voice with random weights, so end-to-end tests need no trained model."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.conftest import tiny_tacotron_config
from tts.audio import AudioConfig
from tts.model import Tacotron
from tts.text import TextConfig, default_symbol_table
from tts.voice_format import VoiceConfig, save_voice


def make_test_voice(voice_dir: Path, seed: int = 0, name: str = "test-tiny", fp16: bool = False) -> Path:
    """Write a random-weight voice with the real frontend and audio settings and a narrow model."""
    torch.manual_seed(seed)
    audio = AudioConfig(griffin_lim_iters=4)
    symbols = default_symbol_table()
    model_config = tiny_tacotron_config(
        n_symbols=len(symbols), n_mels=audio.n_mels, n_freq=audio.n_freq, max_decoder_steps=120
    )
    model = Tacotron(model_config)
    config = VoiceConfig(
        name=name, text=TextConfig(use_g2p=True), audio=audio, model=model_config, symbols=symbols,
        metadata={"description": "random weights, for tests only"},
    )
    return save_voice(voice_dir, config, model, fp16=fp16)
