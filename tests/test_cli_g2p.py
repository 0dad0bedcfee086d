"""`sori g2p` as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SORI = Path(sys.executable).with_name("sori")
KEYS = {"normalized", "pronounced", "symbols", "ids", "dropped"}


def _sori(*args: str) -> subprocess.CompletedProcess[str]:
    if not SORI.is_file():
        pytest.fail(f"console script missing at {SORI}: run `make install`")
    return subprocess.run(
        [str(SORI), *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_json_output_is_one_object_with_the_five_keys() -> None:
    done = _sori("g2p", "--json", "KSS 데이터는 12,853개 😀")
    assert done.returncode == 0, done.stderr
    stages = json.loads(done.stdout)
    assert set(stages) == KEYS
    assert stages["normalized"] == "케이에스에스 데이터는 만 이천팔백오십삼 개"
    assert stages["dropped"] == ["😀"]
    assert len(stages["ids"]) == len(stages["symbols"]) + 1
    assert all(isinstance(i, int) for i in stages["ids"])


def test_done_when_reading_of_time() -> None:
    done = _sori("g2p", "지금은 오후 3시 15분입니다.")
    assert done.returncode == 0, done.stderr
    normalized = next(line for line in done.stdout.splitlines() if line.startswith("normalized:"))
    assert "세 시" in normalized
    assert "십오 분" in normalized
    for stage in ("pronounced:", "symbols:", "ids:", "dropped:"):
        assert stage in done.stdout


def test_unspeakable_text_exits_2_with_reason_on_stderr() -> None:
    done = _sori("g2p", "--json", "😀漢")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "nothing speakable" in done.stderr


def test_dash_reads_the_text_from_standard_input() -> None:
    from_stdin = subprocess.run(
        [sys.executable, "-m", "sori", "g2p", "-", "--json"], input="3kg 샀어요\n",
        capture_output=True, text=True, timeout=300,
    )
    from_argument = subprocess.run(
        [sys.executable, "-m", "sori", "g2p", "3kg 샀어요", "--json"], capture_output=True, text=True, timeout=300,
    )
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert json.loads(from_stdin.stdout) == json.loads(from_argument.stdout)
