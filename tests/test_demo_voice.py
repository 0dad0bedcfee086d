"""The bundled demo voice: found without configuration, loads, and speaks with healthy attention."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from tts import DEFAULT_VOICE_NAME, Synthesizer, default_voice_dir, find_voices


def test_the_bundled_voice_is_found_and_loads() -> None:
    voice = default_voice_dir()
    assert voice.name == DEFAULT_VOICE_NAME
    assert find_voices()[DEFAULT_VOICE_NAME] == voice
    synthesizer = Synthesizer.load(voice, device="cpu")
    metadata = synthesizer.config.metadata
    for key in ("corpus", "training_steps", "training_seconds", "hardware"):
        assert key in metadata, f"config.json metadata lacks {key!r}"
    assert synthesizer.config.text.use_g2p is False  # measured choice: the teacher reads spelling
    assert (voice / "eval" / "report.md").is_file()


def test_sori_speak_with_the_default_voice_says_hello(tmp_path: Path) -> None:
    wav = tmp_path / "hello.wav"
    done = subprocess.run(
        [sys.executable, "-m", "sori", "speak", "안녕하세요", "-o", str(wav), "--device", "cpu", "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["voice"] == DEFAULT_VOICE_NAME
    assert summary["attention_ok"] is True, summary
    data, rate = sf.read(wav)
    seconds = len(data) / rate
    assert 0.4 <= seconds <= 3.0, seconds  # five syllables of speech, not silence or a runaway decoder
    assert abs(data).max() > 0.05
