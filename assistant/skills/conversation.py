"""Small talk: greeting, thanks, who Sori is, what Sori can do, and "never mind" (no reply)."""

from __future__ import annotations

from assistant.skills.context import SkillContext, Slots

FALLBACK_REPLY = "죄송해요, 잘 이해하지 못했어요."
IDENTITY_REPLY = "저는 한국어 음성 비서 소리예요. 말씀하시면 제 목소리로 대답해 드려요."
HELP_REPLY = (
    "지금 시간과 오늘 날짜를 알려 드리고, 타이머를 맞추거나 취소하고, 남은 시간을 알려 드려요. "
    "장보기 목록에 물건을 추가하고 읽어 드리며, 더하기, 빼기, 곱하기, 나누기 계산도 할 수 있어요. "
    "예를 들어 5분 타이머 맞춰줘라고 말해 보세요."
)
THANKS_REPLY = "천만에요. 또 필요한 게 있으면 언제든 말씀해 주세요."
MORNING_END_HOUR = 11


def greeting(slots: Slots, context: SkillContext) -> str:
    """SoriGreeting: a greeting fitting the time of day."""
    if 5 <= context.now.hour < MORNING_END_HOUR:
        return "좋은 아침이에요! 무엇을 도와드릴까요?"
    return "안녕하세요! 무엇을 도와드릴까요?"


def thanks(slots: Slots, context: SkillContext) -> str:
    """SoriThanks: you're welcome."""
    return THANKS_REPLY


def identity(slots: Slots, context: SkillContext) -> str:
    """SoriIdentity: who is speaking."""
    return IDENTITY_REPLY


def help_reply(slots: Slots, context: SkillContext) -> str:
    """SoriHelp: what Sori can do, with an example."""
    return HELP_REPLY


def nevermind(slots: Slots, context: SkillContext) -> None:
    """HassNevermind: the user withdrew the request; say nothing."""
    return None
