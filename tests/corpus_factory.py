"""A tiny KSS-layout corpus spoken by espeak-ng, so preparation and training tests need no download."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import soundfile
import torch
import torchaudio.functional as AF

from tts.text import normalize_text
from tts.training.kss import TRANSCRIPT_FILE

SENTENCES = (
    "안녕하세요, 반갑습니다.",
    "오늘은 하늘이 맑아요.",
    "내일 아침에 다시 만나요.",
    "커피 한 잔 마실래요?",
    "버스가 곧 도착합니다.",
    "창문을 조금 열어 주세요.",
    "도서관은 조용했다.",
    "고양이가 의자 위에서 잔다.",
    "우리는 3시에 출발해요.",
    "사과 2개를 샀어요.",
    "바람이 시원하게 분다.",
    "주말에는 산에 가요.",
    "물을 많이 마셔야 해요.",
    "노래를 들으면 기분이 좋아져요.",
    "길이 많이 막히네요.",
    "저녁은 무엇을 먹을까요?",
    "10분만 기다려 주세요.",
    "아이들이 공원에서 뛰어논다.",
    "편지를 천천히 읽었다.",
    "불을 끄고 잠자리에 들었다.",
    "시장에서 채소를 골랐다.",
    "비가 그치면 산책하자.",
    "전화번호를 다시 알려 주세요.",
    "기차는 제시간에 떠났다.",
)
"""Sentences written for these tests (none from the evaluation set)."""

SAMPLE_RATE = 44100
"""KSS's rate; preparation must resample it."""


def speak(text: str, path: Path, sample_rate: int = SAMPLE_RATE) -> None:
    """Write espeak-ng's Korean rendering of `text` as a 16-bit mono WAV at `sample_rate`."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng is not installed (scripts/install_system.sh installs it)")
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "raw.wav"
        subprocess.run([espeak, "-v", "ko", "-w", str(raw), text], check=True, capture_output=True)
        data, rate = soundfile.read(str(raw), dtype="float32")
    wave = torch.from_numpy(data)
    if rate != sample_rate:
        wave = AF.resample(wave, rate, sample_rate)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), wave.numpy(), sample_rate, subtype="PCM_16")


def make_corpus(root: Path, sentences: tuple[str, ...] = SENTENCES) -> Path:
    """Write a KSS-layout corpus (transcript + WAVs under 1/ and 2/) speaking our own readings."""
    lines = []
    for index, sentence in enumerate(sentences):
        reading, _ = normalize_text(sentence)
        folder = 1 + index % 2
        audio = f"{folder}/{folder}_{index:04d}.wav"
        speak(reading, root / audio)
        duration = soundfile.info(str(root / audio)).duration
        lines.append(f"{audio}|{sentence}|{reading}|{reading}|{duration:.1f}|sentence {index}")
    (root / TRANSCRIPT_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root
