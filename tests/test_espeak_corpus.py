"""The espeak-ng bootstrap corpus: its sentences, its KSS layout, resuming, and coverage counts."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import unicodedata
from pathlib import Path

import pytest
import soundfile

from recipes.espeak_ko import (
    ENGLISH_PLACEHOLDER,
    TRANSCRIPT,
    CorpusError,
    Coverage,
    Sentence,
    SentenceConfig,
    collect_sentences,
    default_eval_path,
    plan_corpus,
    write_corpus,
)
from recipes.espeak_ko.cli import main
from recipes.espeak_ko.coverage import DEFAULT_MIN_COUNT, CoverageReport
from recipes.espeak_ko.sentences import reading_key
from tts.text import TextConfig, normalize_text, text_to_ids
from tts.text.symbols import CODAS, NUCLEI, ONSETS

TINY = 10
"""Clips in the tiny corpus the layout tests write."""
WAV_NAME = re.compile(r"^([1-4])/\1_\d{4}\.wav$")


@pytest.fixture(scope="module")
def sentences() -> list[Sentence]:
    """The corpus's sentences, collected with the assistant's per-question logging quieted, and the
    logger's level given back afterwards (later tests read the assistant's logs)."""
    assistant_logger = logging.getLogger("assistant")
    previous = assistant_logger.level
    assistant_logger.setLevel(logging.WARNING)
    try:
        return collect_sentences(SentenceConfig())
    finally:
        assistant_logger.setLevel(previous)


@pytest.fixture
def espeak() -> None:
    """Skip without espeak-ng, except on CI, where its absence is a failure."""
    if shutil.which("espeak-ng") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("espeak-ng is required on CI: run scripts/install_system.sh")
        pytest.skip("espeak-ng is not installed (scripts/install_system.sh installs it)")


def test_enough_unique_sentences_of_allowed_length(sentences: list[Sentence]) -> None:
    texts = [sentence.text for sentence in sentences]
    assert len(texts) >= 4000
    assert len(set(texts)) == len(texts)
    assert len({reading_key(sentence.expanded) for sentence in sentences}) == len(texts)
    assert all(5 <= len(text) <= 120 and "|" not in text for text in texts)
    assert {sentence.source for sentence in sentences} == {
        "everyday",
        "law",
        "intents",
        "replies",
        "numbers",
    }


def test_every_sentence_is_frontend_clean(sentences: list[Sentence]) -> None:
    for sentence in sentences:
        result = text_to_ids(sentence.text, TextConfig(use_g2p=False))
        assert result.dropped == (), sentence.text
        assert result.normalized == sentence.expanded


def test_no_evaluation_sentence_as_written_or_as_read(sentences: list[Sentence]) -> None:
    evaluation = [
        line.strip()
        for line in default_eval_path().read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert evaluation
    written = set(evaluation)
    read = {reading_key(normalize_text(text)[0]) for text in evaluation}
    for sentence in sentences:
        assert sentence.text not in written, sentence.text
        assert reading_key(sentence.expanded) not in read, sentence.text


def test_collection_is_deterministic_and_honours_exclude_file(
    sentences: list[Sentence], tmp_path: Path
) -> None:
    verbatim = next(s for s in sentences if s.source == "numbers")
    by_reading = next(s for s in sentences if s.source == "replies" and s.text != s.expanded)
    exclude = tmp_path / "exclude.txt"
    # The evaluation set again, plus two corpus sentences: the second written as the frontend
    # reads it with other punctuation, so only the comparison of readings can exclude it.
    evaluation = default_eval_path().read_text(encoding="utf-8")
    extra = f"{verbatim.text}\n\n{by_reading.expanded.rstrip('.')}!\n"
    exclude.write_text(f"{evaluation}\n{extra}", encoding="utf-8")
    again = collect_sentences(SentenceConfig(), exclude=exclude)
    assert again == [s for s in sentences if s not in (verbatim, by_reading)]


def test_full_sentence_set_covers_every_jamo(sentences: list[Sentence]) -> None:
    coverage = Coverage.of(sentence.expanded for sentence in sentences)
    assert coverage.minimum >= DEFAULT_MIN_COUNT, coverage.describe_under(DEFAULT_MIN_COUNT)


def test_coverage_counts_on_a_hand_checked_input() -> None:
    coverage = Coverage.of(["닭 값, 가!", "ㅋ"])
    counts = coverage.to_dict()
    assert counts["onsets"]["ㄷ-"] == 1
    assert counts["onsets"]["ㄱ-"] == 2
    assert counts["onsets"]["ㅋ-"] == 1
    assert counts["nuclei"]["ㅏ"] == 3
    assert counts["codas"] == {
        label: (1 if label in ("-ㄺ", "-ㅄ") else 0) for label in counts["codas"]
    }
    assert sum(coverage.counts.values()) == 1 + 2 + 1 + 3 + 2
    assert len(coverage.counts) == len(ONSETS) + len(NUCLEI) + len(CODAS)
    assert coverage.minimum == 0
    assert coverage.under(1)[0] == ONSETS[1]
    assert "-ㄺ" not in coverage.describe_under(1)
    report = CoverageReport(coverage, None, min_count=1, enforced=False, utterances=2)
    data = json.loads(report.to_json())
    assert data["passed"] is False and data["pronounced"] is None
    assert data["spelling"]["counts"]["codas"]["-ㅄ"] == 1
    assert "ㄲ-" in data["spelling"]["under_min_count"]


def test_plan_splits_into_four_folders(sentences: list[Sentence]) -> None:
    plan = plan_corpus(sentences, seed=0, limit=12)
    assert plan == plan_corpus(sentences, seed=0, limit=12)
    assert [u.wav for u in plan] == [f"{f}/{f}_{i:04d}.wav" for f in range(1, 5) for i in range(3)]
    assert plan != plan_corpus(sentences, seed=1, limit=12)
    with pytest.raises(CorpusError, match="--limit"):
        plan_corpus(sentences, seed=0, limit=0)


def test_refuses_an_under_covered_corpus_before_writing(
    sentences: list[Sentence], tmp_path: Path
) -> None:
    out = tmp_path / "corpus"
    with pytest.raises(CorpusError, match=r"fewer than 20 times: .*×0"):
        write_corpus(out, plan_corpus(sentences, seed=0, limit=TINY))
    assert not out.exists()


def _rows(out: Path) -> list[list[str]]:
    lines = (out / TRANSCRIPT).read_text(encoding="utf-8").splitlines()
    return [line.split("|") for line in lines]


def test_tiny_corpus_has_kss_layout_and_resumes(
    espeak: None, sentences: list[Sentence], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "corpus"
    args = [str(out), "--limit", str(TINY), "--jobs", "2", "--quiet", "--no-pronounced-coverage"]
    assert main(args) == 0
    assert f"{TINY} utterances ({TINY} rendered now)" in capsys.readouterr().out
    rows = _rows(out)
    assert len(rows) == TINY
    assert {row[0][0] for row in rows} == {"1", "2", "3", "4"}
    for path, original, expanded, jamo, duration, english in rows:
        assert WAV_NAME.match(path), path
        assert expanded == normalize_text(original)[0]
        assert jamo == unicodedata.normalize("NFD", expanded) and jamo != expanded
        assert english == ENGLISH_PLACEHOLDER
        info = soundfile.info(str(out / path))
        assert (info.samplerate, info.channels, info.subtype) == (44100, 1, "PCM_16")
        assert abs(float(duration) - info.frames / info.samplerate) <= 0.05
        assert re.fullmatch(r"\d+\.\d", duration) and float(duration) > 0.3
    report = json.loads((out / "coverage_report.json").read_text(encoding="utf-8"))
    assert report["enforced"] is False and report["utterances"] == TINY
    assert report["pronounced"] is None
    assert (out / "coverage_report.md").read_text(encoding="utf-8").startswith("# Phonetic")

    plan = plan_corpus(sentences, seed=0, limit=TINY)
    stamps = {row[0]: (out / row[0]).stat().st_mtime_ns for row in rows}
    transcript = (out / TRANSCRIPT).read_bytes()
    rerun = write_corpus(out, plan, enforce_coverage=False, pronounced_coverage=True)
    assert rerun.synthesized == 0
    assert rerun.coverage.pronounced is not None
    assert sum(rerun.coverage.pronounced.counts.values()) > 0
    assert {row[0]: (out / row[0]).stat().st_mtime_ns for row in rows} == stamps
    assert (out / TRANSCRIPT).read_bytes() == transcript

    changed = [plan[0].__class__(plan[0].wav, sentences[-1]), *plan[1:]]
    summary = write_corpus(out, changed, enforce_coverage=False, pronounced_coverage=False)
    assert summary.synthesized == 1
    assert _rows(out)[0][1] == sentences[-1].text
    assert (out / plan[1].wav).stat().st_mtime_ns == stamps[plan[1].wav]
