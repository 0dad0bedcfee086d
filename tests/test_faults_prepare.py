"""SIGKILL a `sori prepare` mid-way: its worker processes end with it, the rerun completes with
output identical to a run never interrupted, and rerunning a complete preparation rewrites nothing
but its report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fault_support import sori_environment, start_sori, stop_session, wait_for
from tts.training.config import PrepareConfig
from tts.training.features import REPORT_FILE, UTTERANCE_DIR, read_features, read_record
from tts.training.prepare import prepare_corpus

PREPARE_ARGS = ("--no-progress", "--val-fraction", "0.15", "--test-fraction", "0.05")
RUN_FIELDS = {"processed_this_run", "reused_from_earlier_runs", "elapsed_seconds"}
"""Report fields that describe the run, not its output: this run's counters and its duration."""


def _recorded(out: Path, at_least: int) -> int | None:
    """Rows whose outcome is recorded so far, once there are at least `at_least`."""
    try:
        count = len([entry for entry in os.scandir(out / UTTERANCE_DIR) if entry.name.endswith(".json")])
    except FileNotFoundError:
        return None
    return count if count >= at_least else None


def _session_end(session: int, timeout: float) -> float | None:
    """Seconds until every process of the session (its leader already reaped) has exited, or None
    when some outlive timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            os.killpg(session, 0)
        except ProcessLookupError:
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_a_killed_prepare_reruns_to_the_output_of_an_uninterrupted_one(
    bootstrap_corpus: Path, tmp_path: Path
) -> None:
    clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
    clean = start_sori(tmp_path / "clean.log", "prepare", str(bootstrap_corpus), "--out", str(clean_dir),
                       "--jobs", "1", *PREPARE_ARGS)
    log = tmp_path / "killed.log"
    victim = start_sori(log, "prepare", str(bootstrap_corpus), "--out", str(killed_dir), "--jobs", "2",
                        *PREPARE_ARGS)
    try:
        wait_for(lambda: _recorded(killed_dir, at_least=6), victim, log)
        os.kill(victim.pid, signal.SIGKILL)  # the main process only, as the OOM killer would
        victim.wait(timeout=60)
        orphaned = _session_end(victim.pid, timeout=30.0)
        assert orphaned is not None, "worker processes outlived the killed prepare by 30 s"
    finally:
        stop_session(victim)
    done = sorted(p.stem for p in (killed_dir / UTTERANCE_DIR).glob("*.json"))
    assert 6 <= len(done) < 24 and not (killed_dir / REPORT_FILE).exists()  # killed mid-way
    for utterance_id in done:  # whatever the kill left is whole
        record = read_record(killed_dir, utterance_id)
        assert record is not None and record.prepared
        assert len(read_features(killed_dir, utterance_id).ids) == record.n_symbols

    rerun = subprocess.run([sys.executable, "-m", "sori", "prepare", str(bootstrap_corpus), "--out",
                            str(killed_dir), "--jobs", "1", *PREPARE_ARGS], env=sori_environment(), capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    try:
        assert clean.wait(timeout=300) == 0, (tmp_path / "clean.log").read_text()[-3000:]
    finally:
        stop_session(clean)
    expected, resumed = _files(clean_dir), _files(killed_dir)
    assert sorted(expected) == sorted(resumed)  # no temporary file left either
    assert [name for name in expected if expected[name] != resumed[name]] == [REPORT_FILE]
    clean_report, rerun_report = (json.loads(files[REPORT_FILE]) for files in (expected, resumed))
    assert rerun_report["reused_from_earlier_runs"] == len(done)
    assert rerun_report["processed_this_run"] == 24 - len(done)
    assert {k: v for k, v in rerun_report.items() if k not in RUN_FIELDS} == {
        k: v for k, v in clean_report.items() if k not in RUN_FIELDS}
    print(f"\nprepare killed after {len(done)} of 24 rows (workers ended {orphaned:.1f} s after it); "
          f"rerun processed {24 - len(done)}; "
          f"{len(expected) - 1} files byte-identical, {REPORT_FILE} equal but for {sorted(RUN_FIELDS)}")

    # A rerun of a complete preparation rewrites nothing but its report.
    stamps = {path: path.stat().st_mtime_ns for path in killed_dir.rglob("*") if path.is_file()}
    again = prepare_corpus(bootstrap_corpus, killed_dir, PrepareConfig(val_fraction=0.15, test_fraction=0.05))
    assert again["processed_this_run"] == 0 and again["reused_from_earlier_runs"] == 24
    assert {path for path in killed_dir.rglob("*") if path.is_file()} == set(stamps)
    assert [p.name for p, stamp in stamps.items() if p.stat().st_mtime_ns != stamp] == [REPORT_FILE]
