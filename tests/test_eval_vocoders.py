"""`sori eval`'s vocoder comparison: copy and teacher-forced synthesis scored for each vocoder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.test_eval import needs_espeak
from tests.vocoder_factory import add_test_vocoder
from tts import Synthesizer
from tts.audio import AudioConfig, trim_silence
from tts.espeak import espeak_wave
from tts.evaluation import vocoders as vocoder_eval
from tts.evaluation.vocoders import (
    COPY,
    GRIFFIN_LIM,
    NEURAL,
    TEACHER_FORCED,
    FreeRunning,
    compare_vocoders,
    score_wave,
    teacher_forced_spectrograms,
)
from tts.text import text_to_ids

RATE = 22050
SENTENCES = ["사과를 먹었어요.", "내일 비가 온대요."]


@pytest.fixture(scope="module")
def neural_voice(tmp_path_factory: pytest.TempPathFactory, test_voice_dir: Path) -> Path:
    voice = Path(shutil.copytree(test_voice_dir, tmp_path_factory.mktemp("ev") / "voice"))
    return add_test_vocoder(voice)


@pytest.fixture(scope="module")
def clips() -> list[tuple[str, torch.Tensor]]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    return [(text, trim_silence(espeak_wave(text, RATE), AudioConfig())) for text in SENTENCES]


@needs_espeak
def test_scores_rank_a_wave_above_its_noisy_copy(clips: list[tuple[str, torch.Tensor]]) -> None:
    pytest.importorskip("pesq")
    pytest.importorskip("pystoi")
    wave = clips[0][1]
    same = score_wave(wave, wave, RATE)
    assert same.spectral_distance == pytest.approx(0.0, abs=1e-6)
    assert same.pesq_wb is not None and same.pesq_wb > 4.4 and same.stoi == pytest.approx(1.0, abs=1e-3)
    noisy = score_wave(wave + 0.05 * torch.randn(wave.shape, generator=torch.Generator().manual_seed(0)),
                       wave, RATE)
    assert noisy.spectral_distance > 0.1
    assert noisy.pesq_wb is not None and noisy.pesq_wb < same.pesq_wb - 1.0
    assert noisy.stoi is not None and noisy.stoi < same.stoi
    half = score_wave(wave[: wave.numel() // 2], wave, RATE)  # padded with silence to the reference's length
    assert half.stoi is not None and half.stoi < 0.7 and half.spectral_distance > 0.3
    blip = wave[: RATE // 5]  # 0.2 s: too short for STOI, which would report 1e-5
    assert score_wave(blip, blip, RATE).stoi is None


def test_scores_without_the_perceptual_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vocoder_eval, "perceptual_available", lambda: False)
    wave = torch.sin(torch.arange(RATE) * 0.05)
    score = score_wave(wave, wave, RATE)
    assert score.pesq_wb is None and score.stoi is None and score.spectral_distance == pytest.approx(0.0, abs=1e-6)


def test_teacher_forcing_is_aligned_frame_for_frame(neural_voice: Path) -> None:
    synthesizer = Synthesizer.load(neural_voice, device="cpu")
    config = synthesizer.config
    r = config.model.reduction_factor
    ids = text_to_ids("안녕하세요.", config.text, config.symbols).ids
    synthesizer.model.train()  # as a training loop would leave it: the pass must restore it
    for frames in (17, 18):  # odd and even against r = 2
        mel = torch.rand(frames, config.audio.n_mels, generator=torch.Generator().manual_seed(frames))
        predicted_mel, predicted_linear = teacher_forced_spectrograms(synthesizer.model, ids, mel)
        assert predicted_mel.shape == (frames, config.audio.n_mels)
        assert predicted_linear.shape == (frames, config.audio.n_freq)
        again, _ = teacher_forced_spectrograms(synthesizer.model, ids, mel)
        assert torch.equal(predicted_mel, again)  # eval mode: no dropout draws
        assert synthesizer.model.training
        # Causal and aligned: decoder step k sees true frames up to k*r - 1 and predicts frames
        # k*r .. k*r + r - 1, so changing frames from 8 on leaves the predictions before 10 alone.
        changed = mel.clone()
        changed[8:] = torch.rand(frames - 8, config.audio.n_mels, generator=torch.Generator().manual_seed(99))
        after, _ = teacher_forced_spectrograms(synthesizer.model, ids, changed)
        assert torch.equal(after[: 8 + r], predicted_mel[: 8 + r])
        assert not torch.equal(after[8 + r :], predicted_mel[8 + r :])
    synthesizer.model.eval()


@needs_espeak
def test_comparison_scores_both_vocoders_on_both_paths(
    neural_voice: Path, clips: list[tuple[str, torch.Tensor]]
) -> None:
    pytest.importorskip("pesq")
    pytest.importorskip("pystoi")
    synthesizer = Synthesizer.load(neural_voice, device="cpu")
    config = synthesizer.config
    free = {GRIFFIN_LIM: FreeRunning(40.0, 1.0), NEURAL: FreeRunning(35.0, 1.0)}
    comparison = compare_vocoders(synthesizer.model, config.text, config.symbols, config.audio,
                                  synthesizer.vocoder, clips, free)
    summary = comparison.summary()
    assert comparison.vocoders == [GRIFFIN_LIM, NEURAL] and summary["clips"] == 2
    for path in (COPY, TEACHER_FORCED):
        for name in (GRIFFIN_LIM, NEURAL):
            assert set(summary[path][name]) == {"pesq_wb", "stoi", "spectral_distance"}
            assert summary[path][name]["pesq_wb"]["clips"] == 2
    # Griffin-Lim rebuilds a recording from its own spectrogram far better than a random network
    # does, and the copy beats the random voice's teacher-forced guess.
    copy, forced = summary[COPY], summary[TEACHER_FORCED]
    assert copy[GRIFFIN_LIM]["pesq_wb"]["mean"] > copy[NEURAL]["pesq_wb"]["mean"] + 0.3
    assert copy[GRIFFIN_LIM]["stoi"]["mean"] > forced[GRIFFIN_LIM]["stoi"]["mean"]
    bars = summary["bars"]
    assert bars["copy synthesis PESQ-WB >= 3.6"] is False
    assert bars["free-running MFCC-DTW distance below Griffin-Lim's"] is True
    assert bars["free-running retrieval no lower than Griffin-Lim's"] is True
    teacher_stoi = forced[NEURAL]["stoi"]["mean"] > forced[GRIFFIN_LIM]["stoi"]["mean"]
    assert bars["teacher-forced STOI above Griffin-Lim's"] is teacher_stoi
    markdown = "\n".join(comparison.to_markdown())
    assert "| copy synthesis | neural |" in markdown and "| teacher-forced | griffin-lim |" in markdown


@needs_espeak
def test_sori_eval_reports_the_vocoders_side_by_side(tmp_path: Path, neural_voice: Path,
                                                     test_voice_dir: Path) -> None:
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    reports = {}
    for name, voice in (("neural", neural_voice), ("plain", test_voice_dir)):
        out = tmp_path / name
        done = subprocess.run(
            [sys.executable, "-m", "sori", "eval", "--voice", str(voice), "--sentences", str(sentences),
             "--out", str(out), "--device", "cpu"], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        reports[name] = (json.loads((out / "report.json").read_text(encoding="utf-8")),
                         (out / "report.md").read_text(encoding="utf-8"), done.stdout)
    report, markdown, stdout = reports["neural"]
    vocoders = report["vocoders"]
    assert set(vocoders["copy synthesis"]) == set(vocoders["teacher-forced"]) == {GRIFFIN_LIM, NEURAL}
    assert set(vocoders["free-running"]) == {GRIFFIN_LIM, NEURAL}
    assert "copy synthesis PESQ-WB >= 3.6" in vocoders["bars"]
    assert "## Vocoders" in markdown and "copy synthesis, neural:" in stdout
    plain, markdown, _ = reports["plain"]
    assert set(plain["vocoders"]["copy synthesis"]) == {GRIFFIN_LIM} and "bars" not in plain["vocoders"]
    assert set(plain["vocoders"]["free-running"]) == {GRIFFIN_LIM}
    skipped = subprocess.run(
        [sys.executable, "-m", "sori", "eval", "--voice", str(test_voice_dir), "--sentences", str(sentences),
         "--out", str(tmp_path / "skip"), "--device", "cpu", "--no-vocoder-comparison"],
        capture_output=True, text=True, timeout=600)
    assert skipped.returncode == 0, skipped.stderr
    assert "vocoders" not in json.loads((tmp_path / "skip" / "report.json").read_text(encoding="utf-8"))
