"""`sori synthesize-batch`: files, transcript and report; resume after a kill; skipped lines; the
output read by `sori prepare`; and, on a real local Ray cluster, the same files and samples as the
local run, and every line exactly once after a Ray worker is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile

from sori.cli import main
from tests.ray_cluster import command_line, descendants
from tts.bulk import read_journal, read_sentences
from tts.bulk.job import JOURNAL_FILE, REPORT_FILE, TRANSCRIPT_FILE
from tts.training.kss import read_transcript

SENTENCES = (
    "안녕하세요.", "오늘 날씨가 좋네요.", "내일 아침 일곱 시에 깨워 주세요.", "우유와 달걀을 샀어요.",
    "지하철역까지 걸어서 십 분 걸려요.", "창문 좀 열어 줄래요?", "주말에는 산에 갈 거예요.",
    "3시 15분에 만나요.", "커피 한 잔 주세요.", "책을 다 읽었어요. 재미있었어요.",
)
"""Everyday lines written for these tests."""

UNSPEAKABLE = "😀😀"
OVER_LONG = "가" * 301
SEPARATOR = "왼쪽|오른쪽"
TIMEOUT_S = 300


def write_lines(path: Path, count: int) -> Path:
    """`count` spoken lines cycling through SENTENCES (numbered so none repeats), then a blank
    line, an unspeakable one, an over-long one and one with the transcript's separator."""
    lines = [f"{index + 1}번. {SENTENCES[index % len(SENTENCES)]}" for index in range(count)]
    path.write_text("\n".join([*lines, "", UNSPEAKABLE, OVER_LONG, SEPARATOR]) + "\n", encoding="utf-8")
    return path


def synthesize(sentences: Path, out: Path, voice: Path, *extra: str) -> int:
    """`sori synthesize-batch` in this process."""
    return main(["synthesize-batch", str(sentences), "--out", str(out), "--voice", str(voice),
                 "--device", "cpu", "--no-progress", *extra])


def command(sentences: Path, out: Path, voice: Path, *extra: str) -> list[str]:
    """`sori synthesize-batch` as a child process's argv."""
    return [sys.executable, "-m", "sori", "synthesize-batch", str(sentences), "--out", str(out),
            "--voice", str(voice), "--device", "cpu", "--no-progress", *extra]


def child_env() -> dict[str, str]:
    """This process's environment with the working tree first on the path."""
    root = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}


def assert_every_line_once(sentences: Path, out: Path) -> None:
    """One record per non-empty line that is not skipped up front, one WAV per spoken line and
    nothing else in wavs/, no temporary file, one transcript row per listed line."""
    lines = read_sentences(sentences).lines
    records = read_journal(out / JOURNAL_FILE)
    rows = [json.loads(row)["line"] for row in (out / JOURNAL_FILE).read_text().splitlines()]
    assert len(rows) == len(set(rows)), "a line is recorded twice"
    expected = {line.number for line in lines if line.text not in (OVER_LONG, SEPARATOR)}
    assert set(records) == expected
    spoken = {record.id for record in records.values() if record.status == "spoken"}
    assert {path.stem for path in (out / "wavs").iterdir()} == spoken  # no .tmp, no stray file
    for record in records.values():
        if record.status == "spoken":
            assert (out / str(record.audio)).stat().st_size == record.audio_bytes
    transcript = read_transcript(out)
    assert not transcript.malformed
    assert len({row.audio for row in transcript.rows}) == len(transcript.rows)


def test_batches_hold_lines_of_similar_length_whatever_their_order(tmp_path):
    from tts.bulk import SentenceLine, plan_batches

    lines = [SentenceLine(number, "가" * length) for number, length in
             enumerate([9, 1, 5, 3, 9, 2, 7, 1], start=1)]
    batches = plan_batches(lines, 3)
    assert [[line.number for line in batch] for batch in batches] == [[2, 8, 6], [4, 3, 7], [1, 5]]
    assert plan_batches(list(reversed(lines)), 3) == batches
    with pytest.raises(ValueError):
        plan_batches(lines, 0)
    ids = read_sentences(write_lines(tmp_path / "s.txt", 3))
    assert ids.line_id(7) == "000007" and ids.total_lines == 7


