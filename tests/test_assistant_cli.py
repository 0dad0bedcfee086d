"""`sori ask` as a user runs it: a real subprocess, JSON on stdout, state under SORI_DATA_DIR."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_ask(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SORI_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "sori", "ask", *args],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=120, check=False,
    )


def test_ask_json(tmp_path: Path) -> None:
    result = run_ask("5분 타이머 맞춰 주세요", "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "intent": "HassStartTimer",
        "slots": {"minutes": 5},
        "reply": "5분 타이머를 시작했어요.",
    }
    assert "\\u" not in result.stdout  # Korean printed as is
    status = run_ask("타이머 얼마나 남았어?", "--json", data_dir=tmp_path)
    assert json.loads(status.stdout)["intent"] == "HassTimerStatus"
    assert (tmp_path / "assistant.sqlite3").is_file()


@pytest.mark.parametrize(
    ("text", "intent", "reply"),
    [("아니야", "HassNevermind", None), ("블라블라", None, "죄송해요, 잘 이해하지 못했어요.")],
)
def test_ask_json_null_fields(tmp_path: Path, text: str, intent: str | None, reply: str | None) -> None:
    result = run_ask(text, "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"intent": intent, "slots": {}, "reply": reply}


def test_ask_about_tomorrows_weather_reaches_the_weather_skill(tmp_path: Path) -> None:
    result = run_ask("내일 날씨 어때?", "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["intent"], answer["slots"]) == ("HassGetWeather", {"day": "내일"})
    assert "날씨" in answer["reply"] and answer["reply"] != "죄송해요, 잘 이해하지 못했어요."


def test_ask_text_output_and_bad_input(tmp_path: Path) -> None:
    result = run_ask("3 더하기 4는?", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "reply:  3 더하기 4는 7이에요." in result.stdout
    empty = run_ask("   ", data_dir=tmp_path)
    assert empty.returncode == 2
    assert "empty" in empty.stderr
