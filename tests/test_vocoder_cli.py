"""`sori vocode` (copy synthesis) and `sori speak --vocoder` on a tiny voice with a random vocoder."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import soundfile
import torch

from sori.cli import main
from tests.vocoder_factory import add_test_vocoder
from tts.audio import AudioConfig, load_audio, save_wav
from tts.copy_synthesis import copy_synthesis
from tts.vocoder.losses import spectral_distance


@pytest.fixture(scope="module")
def vocoder_voice(tmp_path_factory: pytest.TempPathFactory, test_voice_dir: Path) -> Path:
    voice = Path(shutil.copytree(test_voice_dir, tmp_path_factory.mktemp("cli") / "voice"))
    return add_test_vocoder(voice)


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """A second of a gliding, vibrato tone at 16 kHz (vocode resamples it to the voice's rate)."""
    rate = 16000
    t = torch.arange(rate) / rate
    wave = 0.3 * torch.sin(2 * math.pi * (150 * t + 100 * t**2)) * (0.6 + 0.4 * torch.sin(2 * math.pi * 3 * t))
    return save_wav(tmp_path / "in.wav", wave, rate)


def test_vocode_with_griffin_lim_and_neural(tmp_path: Path, vocoder_voice: Path, recording: Path,
                                            test_voice_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for vocoder, voice in (("griffin-lim", vocoder_voice), ("neural", vocoder_voice), ("auto", test_voice_dir)):
        out = tmp_path / f"{vocoder}.wav"
        assert main(["vocode", str(recording), "-o", str(out), "--voice", str(voice),
                     "--vocoder", vocoder, "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["vocoder"] == ("griffin-lim" if vocoder == "auto" else vocoder)
        info = soundfile.info(str(out))
        assert info.samplerate == 22050 and info.frames == 22050
    # Griffin-Lim from the recording's own spectrum is close; a random vocoder is not.
    original = load_audio(recording, 22050)
    griffin = spectral_distance(load_audio(tmp_path / "griffin-lim.wav", 22050), original)
    neural = spectral_distance(load_audio(tmp_path / "neural.wav", 22050), original)
    assert griffin < neural


def test_vocode_errors_are_named(tmp_path: Path, recording: Path, test_voice_dir: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.wav"
    assert main(["vocode", str(recording), "-o", str(out), "--voice", str(test_voice_dir), "--vocoder", "neural"]) == 2
    assert "has no neural vocoder" in capsys.readouterr().err
    assert main(["vocode", str(tmp_path / "none.wav"), "-o", str(out), "--voice", str(test_voice_dir)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not out.exists()


def test_copy_synthesis_keeps_the_length() -> None:
    audio = AudioConfig(griffin_lim_iters=4)
    wave = 0.1 * torch.randn(5000)
    assert copy_synthesis(wave, audio).shape == (5000,)


def test_speak_with_each_vocoder(tmp_path: Path, vocoder_voice: Path, test_voice_dir: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    for vocoder in ("neural", "griffin-lim"):
        out = tmp_path / f"{vocoder}.wav"
        assert main(["speak", "안녕하세요", "-o", str(out), "--voice", str(vocoder_voice), "--device", "cpu",
                     "--vocoder", vocoder, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["vocoder"] == vocoder
        assert soundfile.info(str(out)).frames > 0
    assert main(["speak", "안녕하세요", "-o", str(tmp_path / "x.wav"), "--voice", str(test_voice_dir),
                 "--device", "cpu", "--vocoder", "neural"]) == 2
    assert "has no neural vocoder" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="sori eval's teacher needs espeak-ng")
def test_eval_with_the_neural_vocoder(tmp_path: Path, vocoder_voice: Path, test_voice_dir: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("반갑습니다.\n", encoding="utf-8")
    assert main(["eval", "--voice", str(vocoder_voice), "--sentences", str(sentences), "--out",
                 str(tmp_path / "report"), "--device", "cpu", "--vocoder", "neural"]) == 0
    assert json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))["summary"]["sentences"] == 1
    assert main(["eval", "--voice", str(test_voice_dir), "--sentences", str(sentences), "--out",
                 str(tmp_path / "other"), "--device", "cpu", "--vocoder", "neural"]) == 2
    assert "has no neural vocoder" in capsys.readouterr().err
