"""Timers: start, cancel and report the time left, persisted through the assistant store.

Durations are said with hours, minutes and seconds ("1시간 30분", "45초"); the TTS frontend reads
1시간 as 한 시간 and 30분 as 삼십 분.

A timer that finishes rings: the server claims it from the store and announces it once, across all
servers sharing the store (`announcement` makes the sentence). Asking afterwards reports only the
timers still running; one that is due but not yet announced (no server was running) is neither
listed nor cancellable, and is announced, as overdue, when a server next starts.
"""

from __future__ import annotations

import math

from assistant.particles import with_particle
from assistant.skills.context import SkillContext, Slots
from assistant.store import Timer

MAX_TIMER_SECONDS = 24 * 3600
OVERDUE_AFTER_SECONDS = 5.0
"""An announcement this late or later says how long ago the timer finished."""
NO_TIMERS = "실행 중인 타이머가 없어요."
ASK_FOR_DURATION = "몇 분짜리 타이머를 맞출까요? 예를 들어 5분 타이머 맞춰줘라고 말해 주세요."


def format_duration(seconds: int) -> str:
    """Whole seconds as 시간/분/초: 5400 → "1시간 30분", 45 → "45초", 3605 → "1시간 5초"."""
    if seconds <= 0:
        return "0초"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{value}{unit}" for value, unit in ((hours, "시간"), (minutes, "분"), (secs, "초")) if value]
    return " ".join(parts)


def _duration_from(slots: Slots, prefix: str = "") -> int:
    """Total seconds from the hours/minutes/seconds slots (with an optional name prefix)."""
    return sum(
        int(slots.get(prefix + name, 0)) * scale
        for name, scale in (("hours", 3600), ("minutes", 60), ("seconds", 1))
    )


def _running(context: SkillContext) -> list[Timer]:
    """The timers still counting down, soonest first."""
    now = context.now.timestamp()
    return [timer for timer in context.store.timers() if timer.remaining_seconds(now) > 0]


def format_elapsed(seconds: float) -> str:
    """How long ago, as precisely as a person says it: 42.7 → "42초", 150 → "2분",
    3725 → "1시간 2분" (seconds under a minute, whole minutes beyond)."""
    whole = int(seconds)
    return format_duration(whole if whole < 60 else whole // 60 * 60)


def announcement(timer: Timer, now: float) -> str:
    """What is said when `timer` rings at POSIX time `now`: "5분 타이머가 끝났어요.", or, when it
    finished OVERDUE_AFTER_SECONDS or more ago, "5분 타이머가 2분 전에 끝났어요."."""
    late = now - timer.ends_at
    name = f"{format_duration(timer.duration_seconds)} 타이머가"
    if late < OVERDUE_AFTER_SECONDS:
        return f"{name} 끝났어요."
    return f"{name} {format_elapsed(late)} 전에 끝났어요."


def start_timer(slots: Slots, context: SkillContext) -> str:
    """HassStartTimer: start a timer of the spoken duration."""
    duration = _duration_from(slots)
    if duration <= 0:
        return ASK_FOR_DURATION
    if duration > MAX_TIMER_SECONDS:
        return "타이머는 24시간까지만 맞출 수 있어요."
    context.store.add_timer(duration, context.now.timestamp())
    return f"{format_duration(duration)} 타이머를 시작했어요."


def cancel_timer(slots: Slots, context: SkillContext) -> str:
    """HassCancelTimer: cancel the running timer of a given duration, or every running timer."""
    running = _running(context)
    wanted = _duration_from(slots, prefix="start_")
    if wanted:
        matching = [timer for timer in running if timer.duration_seconds == wanted]
        if not matching:
            return f"{format_duration(wanted)} 타이머는 없어요."
        context.store.remove_timers([timer.id for timer in matching])
        return f"{format_duration(wanted)} 타이머를 취소했어요."
    if not running:
        return NO_TIMERS
    context.store.remove_timers([timer.id for timer in running])
    if len(running) == 1:
        return f"{format_duration(running[0].duration_seconds)} 타이머를 취소했어요."
    return f"타이머 {len(running)}개를 모두 취소했어요."


def _remaining(timer: Timer, now: float) -> str:
    return format_duration(math.ceil(timer.remaining_seconds(now)))


def timer_status(slots: Slots, context: SkillContext) -> str:
    """HassTimerStatus: the time left on each running timer (finished ones have rung already)."""
    now = context.now.timestamp()
    running = _running(context)
    if not running:
        return NO_TIMERS
    if len(running) == 1:
        timer = running[0]
        return f"{format_duration(timer.duration_seconds)} 타이머가 {_remaining(timer, now)} 남았어요."
    parts = ", ".join(
        f"{with_particle(format_duration(timer.duration_seconds) + ' 타이머', '은/는')} "
        f"{_remaining(timer, now)}"
        for timer in running
    )
    return f"타이머가 {len(running)}개 있어요. {parts} 남았어요."
