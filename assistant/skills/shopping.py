"""The shopping list: add items ("우유를 장보기 목록에 추가해줘") and read it back."""

from __future__ import annotations

from assistant.particles import with_particle
from assistant.skills.context import SkillContext, Slots

LIST_NAME = "장보기 목록"


def join_items(items: list[str]) -> str:
    """Items as listed in speech: "우유", "우유와 계란", "우유, 빵과 계란"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-2] + [with_particle(items[-2], '과/와')])} {items[-1]}"


def add_item(slots: Slots, context: SkillContext) -> str:
    """HassShoppingListAddItem: add the item(s) in the `item` slot (comma-separated)."""
    items = [item.strip() for item in str(slots.get("item", "")).split(",") if item.strip()]
    if not items:
        return "무엇을 장보기 목록에 추가할지 알아듣지 못했어요."
    now = context.now.timestamp()
    added = context.store.add_shopping_items(items, now)
    present = [item for item in items if item not in added]
    sentences = []
    if added:
        sentences.append(f"{with_particle(join_items(added), '을/를')} {LIST_NAME}에 추가했어요.")
    if present:
        sentences.append(f"{with_particle(join_items(present), '은/는')} 이미 {LIST_NAME}에 있어요.")
    return " ".join(sentences)


def read_list(slots: Slots, context: SkillContext) -> str:
    """SoriShoppingListRead: everything on the list, in the order it was added."""
    items = context.store.shopping_items()
    if not items:
        return f"{with_particle(LIST_NAME, '이/가')} 비어 있어요."
    return f"{LIST_NAME}에 {with_particle(join_items(items), '이/가')} 있어요."
