"""A tiny KSS-layout corpus written by the bootstrap recipe (recipes/espeak_ko) from our own sentences."""

from __future__ import annotations

from pathlib import Path

from recipes.espeak_ko.corpus import plan_corpus, write_corpus
from recipes.espeak_ko.sentences import Sentence
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

def make_corpus(root: Path, sentences: tuple[str, ...] = SENTENCES) -> Path:
    """Write a KSS-layout corpus of `sentences` with the bootstrap recipe's writer (espeak-ng, 44.1 kHz)."""
    utterances = plan_corpus(
        [Sentence(text, normalize_text(text)[0], "tests") for text in sentences], seed=0
    )
    write_corpus(root, utterances, workers=2, enforce_coverage=False, pronounced_coverage=False)
    return root


def corpus_ids(root: Path) -> list[str]:
    """Utterance ids of a corpus, in transcript order."""
    lines = (root / TRANSCRIPT_FILE).read_text(encoding="utf-8").splitlines()
    return [Path(line.split("|")[0]).stem for line in lines if line]
