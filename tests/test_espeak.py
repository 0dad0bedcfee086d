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


def test_a_failing_binary_is_an_espeak_error(tmp_path: Path) -> None:
    failing = tmp_path / "espeak-ng"
    failing.write_text("#!/bin/sh\necho 'no voice' >&2\nexit 3\n")
    failing.chmod(0o755)
    with pytest.raises(EspeakError, match="no voice"):
        espeak_wave("가", 16_000, binary=str(failing))


def test_a_binary_that_writes_nothing_is_an_espeak_error(tmp_path: Path) -> None:
    silent = tmp_path / "espeak-ng"
    silent.write_text("#!/bin/sh\ncat >/dev/null\nexit 0\n")
    silent.chmod(0o755)
    with pytest.raises(EspeakError, match="no usable audio"):
        espeak_wave("가", 16_000, binary=str(silent))
