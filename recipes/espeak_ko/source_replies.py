"""Sentences the assistant itself says: the real `Assistant` asked many things at fixed moments.

Replies are collected by running the assistant (its recogniser, skills and particle choice) with a
settable clock, a throwaway store and a weather provider that reports sample conditions, so the
corpus holds exactly the sentences the demo voice will be asked to speak in service.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from assistant import Assistant, DailyForecast, WeatherReport, with_particle
from assistant.skills.weather import WEEKDAYS
from assistant.weather_codes import WMO_SKY
from recipes.espeak_ko.source_intents import SAMPLE_VALUES

START = datetime(2024, 1, 1, 0, 0)
"""The earliest moment the sample clock shows; dates are drawn from the 12 years after it."""
YEARS = 12
CONDITIONS = tuple(WMO_SKY.values())
"""Every sky the Open-Meteo provider can report."""
FORECAST_DAYS = 7
LOCATIONS = ("서울", "부산", "인천", "대구", "대전", "광주", "울산", "제주", "강릉", "춘천", "전주")


@dataclass
class _Clock:
    """The sample clock: returns whatever moment the collector last set."""

    moment: datetime = START

    def __call__(self) -> datetime:
        return self.moment


def _sample_temperature(rng: random.Random) -> float:
    return round(rng.uniform(-15, 36), 1)


@dataclass(frozen=True)
class _SampleWeather:
    """A weather provider that reports sample conditions drawn from a seeded generator, with a
    week of daily forecasts from the sample clock's day on."""

    rng: random.Random = field(compare=False)
    clock: _Clock = field(compare=False)

    def forecast(self, location: str | None) -> WeatherReport:
        today = self.clock.moment.date()
        days = tuple(
            DailyForecast(
                day=today + timedelta(days=offset),
                condition=self.rng.choice(CONDITIONS),
                low_celsius=(low := _sample_temperature(self.rng)),
                high_celsius=low + round(self.rng.uniform(0, 12), 1),
                precipitation_probability=self.rng.choice((0, 5, 10, 20, 30, 45, 60, 75, 90, 100)),
            )
            for offset in range(FORECAST_DAYS)
        )
        temperature = self.rng.choice((None, _sample_temperature(self.rng)))
        return WeatherReport(self.rng.choice(CONDITIONS), temperature, location, days)


BATCH_ROUNDS = 20
"""Rounds asked of one assistant (one store) before a fresh one starts with an empty list."""
READ_ROUNDS = frozenset({1, 3})
"""Rounds of a batch that end by reading the shopping list back (it is still short then)."""


def _random_moment(rng: random.Random) -> datetime:
    return START + timedelta(minutes=rng.randrange(YEARS * 365 * 24 * 60))


def _scratch_root() -> str | None:
    """A RAM-backed directory for the throwaway stores when there is one (each write syncs)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _duration_words(rng: random.Random) -> str:
    """A timer duration as the user says it: 5분, 1시간 20분, 45초, 2분 30초."""
    hours, minutes, seconds = rng.choice(((0, 1, 0), (1, 1, 0), (0, 1, 1), (0, 0, 1), (1, 0, 0)))
    parts = []
    if hours:
        parts.append(f"{rng.randint(1, 5)}시간")
    if minutes:
        parts.append(f"{rng.choice((1, 2, 3, 5, 7, 10, 15, 20, 25, 30, 40, 45, 50))}분")
    if seconds:
        parts.append(f"{rng.choice((5, 10, 15, 20, 30, 40, 45, 50))}초")
    return " ".join(parts)


def _questions(rng: random.Random, clock: _Clock, rounds: int) -> Iterator[str]:
    """Utterances to ask, moving the clock forward between them so the replies differ."""
    items = SAMPLE_VALUES["shopping_list_item"]
    clock.moment = _random_moment(rng)
    yield "음냐음냐"
    for round_index in range(rounds):
        clock.moment += timedelta(minutes=rng.randint(1, 3 * 24 * 60))
        yield rng.choice(("지금 몇 시야", "현재 시각 알려줘"))
        yield rng.choice(("오늘 며칠이야", "오늘 날짜 알려줘"))
        yield f"{_duration_words(rng)} 타이머 맞춰줘"
        clock.moment += timedelta(seconds=rng.randint(1, 200))
        yield "타이머 얼마나 남았어"
        if round_index % 3 == 2:
            yield "타이머 취소해줘"
        first, second = rng.sample(items, 2)
        both = f"{with_particle(first, '이랑/랑')} {second}"
        yield f"{rng.choice((first, both))} 장보기 목록에 추가해줘"
        if round_index in READ_ROUNDS:
            yield "장보기 목록 읽어줘"
        left = rng.choice(
            (rng.randint(1, 99), rng.randint(100, 9999), round(rng.uniform(0, 50), 1))
        )
        right = rng.choice((rng.randint(1, 20), rng.randint(21, 500), round(rng.uniform(0, 10), 2)))
        operator = rng.choice(("더하기", "빼기", "곱하기", "나누기"))
        yield f"{left} {operator} {right}는 얼마야"
        when = rng.choice(("", "내일 ", "모레 ", "주말 ", f"{rng.choice(WEEKDAYS)} "))
        yield f"{when}{rng.choice(('', rng.choice(LOCATIONS) + ' '))}날씨 어때"
        yield rng.choice(("안녕", "고마워", "넌 누구야", "뭐 할 수 있어"))


def reply_sentences(seed: int, rounds: int) -> list[str]:
    """Every distinct reply to `rounds` rounds of sample questions, in the order first heard.

    Every BATCH_ROUNDS rounds a fresh assistant starts with an empty store, so shopping lists read
    back stay short.
    """
    rng = random.Random(f"{seed}:replies")
    clock = _Clock()
    replies: dict[str, None] = {}
    with tempfile.TemporaryDirectory(prefix="sori-replies-", dir=_scratch_root()) as scratch:
        for batch in range(0, rounds, BATCH_ROUNDS):
            assistant = Assistant(
                store_path=Path(scratch) / f"store-{batch}.sqlite3",
                clock=clock,
                weather=_SampleWeather(random.Random(f"{seed}:weather:{batch}"), clock),
            )
            for question in _questions(rng, clock, min(BATCH_ROUNDS, rounds - batch)):
                reply = assistant.ask(question).reply
                if reply:
                    replies[reply] = None
    return list(replies)
