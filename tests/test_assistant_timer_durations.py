"""Timer durations as said: a whole day in minutes is a timer, 0 minutes gets a question back, and
past 24 hours the skill says its limit, instead of "not understood"."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant
from assistant.skills.timers import ASK_FOR_DURATION


@pytest.fixture
def assistant(tmp_path: Path) -> Assistant:
    """An assistant with its own empty store."""
    return Assistant(store_path=tmp_path / "assistant.sqlite3")


@pytest.mark.parametrize(
    ("text", "slots", "reply"),
    [
        ("1440분 타이머", {"minutes": 1440}, "24시간 타이머를 시작했어요."),
        ("타이머 1440분 맞춰줘", {"minutes": 1440}, "24시간 타이머를 시작했어요."),
        ("0분 타이머", {"minutes": 0}, ASK_FOR_DURATION),
        ("0초 타이머 맞춰줘", {"seconds": 0}, ASK_FOR_DURATION),
        ("1441분 타이머 맞춰줘", {"minutes": 1441}, "타이머는 24시간까지만 맞출 수 있어요."),
        ("25시간 타이머", {"hours": 25}, "타이머는 24시간까지만 맞출 수 있어요."),
    ],
)
def test_durations_are_understood_and_answered(
    assistant: Assistant, text: str, slots: dict[str, int], reply: str
) -> None:
    answer = assistant.ask(text)
    assert (answer.intent, answer.slots, answer.reply) == ("HassStartTimer", slots, reply)


def test_a_day_long_timer_can_be_cancelled_by_its_duration(assistant: Assistant) -> None:
    assistant.ask("1440분 타이머")
    answer = assistant.ask("1440분 타이머 취소해줘")
    assert (answer.intent, answer.reply) == ("HassCancelTimer", "24시간 타이머를 취소했어요.")


def test_zero_minutes_never_cancels_every_timer(assistant: Assistant) -> None:
    assistant.ask("5분 타이머")
    assert assistant.ask("0분 타이머 취소해줘").intent != "HassCancelTimer"
    assert assistant.ask("타이머 얼마나 남았어").reply.startswith("5분 타이머가")
