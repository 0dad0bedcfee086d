"""Replies of every skill for a fixed clock (2026-11-21 15:05 KST), through `Assistant.ask`."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant import (
    FALLBACK_REPLY,
    Assistant,
    AssistantError,
    AssistantReply,
    WeatherError,
    WeatherReport,
)
from assistant.skills.clock import clock_phrase
from assistant.skills.timers import ASK_FOR_DURATION, announcement, format_duration
from assistant.skills.weather import NO_FORECAST, NOT_CONFIGURED, UNAVAILABLE
from assistant.store import Timer
from tts.text import normalize_text

SEOUL = ZoneInfo("Asia/Seoul")
START = datetime(2026, 11, 21, 15, 5, tzinfo=SEOUL)


class SteppingClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FixedWeather:
    """A provider that knows only the present: a canned report per place, recording what it was asked."""

    def __init__(self, temperature: float | None = 12.5) -> None:
        self.temperature = temperature
        self.asked: list[str | None] = []

    def forecast(self, location: str | None) -> WeatherReport:
        self.asked.append(location)
        return WeatherReport("맑음", self.temperature, location)


class BrokenWeather:
    """A provider that is offline."""

    def forecast(self, location: str | None) -> WeatherReport:
        raise WeatherError("no network")


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(START)


@pytest.fixture
def assistant(tmp_path: Path, clock: SteppingClock) -> Assistant:
    return Assistant(store_path=tmp_path / "assistant.sqlite3", clock=clock)


def reply(assistant: Assistant, text: str) -> str | None:
    return assistant.ask(text).reply


def test_time_and_date_for_a_fixed_clock(assistant: Assistant) -> None:
    assert reply(assistant, "지금 몇 시야?") == "지금은 오후 3시 5분이에요."
    assert reply(assistant, "오늘 며칠이야?") == "오늘은 2026년 11월 21일 토요일이에요."
    assert reply(assistant, "오늘 무슨 요일이야") == "오늘은 2026년 11월 21일 토요일이에요."


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (0, 0, "밤 12시 정각"),
        (0, 30, "밤 12시 30분"),
        (9, 0, "오전 9시 정각"),
        (11, 59, "오전 11시 59분"),
        (12, 0, "낮 12시 정각"),
        (12, 15, "낮 12시 15분"),
        (13, 1, "오후 1시 1분"),
        (23, 45, "오후 11시 45분"),
    ],
)
def test_clock_phrase(hour: int, minute: int, expected: str) -> None:
    assert clock_phrase(datetime(2026, 1, 1, hour, minute, tzinfo=SEOUL)) == expected


def test_clock_is_converted_to_the_assistant_timezone(tmp_path: Path) -> None:
    utc_clock = SteppingClock(datetime(2026, 11, 21, 6, 5, tzinfo=UTC))
    seoul = Assistant(tmp_path / "a.sqlite3", clock=utc_clock)
    assert reply(seoul, "지금 몇 시야") == "지금은 오후 3시 5분이에요."
    london = Assistant(tmp_path / "b.sqlite3", clock=utc_clock, timezone="Europe/London")
    assert reply(london, "지금 몇 시야") == "지금은 오전 6시 5분이에요."
    naive = Assistant(tmp_path / "c.sqlite3", clock=lambda: datetime(2026, 11, 21, 21, 0))
    assert reply(naive, "지금 몇 시야") == "지금은 오후 9시 정각이에요."


def test_unknown_timezone_and_bad_provider_are_assistant_errors(tmp_path: Path) -> None:
    with pytest.raises(AssistantError, match="timezone"):
        Assistant(tmp_path / "a.sqlite3", timezone="Mars/Olympus")
    with pytest.raises(AssistantError, match="weather provider"):
        Assistant(tmp_path / "a.sqlite3", weather="sunny")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(30, "30초"), (300, "5분"), (90, "1분 30초"), (5400, "1시간 30분"), (3605, "1시간 5초"),
     (3661, "1시간 1분 1초"), (7200, "2시간")],
)
def test_format_duration(seconds: int, expected: str) -> None:
    assert format_duration(seconds) == expected


def test_timer_lifecycle(assistant: Assistant, clock: SteppingClock) -> None:
    assert reply(assistant, "타이머 얼마나 남았어?") == "실행 중인 타이머가 없어요."
    assert reply(assistant, "5분 타이머 맞춰줘") == "5분 타이머를 시작했어요."
    clock.advance(seconds=90)
    assert reply(assistant, "타이머 얼마나 남았어?") == "5분 타이머가 3분 30초 남았어요."
    assert reply(assistant, "1시간 30분 타이머") == "1시간 30분 타이머를 시작했어요."
    assert reply(assistant, "타이머 상태") == (
        "타이머가 2개 있어요. 5분 타이머는 3분 30초, 1시간 30분 타이머는 1시간 30분 남았어요."
    )
    assert reply(assistant, "10분 타이머 취소") == "10분 타이머는 없어요."
    assert reply(assistant, "5분 타이머 취소해줘") == "5분 타이머를 취소했어요."
    clock.advance(hours=1, minutes=30)
    # Finished: it rings through the server's announcer (or at its next start), not when asked.
    assert reply(assistant, "타이머 얼마나 남았어") == "실행 중인 타이머가 없어요."
    assert reply(assistant, "타이머 취소") == "실행 중인 타이머가 없어요."
    [due] = assistant.store.claim_due_timers(clock().timestamp())
    assert announcement(due, clock().timestamp()) == "1시간 30분 타이머가 끝났어요."


@pytest.mark.parametrize(
    ("duration", "late", "expected", "read"),
    [(300, 0.4, "5분 타이머가 끝났어요.", "오 분 타이머가 끝났어요."),
     (300, 4.9, "5분 타이머가 끝났어요.", "오 분 타이머가 끝났어요."),
     (300, 120.7, "5분 타이머가 2분 전에 끝났어요.", "오 분 타이머가 이 분 전에 끝났어요."),
     (300, 12.2, "5분 타이머가 12초 전에 끝났어요.", "오 분 타이머가 십이 초 전에 끝났어요."),
     (5400, 3725.0, "1시간 30분 타이머가 1시간 2분 전에 끝났어요.",
      "한 시간 삼십 분 타이머가 한 시간 이 분 전에 끝났어요."),
     (30, 61.0, "30초 타이머가 1분 전에 끝났어요.", "삼십 초 타이머가 일 분 전에 끝났어요.")],
)
def test_announcements_say_how_long_ago_an_overdue_timer_finished(
    duration: int, late: float, expected: str, read: str
) -> None:
    timer = Timer(1, duration, started_at=1000.0, ends_at=1000.0 + duration)
    assert announcement(timer, timer.ends_at + late) == expected
    assert normalize_text(expected) == (read, ())  # read right by the TTS frontend


def test_timer_from_number_words_and_seconds(assistant: Assistant, clock: SteppingClock) -> None:
    assert reply(assistant, "오 분 타이머 맞춰 주세요") == "5분 타이머를 시작했어요."
    assert reply(assistant, "타이머 30초") == "30초 타이머를 시작했어요."
    clock.advance(seconds=10.5)
    assert reply(assistant, "타이머 얼마나 남았어") == (
        "타이머가 2개 있어요. 30초 타이머는 20초, 5분 타이머는 4분 50초 남았어요."
    )
    assert reply(assistant, "타이머 전부 취소") == "타이머 2개를 모두 취소했어요."
    assert reply(assistant, "타이머 취소") == "실행 중인 타이머가 없어요."


def test_timer_limit_and_missing_duration(assistant: Assistant) -> None:
    assert reply(assistant, "25시간 타이머") == "타이머는 24시간까지만 맞출 수 있어요."
    assert reply(assistant, "타이머 맞춰줘") == ASK_FOR_DURATION
    assert reply(assistant, "타이머 얼마나 남았어") == "실행 중인 타이머가 없어요."


def test_shopping_list(assistant: Assistant) -> None:
    assert reply(assistant, "장보기 목록 읽어줘") == "장보기 목록이 비어 있어요."
    answer = assistant.ask("우유를 장보기 목록에 추가해줘")
    assert (answer.intent, answer.slots) == ("HassShoppingListAddItem", {"item": "우유"})
    assert answer.reply == "우유를 장보기 목록에 추가했어요."
    assert reply(assistant, "계란을 장보기 목록에 추가해 주세요") == "계란을 장보기 목록에 추가했어요."
    assert reply(assistant, "우유 사야 해") == "우유는 이미 장보기 목록에 있어요."
    assert reply(assistant, "사과랑 빵을 장보기 목록에 넣어줘") == "사과와 빵을 장보기 목록에 추가했어요."
    assert reply(assistant, "빵이랑 귤 사야 해") == "귤을 장보기 목록에 추가했어요. 빵은 이미 장보기 목록에 있어요."
    assert reply(assistant, "장보기 목록에 뭐 있어?") == "장보기 목록에 우유, 계란, 사과, 빵과 귤이 있어요."


def test_weather_without_provider_says_not_configured(assistant: Assistant) -> None:
    answer = assistant.ask("오늘 날씨 어때?")
    assert answer.intent == "HassGetWeather"
    assert answer.reply == NOT_CONFIGURED


def test_weather_from_an_injected_provider(tmp_path: Path) -> None:
    provider = FixedWeather()
    assistant = Assistant(tmp_path / "a.sqlite3", clock=lambda: START, weather=provider)
    assert reply(assistant, "서울 날씨 어때") == "지금 서울 날씨는 맑음이에요. 기온은 12.5도예요."
    assert reply(assistant, "날씨 알려줘") == "지금 날씨는 맑음이에요. 기온은 12.5도예요."
    assert provider.asked == ["서울", None]
    provider.temperature = -3.0
    assert reply(assistant, "날씨 알려줘") == "지금 날씨는 맑음이에요. 기온은 영하 3도예요."
    broken = Assistant(tmp_path / "b.sqlite3", clock=lambda: START, weather=BrokenWeather())
    assert reply(broken, "날씨 알려줘") == UNAVAILABLE


@pytest.mark.parametrize(
    ("text", "when", "location"),
    [("내일 날씨 어때?", "내일", None), ("다음 주 금요일에 비 와?", "다음 주 금요일", None),
     ("모레 서울 날씨는?", "모레", "서울")],
)
def test_weather_for_another_day_from_a_present_only_provider(
    tmp_path: Path, text: str, when: str, location: str | None
) -> None:
    provider = FixedWeather()
    assistant = Assistant(tmp_path / "a.sqlite3", clock=lambda: START, weather=provider)
    answer = assistant.ask(text)
    assert answer.intent == "HassGetWeather"
    # today's weather is not passed off as another day's
    assert answer.reply == NO_FORECAST.format(when=when) == f"{when} 날씨는 아직 예보가 없어요."
    assert provider.asked == [location]
    without = Assistant(tmp_path / "b.sqlite3", clock=lambda: START)
    assert reply(without, text) == NOT_CONFIGURED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 더하기 4는?", "3 더하기 4는 7이에요."),
        ("3+4", "3 더하기 4는 7이에요."),
        ("십이 곱하기 삼", "12 곱하기 3은 36이에요."),
        ("10 나누기 4", "10 나누기 4는 2.5예요."),
        ("10 나누기 5", "10 나누기 5는 2예요."),
        ("1 나누기 8", "1 나누기 8은 0.125예요."),
        ("10 나누기 3", "10 나누기 3은 약 3.33이에요."),
        ("2 나누기 3", "2 나누기 3은 약 0.67이에요."),
        ("0.1 더하기 0.2", "0.1 더하기 0.2는 0.3이에요."),
        ("2.5 곱하기 2", "2.5 곱하기 2는 5예요."),
        ("5 빼기 8은 얼마야", "5 빼기 8은 마이너스 3이에요."),
        ("마이너스 3 곱하기 마이너스 3", "마이너스 3 곱하기 마이너스 3은 9예요."),
        ("백 빼기 일", "100 빼기 1은 99예요."),
        ("이 점 오 더하기 삼", "2.5 더하기 3은 5.5예요."),
        ("7 빼기 7", "7 빼기 7은 0이에요."),
        ("10을 2로 나누면 얼마야", "10 나누기 2는 5예요."),
        ("10 나누기 0", "0으로는 나눌 수 없어요. 다른 숫자로 나눠 볼까요?"),
        ("억 곱하기 억", "결과가 너무 큰 숫자라서 읽어 드리기 어려워요."),
    ],
)
def test_calculator(assistant: Assistant, text: str, expected: str) -> None:
    answer = assistant.ask(text)
    assert answer.intent == "SoriCalculate"
    assert answer.reply == expected
    assert not re.search(r"\d\.0(?!\d)|\d{5,}\.|e[-+]\d", answer.reply)


def test_nevermind_says_nothing(assistant: Assistant) -> None:
    assert assistant.ask("아니야") == AssistantReply(intent="HassNevermind", slots={}, reply=None)


def test_unknown_utterance_gets_the_korean_fallback(assistant: Assistant) -> None:
    assert assistant.ask("오늘 저녁 메뉴 추천해줘") == AssistantReply(None, {}, FALLBACK_REPLY)
    assert FALLBACK_REPLY == "죄송해요, 잘 이해하지 못했어요."


def test_small_talk(assistant: Assistant, clock: SteppingClock) -> None:
    assert reply(assistant, "안녕") == "안녕하세요! 무엇을 도와드릴까요?"
    clock.now = START.replace(hour=8)
    assert reply(assistant, "안녕하세요") == "좋은 아침이에요! 무엇을 도와드릴까요?"
    assert reply(assistant, "고마워").startswith("천만에요")
    assert "소리" in (reply(assistant, "너 누구야") or "")
    help_text = reply(assistant, "뭐 할 수 있어?") or ""
    for capability in ("시간", "날짜", "타이머", "장보기 목록", "계산"):
        assert capability in help_text


def test_ask_rejects_empty_text(assistant: Assistant) -> None:
    with pytest.raises(AssistantError, match="empty"):
        assistant.ask("  ?  ")


def test_replies_are_frozen_and_json_serialisable(assistant: Assistant) -> None:
    answer = assistant.ask("1시간 30분 타이머 맞춰줘")
    with pytest.raises(dataclasses.FrozenInstanceError):
        answer.reply = "x"  # type: ignore[misc]
    decoded = json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))
    assert decoded == {
        "intent": "HassStartTimer",
        "slots": {"hours": 1, "minutes": 30},
        "reply": "1시간 30분 타이머를 시작했어요.",
    }
