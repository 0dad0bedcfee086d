"""Shared fixtures. Append new fixtures; do not rewrite others'."""

from __future__ import annotations

import pytest

from tts.model import TacotronConfig


def tiny_tacotron_config(n_symbols: int = 20, reduction_factor: int = 2, **overrides: object) -> TacotronConfig:
    """A Tacotron small enough to train in seconds on a CPU (same architecture, narrow layers)."""
    values: dict[str, object] = dict(
        n_symbols=n_symbols, n_mels=16, n_freq=33, reduction_factor=reduction_factor,
        embedding_dim=32, encoder_prenet_dims=(32, 16), decoder_prenet_dims=(32, 16),
        encoder_bank_size=4, encoder_channels=16, encoder_highway_layers=2, encoder_gru_dim=16,
        attention_rnn_dim=32, attention_dim=16, location_filters=8, location_kernel_size=7,
        decoder_rnn_dim=32, postnet_bank_size=3, postnet_channels=16, postnet_projection_dim=32,
        postnet_highway_layers=1, postnet_gru_dim=16, max_decoder_steps=200,
    )
    values.update(overrides)
    return TacotronConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def tiny_config() -> TacotronConfig:
    """A tiny Tacotron configuration with r = 2."""
    return tiny_tacotron_config()


@pytest.fixture(scope="session")
def test_voice_dir(tmp_path_factory: pytest.TempPathFactory):
    """A tiny random-weight voice directory shared by the session (see tests/voice_factory.py)."""
    from tests.voice_factory import make_test_voice

    return make_test_voice(tmp_path_factory.mktemp("voices") / "test-tiny")
