"""`sori eval`: a well-formed report for any voice, and a teacher-match measure that discriminates."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tts.audio import load_audio
from tts.espeak import espeak_wave
from tts.evaluation.similarity import (
    distance_matrix,
    mfcc_features,
    retrieval_hits,
    spectral_dtw_l1,
)

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None and os.environ.get("CI") != "true",
    reason="espeak-ng is not installed (scripts/install_system.sh installs it)",
)
SENTENCES = ["사과를 먹었어요.", "내일 비가 온대요.", "기차가 곧 출발합니다.", "고양이는 잠을 자요."]


def _espeak_at_speed(text: str, words_per_minute: int, tmp_path: Path) -> torch.Tensor:
    path = tmp_path / f"{abs(hash((text, words_per_minute)))}.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", str(words_per_minute), "-w", str(path), text], check=True)
    return load_audio(path, 22050)


@needs_espeak
def test_teacher_match_retrieves_the_same_words_at_another_speed(tmp_path: Path) -> None:
    teacher = [mfcc_features(espeak_wave(text, 22050), 22050) for text in SENTENCES]
    slower = [mfcc_features(_espeak_at_speed(text, 130, tmp_path), 22050) for text in SENTENCES]
    distances = distance_matrix(slower, teacher)
    assert all(retrieval_hits(distances))
    assert np.all(np.diag(distances) < distances.mean())


def test_retrieval_hits_reads_the_diagonal() -> None:
    distances = np.array([[1.0, 2.0, 3.0], [0.5, 1.0, 2.0], [3.0, 3.0, 1.0]])
    assert retrieval_hits(distances) == [True, False, True]


def test_spectral_dtw_l1_forgives_timing_not_content() -> None:
    rng = np.random.default_rng(0)
    target = rng.random((40, 8))
    slowed = np.repeat(target, 2, axis=0)  # same content, twice as long
    assert spectral_dtw_l1(slowed, target) == pytest.approx(0.0)
    average = np.tile(target.mean(axis=0), (40, 1))  # right bands on average, no movement
    assert spectral_dtw_l1(average, target) > 0.15
    assert spectral_dtw_l1(target + 0.1, target) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="same C"):
        spectral_dtw_l1(target, target[:, :4])


@needs_espeak
def test_sori_eval_writes_a_well_formed_report(tmp_path: Path, test_voice_dir: Path) -> None:
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("반갑습니다.\n\n지금은 오전 9시 40분입니다.\n", encoding="utf-8")
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "sori", "eval", "--voice", str(test_voice_dir), "--sentences", str(sentences),
         "--out", str(out), "--device", "cpu"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    summary = report["summary"]
    assert summary["sentences"] == 2 and len(report["sentences"]) == 2
    assert set(summary["bars"]) >= {"every sentence reaches the end", "every sentence stops by token"}
    assert 0.0 <= summary["retrieval_accuracy"] <= 1.0
    first = report["sentences"][0]
    assert first["text"] == "반갑습니다." and first["teacher_seconds"] > 0.3 and first["duration_ratio"] > 0
    assert "sori eval" in report["command"]
    assert (out / "report.md").read_text(encoding="utf-8").startswith("# Evaluation of `test-tiny`")
    assert sorted(p.name for p in (out / "alignments").iterdir()) == ["000.png", "001.png"]


def test_sori_eval_rejects_an_empty_sentences_file(tmp_path: Path, test_voice_dir: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sori", "eval", "--voice", str(test_voice_dir), "--sentences", str(empty),
         "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 2 and "holds no sentences" in done.stderr
