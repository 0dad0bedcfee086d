"""Data preparation on a tiny espeak-ng corpus: planted faults, reruns, resumption, settings, split."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import torchaudio.functional as AF

from sori.cli import main
from tests.corpus_factory import corpus_ids
from tts.audio import AudioConfig
from tts.text import TextConfig, text_to_ids
from tts.training.config import PrepareConfig
from tts.training.features import (
    SPLITS,
    features_path,
    read_features,
    read_manifest,
    read_settings,
    record_path,
)
from tts.training.kss import TRANSCRIPT_FILE, parse_line
from tts.training.preparation_report import assign_splits
from tts.training.prepare import PrepareError, prepare_corpus

FAULTS = {
    "missing_wav": 1,
    "unreadable_wav": 1,
    "empty_wav": 1,
    "empty_text": 1,
    "malformed_line": 1,
}


def _faulty_corpus(source: Path, root: Path) -> Path:
    """Copy the bootstrap corpus and plant one of each fault, plus a stereo and a 48 kHz clip."""
    shutil.copytree(source, root)
    transcript = root / TRANSCRIPT_FILE
    lines = transcript.read_text(encoding="utf-8").splitlines()
    first = lines[0].split("|")
    data, rate = soundfile.read(str(root / first[0]), dtype="float32")
    soundfile.write(str(root / "1/stereo.wav"), np.stack([data, data], axis=1), rate, subtype="PCM_16")
    resampled = AF.resample(torch.from_numpy(data), rate, 48000).numpy()
    soundfile.write(str(root / "2/rate48k.wav"), resampled, 48000, subtype="PCM_16")
    (root / "2/corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEnot really audio" * 20)
    (root / "1/zero.wav").write_bytes(b"")
    shutil.copy(root / first[0], root / "1/emptytext.wav")
    text = "|".join(first[1:])
    lines += [
        f"1/stereo.wav|{text}",
        f"2/rate48k.wav|{text}",
        f"1/missing.wav|{text}",
        f"2/corrupt.wav|{text}",
        f"1/zero.wav|{text}",
        "1/emptytext.wav|||||",
        "1/bad.wav|only|three",
    ]
    transcript.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def faulty(bootstrap_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """The faulty corpus, prepared once with two worker processes: (corpus, features, report)."""
    base = tmp_path_factory.mktemp("faulty")
    corpus = _faulty_corpus(bootstrap_corpus, base / "corpus")
    out = base / "features"
    report = prepare_corpus(corpus, out, jobs=2)
    return corpus, out, report


def test_every_planted_fault_is_reported_with_its_reason(faulty: tuple[Path, Path, dict]) -> None:
    _, out, report = faulty
    assert report["skips_by_reason"] == FAULTS
    by_audio = {item["audio"]: item for item in report["skipped_rows"]}
    assert by_audio["1/missing.wav"]["reason"] == "missing_wav"
    assert by_audio["2/corrupt.wav"]["reason"] == "unreadable_wav"
    assert by_audio["1/zero.wav"]["reason"] == "empty_wav"
    assert by_audio["1/emptytext.wav"]["reason"] == "empty_text"
    malformed = by_audio[None]
    assert malformed["reason"] == "malformed_line" and "6" in malformed["detail"]
    assert all(item["detail"] and item["line"] > 0 for item in report["skipped_rows"])
    assert json.loads((out / "prepare_report.json").read_text(encoding="utf-8")) == report


def test_good_clips_are_prepared_including_stereo_and_48k(faulty: tuple[Path, Path, dict]) -> None:
    corpus, out, report = faulty
    assert report["prepared"] == 26
    assert report["stereo_mixed_to_mono"] == 1
    assert report["source_sample_rates"] == {"44100": 25, "48000": 1}
    assert sum(report["splits"].values()) == 26
    assert sum(item["count"] for item in report["duration_histogram"]) == 26
    assert report["hours"] > 0
    original = read_features(out, corpus_ids(corpus)[0])
    stereo = read_features(out, "stereo")
    np.testing.assert_allclose(stereo.mel.astype(np.float32), original.mel.astype(np.float32), atol=2e-3)
    resampled = read_features(out, "rate48k")
    assert abs(resampled.mel.shape[0] - original.mel.shape[0]) <= 2
    np.testing.assert_array_equal(resampled.ids, original.ids)


def test_features_have_the_documented_shapes(prepared_features: Path) -> None:
    settings = read_settings(prepared_features)
    entry = read_manifest(prepared_features, "train")[0]
    features = read_features(prepared_features, entry.id)
    assert features.mel.shape == (entry.n_frames, settings.audio.n_mels)
    assert features.linear.shape == (entry.n_frames, settings.audio.n_freq)
    assert features.mel.dtype == np.float16 and features.ids.dtype == np.int64
    assert float(features.mel.min()) >= 0.0 and float(features.linear.max()) <= 1.0
    assert features.ids[-1] == settings.symbols.eos_id and len(features.ids) == entry.n_symbols


def test_prepared_ids_equal_the_runtime_frontend(prepared_features: Path) -> None:
    settings = read_settings(prepared_features)
    for split in SPLITS:
        for entry in read_manifest(prepared_features, split):
            runtime = text_to_ids(entry.text, settings.text, settings.symbols)
            assert tuple(read_features(prepared_features, entry.id).ids.tolist()) == runtime.ids
            assert runtime.normalized == entry.normalized


def test_rerun_is_a_no_op(faulty: tuple[Path, Path, dict]) -> None:
    corpus, out, first = faulty
    stamps = {path: path.stat().st_mtime_ns for path in (out / "utterances").iterdir()}
    manifests = {split: (out / f"{split}.jsonl").read_text() for split in SPLITS}
    again = prepare_corpus(corpus, out, jobs=2)
    assert again["processed_this_run"] == 0
    assert again["reused_from_earlier_runs"] == first["processed_this_run"]
    assert {path: path.stat().st_mtime_ns for path in (out / "utterances").iterdir()} == stamps
    assert {split: (out / f"{split}.jsonl").read_text() for split in SPLITS} == manifests
    ignore = {"processed_this_run", "reused_from_earlier_runs", "elapsed_seconds"}
    assert {k: v for k, v in again.items() if k not in ignore} == {
        k: v for k, v in first.items() if k not in ignore}


def test_an_interrupted_run_resumes(bootstrap_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "features"
    complete = prepare_corpus(bootstrap_corpus, out, jobs=1)
    ids = corpus_ids(bootstrap_corpus)
    reference = read_features(out, ids[5])
    # A kill leaves some rows without outputs, one with features but no record, and temp files.
    for utterance_id in ids[:3]:
        features_path(out, utterance_id).unlink()
        record_path(out, utterance_id).unlink()
    record_path(out, ids[5]).unlink()
    (out / "utterances" / f".{ids[4]}.safetensors.abc.tmp").write_bytes(b"half a file")
    (out / "train.jsonl").unlink()
    resumed = prepare_corpus(bootstrap_corpus, out, jobs=2)
    assert resumed["processed_this_run"] == 4
    assert resumed["prepared"] == complete["prepared"] == 24
    assert not list((out / "utterances").glob(".*.tmp"))
    np.testing.assert_array_equal(read_features(out, ids[5]).mel, reference.mel)
    assert read_manifest(out, "train")


def test_a_changed_row_is_prepared_again(bootstrap_corpus: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(bootstrap_corpus, corpus)
    out = tmp_path / "features"
    prepare_corpus(corpus, out, jobs=1)
    transcript = corpus / TRANSCRIPT_FILE
    lines = transcript.read_text(encoding="utf-8").splitlines()
    columns = lines[3].split("|")
    columns[1] = "커피 두 잔 마실래요?"
    lines[3] = "|".join(columns)
    changed_id = Path(columns[0]).stem
    transcript.write_text("\n".join(lines) + "\n", encoding="utf-8")
    again = prepare_corpus(corpus, out, jobs=1)
    assert again["processed_this_run"] == 1
    entry = {e.id: e for split in SPLITS for e in read_manifest(out, split)}[changed_id]
    assert entry.text == "커피 두 잔 마실래요?"
    assert again["frontend_vs_expanded"]["equal"] == 23
    assert again["frontend_vs_expanded"]["disagreements"][0]["ours"].startswith("커피 두 잔")


def test_features_of_other_settings_are_refused(prepared_features: Path, bootstrap_corpus: Path) -> None:
    with pytest.raises(PrepareError, match=r"audio\.n_mels: 40 != 80"):
        prepare_corpus(bootstrap_corpus, prepared_features, audio=replace(AudioConfig(), n_mels=40))
    with pytest.raises(PrepareError, match=r"text\.use_g2p"):
        prepare_corpus(bootstrap_corpus, prepared_features, text=TextConfig(use_g2p=False))
    with pytest.raises(PrepareError, match=r"prepare\.max_seconds"):
        prepare_corpus(bootstrap_corpus, prepared_features, PrepareConfig(max_seconds=9.0))


def test_length_limits_and_expanded_column(bootstrap_corpus: Path, tmp_path: Path) -> None:
    config = PrepareConfig(min_seconds=1.5, max_seconds=2.0, text_column="expanded", max_symbols=30)
    report = prepare_corpus(bootstrap_corpus, tmp_path / "features", config, jobs=1)
    reasons = report["skips_by_reason"]
    assert reasons.get("too_short", 0) > 0 and reasons.get("too_long", 0) > 0
    assert reasons.get("text_too_long", 0) > 0
    assert report["prepared"] + report["skipped"] == 24
    assert report["seconds"]["min"] >= 1.5 and report["seconds"]["max"] <= 2.0
    texts = {e.text for split in SPLITS for e in read_manifest(tmp_path / "features", split)}
    assert not any(char.isdigit() for text in texts for char in text)


def test_split_is_fixed_by_seed_and_disjoint() -> None:
    ids = [f"u{i}" for i in range(200)]
    config = PrepareConfig(val_fraction=0.05, test_fraction=0.05, seed=7)
    first, second = assign_splits(ids, config), assign_splits(list(reversed(ids)), config)
    assert {k: sorted(v) for k, v in first.items()} == {k: sorted(v) for k, v in second.items()}
    assert len(first["val"]) == len(first["test"]) == 10
    assert sorted(first["train"] + first["val"] + first["test"]) == sorted(ids)
    other = assign_splits(ids, replace(config, seed=8))
    assert other["val"] != first["val"]


def test_transcript_lines_are_parsed_or_explained() -> None:
    row = parse_line(3, "1/1_0003.wav|3시요.|세 시요.|ᄉ...|1.2|At three.")
    assert row.utterance_id == "1_0003" and row.expanded == "세 시요." and row.duration == 1.2
    assert "columns" in parse_line(4, "a|b").reason
    assert "leaves the corpus root" in parse_line(5, "../x.wav|a|b|c|1|e").reason


def test_cli_prepare(prepared_features: Path, bootstrap_corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli"
    shutil.copytree(prepared_features, out)
    assert main(["prepare", str(bootstrap_corpus), "--out", str(out), "--jobs", "1",
                 "--val-fraction", "0.15", "--test-fraction", "0.05"]) == 0
    printed = capsys.readouterr().out
    assert '"prepared": 24' in printed and "24 of 24 rows" in printed
    assert main(["prepare", str(bootstrap_corpus), "--out", str(out), "--no-g2p"]) == 2
    assert "use_g2p" in capsys.readouterr().err
    assert main(["prepare", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
