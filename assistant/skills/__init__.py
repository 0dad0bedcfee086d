"""Skills: one small module per group, each a function of (slots, context) → Korean reply text."""

from __future__ import annotations

from assistant.skills import calculator, clock, conversation, shopping, timers, weather
from assistant.skills.context import Skill, SkillContext, Slots

SKILLS: dict[str, Skill] = {
    "HassGetCurrentTime": clock.current_time,
    "HassGetCurrentDate": clock.current_date,
    "HassStartTimer": timers.start_timer,
    "HassCancelTimer": timers.cancel_timer,
    "HassTimerStatus": timers.timer_status,
    "HassGetWeather": weather.get_weather,
    "HassNevermind": conversation.nevermind,
    "HassShoppingListAddItem": shopping.add_item,
    "SoriShoppingListRead": shopping.read_list,
    "SoriGreeting": conversation.greeting,
    "SoriThanks": conversation.thanks,
    "SoriIdentity": conversation.identity,
    "SoriHelp": conversation.help_reply,
    "SoriCalculate": calculator.calculate,
}
"""Intent name → the skill that answers it; every served intent has exactly one."""

SERVED_INTENTS = tuple(SKILLS)
"""The intents recognition loads: those with a skill (Home Assistant's others are left out)."""

FALLBACK_REPLY = conversation.FALLBACK_REPLY

__all__ = ["FALLBACK_REPLY", "SERVED_INTENTS", "SKILLS", "Skill", "SkillContext", "Slots"]
