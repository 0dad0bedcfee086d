"""Current time and date replies: "지금은 오후 3시 5분이에요.", "오늘은 2026년 11월 21일 토요일이에요."

Digits with counters are what the TTS frontend reads right (3시 → 세 시, 5분 → 오 분).
"""

from __future__ import annotations

from datetime import datetime

from assistant.particles import with_particle
from assistant.skills.context import SkillContext, Slots

WEEKDAYS = ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일")


def clock_phrase(moment: datetime) -> str:
    """The time of day as said aloud: 오전 9시 30분, 오후 3시 정각, 낮 12시 5분, 밤 12시 정각."""
    hour, minute = moment.hour, moment.minute
    if hour == 0:
        period, hour12 = "밤", 12
    elif hour == 12:
        period, hour12 = "낮", 12
    elif hour < 12:
        period, hour12 = "오전", hour
    else:
        period, hour12 = "오후", hour - 12
    minutes = "정각" if minute == 0 else f"{minute}분"
    return f"{period} {hour12}시 {minutes}"


def date_phrase(moment: datetime) -> str:
    """The date with its weekday: 2026년 11월 21일 토요일."""
    return f"{moment.year}년 {moment.month}월 {moment.day}일 {WEEKDAYS[moment.weekday()]}"


def current_time(slots: Slots, context: SkillContext) -> str:
    """HassGetCurrentTime: the time now, in the assistant's timezone."""
    return f"지금은 {with_particle(clock_phrase(context.now), '이에요/예요')}."


def current_date(slots: Slots, context: SkillContext) -> str:
    """HassGetCurrentDate: today's date and weekday."""
    return f"오늘은 {with_particle(date_phrase(context.now), '이에요/예요')}."