def test_one_wav_per_line_a_kss_transcript_and_a_report(tmp_path, test_voice_dir, capsys):
    sentences = write_lines(tmp_path / "sentences.txt", 12)
    out = tmp_path / "out"
    assert synthesize(sentences, out, test_voice_dir, "--keep-failed") == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[0])
    assert summary["lines"] == 15 and summary["spoken"] == 12 and summary["lines_done"] == 13

    assert sorted(path.name for path in (out / "wavs").iterdir()) == [f"{n:06d}.wav" for n in range(1, 13)]
    records = read_journal(out / JOURNAL_FILE)
    for number in range(1, 13):
        record = records[number]
        data, rate = soundfile.read(out / "wavs" / f"{number:06d}.wav")
        assert rate == 22050 and data.ndim == 1
        assert record.seconds == pytest.approx(len(data) / rate, abs=1e-3)
        assert record.sentences and all("end_reached" in s and "ok" in s for s in record.sentences)
        assert record.attention_ok == all(s["ok"] for s in record.sentences)
    assert records[14].status == "unspeakable" and "nothing speakable" in records[14].detail

    transcript = read_transcript(out)
    assert [row.audio for row in transcript.rows] == [f"wavs/{n:06d}.wav" for n in range(1, 13)]
    row = transcript.rows[7]
    assert row.original == "8번. 3시 15분에 만나요." and "세 시 십오 분" in row.expanded
    assert row.duration == pytest.approx(records[8].seconds, abs=0.05)

    report = json.loads((out / REPORT_FILE).read_text())
    assert [(item["line"], item["reason"]) for item in report["skipped"]] == [
        (14, "unspeakable"), (15, "too_long"), (16, "column_separator")]
    assert report["in_transcript"] == 12 and report["unfinished"] == 0
    assert report["this_run"]["sentences_per_second"] > 0
    assert_every_line_once(sentences, out)

    # A rerun finds everything done and changes nothing.
    before = {path.name: path.read_bytes() for path in (out / "wavs").iterdir()}
    assert synthesize(sentences, out, test_voice_dir, "--keep-failed") == 0
    assert json.loads((out / REPORT_FILE).read_text())["this_run"]["lines_done"] == 0
    assert {path.name: path.read_bytes() for path in (out / "wavs").iterdir()} == before

    # A line whose text changed is spoken again; the others are kept.
    rows = sentences.read_text(encoding="utf-8").split("\n")
    rows[1] = "이번에는 " + rows[1]
    sentences.write_text("\n".join(rows), encoding="utf-8")
    assert synthesize(sentences, out, test_voice_dir, "--keep-failed") == 0
    assert json.loads((out / REPORT_FILE).read_text())["this_run"]["lines_done"] == 1
    assert read_journal(out / JOURNAL_FILE)[2].text.startswith("이번에는")
    assert_every_line_once(sentences, out)


def test_failed_attention_stays_out_of_the_transcript_unless_kept(tmp_path, test_voice_dir):
    sentences = write_lines(tmp_path / "sentences.txt", 4)
    assert synthesize(sentences, tmp_path / "out", test_voice_dir) == 0
    records = read_journal(tmp_path / "out" / JOURNAL_FILE)
    healthy = [f"wavs/{r.id}.wav" for r in records.values() if r.status == "spoken" and r.attention_ok]
    assert [row.audio for row in read_transcript(tmp_path / "out").rows] == healthy
    report = json.loads((tmp_path / "out" / REPORT_FILE).read_text())
    assert report["attention_failed"] == [r.line for r in records.values() if r.attention_ok is False]


def test_bad_arguments_are_one_line_and_exit_2(tmp_path, test_voice_dir, capsys):
    sentences = write_lines(tmp_path / "sentences.txt", 1)
    cases = [
        (tmp_path / "missing.txt", tmp_path / "a", ()),
        (sentences, sentences, ()),  # --out is a file
        (sentences, tmp_path / "b", ("--workers", "0")),
        (sentences, tmp_path / "c", ("--ray-address", "auto")),  # without --ray
        (sentences, tmp_path / "d", ("--max-chars", "0")),
    ]
    for path, out, extra in cases:
        assert synthesize(path, out, test_voice_dir, *extra) == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith("sori synthesize-batch: ") and "\n" not in error
    other_voice = tmp_path / "voice"
    from tests.voice_factory import make_test_voice

    make_test_voice(other_voice, name="another")
    assert synthesize(sentences, tmp_path / "e", test_voice_dir) == 0
    assert synthesize(sentences, tmp_path / "e", other_voice) == 2  # one output, one voice
    assert "made with" in capsys.readouterr().err


