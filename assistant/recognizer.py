"""Intent recognition: hassil over Home Assistant's Korean templates merged with Sori's own.

`load_intents()` builds the (slow-ish) template data once; `recognize(text, intents)` is then a
pure function from an utterance to the best `Recognition`, or None when nothing matched.
"""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import home_assistant_intents
import yaml
from hassil import Intents, RecognizeResult, SlotList, TextSlotList, merge_dict, recognize_all

from assistant.errors import AssistantError
from assistant.normalize import normalize_utterance
from assistant.numbers import as_slot_value, parse_number
from assistant.particles import has_final_consonant, strip_particle
from assistant.skills import SERVED_INTENTS

LOGGER = logging.getLogger(__name__)

LANGUAGE = "ko"
OWN_TEMPLATES = "intents_ko.yaml"
MAX_UTTERANCE_CHARS = 500

# Home Assistant's templates refer to entity lists that a device-less assistant has none of.
EMPTY_ENTITY_LISTS = ("area", "name", "floor")

SlotValue = str | int

# Words that join shopping items ("우유랑 계란"), with the final consonant they require before them.
_ITEM_JOINERS: tuple[tuple[str, bool | None], ...] = (("이랑", True), ("랑", False), ("하고", None))


@dataclass(frozen=True)
class Recognition:
    """A recognised intent and its cleaned slots (ints for numbers, particle-free item text)."""

    intent: str
    slots: Mapping[str, SlotValue] = field(default_factory=dict)
    normalized_text: str = ""
    """The utterance after `normalize_utterance`, as it was matched."""


@dataclass(frozen=True)
class IntentCatalog:
    """Compiled templates and the slot lists recognition needs; build with `load_intents()`."""

    intents: Intents
    slot_lists: Mapping[str, SlotList]


def load_template_dict() -> dict[str, Any]:
    """Home Assistant's Korean intents restricted to the served ones, merged with Sori's YAML."""
    data = home_assistant_intents.get_intents(LANGUAGE)
    if data is None:
        raise AssistantError(f"home-assistant-intents ships no {LANGUAGE!r} templates")
    data["intents"] = {
        name: intent for name, intent in data["intents"].items() if name in SERVED_INTENTS
    }
    own_text = importlib.resources.files("assistant").joinpath(OWN_TEMPLATES).read_text("utf-8")
    merge_dict(data, yaml.safe_load(own_text))
    unknown = set(data["intents"]) - set(SERVED_INTENTS)
    if unknown:
        raise AssistantError(f"{OWN_TEMPLATES} defines intents Sori does not serve: {sorted(unknown)}")
    return data


def load_intents() -> IntentCatalog:
    """Parse the merged templates into hassil `Intents` plus empty entity lists.

    Every template is compiled here, eagerly, so concurrent `recognize` calls never race on
    hassil's lazily built caches.
    """
    intents = Intents.from_dict(load_template_dict())
    for intent in intents.intents.values():
        for block in intent.data:
            _ = block.sentences
    slot_lists = {name: TextSlotList(name=name, values=[]) for name in EMPTY_ENTITY_LISTS}
    return IntentCatalog(intents=intents, slot_lists=slot_lists)


def _clean_number(value: Any) -> SlotValue:
    """hassil reports digits as floats (5.0); slots carry ints when whole."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int | str):
        return value
    return str(value)


def _split_items(text: str) -> list[str]:
    """Shopping items from captured text: particles stripped, "우유랑 계란을" → ["우유", "계란"]."""
    words = [word for word in text.replace(",", " ").split() if word != "좀"]
    items: list[list[str]] = [[]]
    for word in words:
        for joiner, needs_final_consonant in _ITEM_JOINERS:
            stem = word[: -len(joiner)]
            if word.endswith(joiner) and stem and (
                needs_final_consonant is None
                or has_final_consonant(stem) == needs_final_consonant
            ):
                items[-1].append(stem)
                items.append([])
                break
        else:
            items[-1].append(word)
    cleaned = (strip_particle(" ".join(item)) for item in items if item)
    return [item for item in cleaned if item]


def _clean_item(value: Any) -> SlotValue | None:
    items = _split_items(str(value))
    return ", ".join(items) if items else None


def _clean_operand(value: Any) -> SlotValue | None:
    number = parse_number(strip_particle(str(value)))
    return None if number is None else as_slot_value(number)


# Slot name → cleaner; a cleaner returning None rejects the whole match.
_SLOT_CLEANERS: dict[str, Callable[[Any], SlotValue | None]] = {
    "item": _clean_item,
    "left": _clean_operand,
    "right": _clean_operand,
}


def _clean_slots(result: RecognizeResult) -> dict[str, SlotValue] | None:
    slots: dict[str, SlotValue] = {}
    for name, entity in result.entities.items():
        cleaner = _SLOT_CLEANERS.get(name)
        value = entity.text_clean if entity.is_wildcard else entity.value
        cleaned = cleaner(value) if cleaner is not None else _clean_number(value)
        if cleaned is None:
            return None
        slots[name] = cleaned
    return slots


def _score(result: RecognizeResult) -> tuple[int, int, int, str]:
    """Lower is better: fewer wildcards, more literal text, less wildcard text, then by name."""
    wildcards = [entity for entity in result.entities_list if entity.is_wildcard]
    return (
        len(wildcards),
        -result.text_chunks_matched,
        sum(len(entity.text or "") for entity in wildcards),
        result.intent.name,
    )


def recognize(text: str, catalog: IntentCatalog) -> Recognition | None:
    """The best served intent for `text` with cleaned slots, or None when nothing matched.

    Raises AssistantError for non-text, empty or over-long utterances.
    """
    if not isinstance(text, str):
        raise AssistantError(f"utterance must be a string, got {type(text).__name__}")
    if len(text) > MAX_UTTERANCE_CHARS:
        raise AssistantError(f"utterance is {len(text)} characters; the limit is {MAX_UTTERANCE_CHARS}")
    normalized = normalize_utterance(text)
    if not normalized:
        raise AssistantError("utterance is empty")
    best: tuple[tuple[int, int, int, str], Recognition] | None = None
    for result in recognize_all(
        normalized, catalog.intents, slot_lists=dict(catalog.slot_lists), language=LANGUAGE
    ):
        slots = _clean_slots(result)
        if slots is None:
            continue
        score = _score(result)
        if best is None or score < best[0]:
            best = (score, Recognition(result.intent.name, slots, normalized))
    LOGGER.debug("recognised %r as %s", normalized, best[1] if best else None)
    return None if best is None else best[1]
