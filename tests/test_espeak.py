"""tts.espeak: the one espeak-ng runner shared by the corpus recipe and the evaluation teacher."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tts.espeak import EspeakError, espeak_wave

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None and os.environ.get("CI") != "true",
    reason="espeak-ng is not installed (scripts/install_system.sh installs it)",
)


@needs_espeak
def test_espeak_wave_is_mono_float_audio_at_the_asked_rate() -> None:
    wave = espeak_wave("안녕하세요", 16_000)
    assert wave.ndim == 1 and wave.dtype.is_floating_point
    assert 0.3 < wave.numel() / 16_000 < 5.0
    assert float(wave.abs().max()) > 0.01


@pytest.mark.parametrize(("script", "message"), [
    ("echo 'no voice' >&2\nexit 3", "no voice"),  # fails, saying why
    ("cat >/dev/null\nexit 0", "no usable audio"),  # succeeds but writes nothing
])
def test_a_misbehaving_binary_is_an_espeak_error(tmp_path: Path, script: str, message: str) -> None:
    binary = tmp_path / "espeak-ng"
    binary.write_text(f"#!/bin/sh\n{script}\n")
    binary.chmod(0o755)
    with pytest.raises(EspeakError, match=message):
        espeak_wave("가", 16_000, binary=str(binary))