def test_ray_missing_says_how_to_install(tmp_path, test_voice_dir, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    sentences = write_lines(tmp_path / "sentences.txt", 1)
    assert synthesize(sentences, tmp_path / "out", test_voice_dir, "--ray") == 2
    assert capsys.readouterr().err.strip() == (
        'sori synthesize-batch: Ray is not installed; install the extra with: pip install "sori[ray]"')


def test_a_killed_job_resumes_and_speaks_every_line_once(tmp_path, test_voice_dir):
    sentences = write_lines(tmp_path / "sentences.txt", 20)  # two batches, one after the other
    out = tmp_path / "out"
    child = subprocess.Popen(command(sentences, out, test_voice_dir, "--keep-failed"), env=child_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + TIMEOUT_S
    while (not any(r.status == "spoken" for r in read_journal(out / JOURNAL_FILE).values())
           and child.poll() is None and time.monotonic() < deadline):
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait(TIMEOUT_S)
    assert child.returncode == -signal.SIGKILL, child.stderr.read().decode() if child.stderr else ""
    assert 0 < len(read_journal(out / JOURNAL_FILE)) < 21
    assert not (out / TRANSCRIPT_FILE).exists()  # written only at the end

    # What else a kill can leave: a torn journal line, a temporary WAV, a WAV without its record.
    with open(out / JOURNAL_FILE, "ab") as journal:
        journal.write(b'{"line": 3, "id": "0000')
    (out / "wavs" / ".000017.wav.abc.tmp").write_bytes(b"RIFF")
    records = read_journal(out / JOURNAL_FILE)
    victim = next(record for record in records.values() if record.status == "spoken")
    (out / str(victim.audio)).unlink()

    assert synthesize(sentences, out, test_voice_dir, "--keep-failed") == 0
    assert_every_line_once(sentences, out)
    assert len(read_transcript(out).rows) == 20


def test_sori_prepare_reads_the_output(tmp_path, capsys):
    # The bundled voice, not the tiny one: random weights speak silence, which prepare rightly skips.
    from tts import default_voice_dir

    sentences = tmp_path / "sentences.txt"
    sentences.write_text("안녕하세요.\n창문 좀 열어 줄래요?\n3시 15분에 만나요.\n", encoding="utf-8")
    out = tmp_path / "corpus"
    assert synthesize(sentences, out, default_voice_dir()) == 0
    listed = len(read_transcript(out).rows)
    assert listed >= 2  # the demo voice's attention holds on everyday lines
    assert main(["prepare", str(out), "--out", str(tmp_path / "features"), "--jobs", "1", "--no-progress"]) == 0
    report = json.loads((tmp_path / "features" / "prepare_report.json").read_text())
    assert report["prepared"] == listed and report["skipped"] == 0


# --- On a real local Ray cluster (the session's `ray_address`, tests/conftest.py) ------------------


def test_ray_gives_the_same_files_and_samples_as_local(tmp_path, test_voice_dir, ray_address):
    sentences = write_lines(tmp_path / "sentences.txt", 24)  # two batches of 16 and 8 on a CPU
    assert synthesize(sentences, tmp_path / "local", test_voice_dir, "--keep-failed") == 0
    assert synthesize(sentences, tmp_path / "ray", test_voice_dir, "--keep-failed", "--ray",
                      "--workers", "2") == 0
    local = {path.name: path.read_bytes() for path in (tmp_path / "local" / "wavs").iterdir()}
    on_ray = {path.name: path.read_bytes() for path in (tmp_path / "ray" / "wavs").iterdir()}
    assert sorted(on_ray) == sorted(local) and len(local) == 24
    assert on_ray == local  # the same samples, byte for byte
    for name in (JOURNAL_FILE, TRANSCRIPT_FILE):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    report = json.loads((tmp_path / "ray" / REPORT_FILE).read_text())
    assert report["runner"] == "ray" and report["workers"] == 2
    # More actors than the cluster has CPUs would wait forever: refused in one line instead.
    assert synthesize(sentences, tmp_path / "ray2", test_voice_dir, "--ray", "--workers", "999") == 2


def test_a_killed_ray_worker_then_a_rerun_gives_every_line_once(tmp_path, test_voice_dir, ray_address):
    sentences = write_lines(tmp_path / "sentences.txt", 40)  # three batches for two actors
    out = tmp_path / "out"
    before = descendants(os.getpid())
    child = subprocess.Popen(
        command(sentences, out, test_voice_dir, "--keep-failed", "--ray", "--ray-address", ray_address,
                "--workers", "2"),
        env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not read_journal(out / JOURNAL_FILE) and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        actors = [pid for pid in descendants(os.getpid()) - before if "SpeakBatches" in command_line(pid)]
        assert actors, "no actor of the job was found"
        os.kill(actors[0], signal.SIGKILL)
        child.wait(TIMEOUT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # Ray restarts the actor and retries its batch (exit 0), or the job fails; the rerun finishes it.
    assert synthesize(sentences, out, test_voice_dir, "--keep-failed", "--ray", "--workers", "2") == 0
    assert_every_line_once(sentences, out)
    assert len(read_transcript(out).rows) == 40
