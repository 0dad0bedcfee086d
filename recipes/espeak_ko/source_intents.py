"""Sentences from the Korean intent templates: home-assistant-intents' `ko` data and Sori's own.

Templates are expanded at random (seeded, so the result is fixed), one choice at a time, with
sample values for the entity lists a device-less assistant leaves empty (areas, device names) and
for wildcards (shopping items, messages). Where a template offers particle forms after a word
("(이|가)", "[을|를]") the form that fits that word is chosen, so sentences stay grammatical. Each
intent contributes at most `per_intent` sentences, so a template with huge alternations does not
dominate the corpus.
"""

from __future__ import annotations

import importlib.resources
import logging
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass

import home_assistant_intents
import yaml
from hassil import Intents
from hassil.expression import (
    Alternative,
    Expression,
    ListReference,
    Permutation,
    RuleReference,
    Sentence,
    Sequence,
    TextChunk,
)
from hassil.intents import RangeSlotList, SlotList, TextSlotList

from assistant.particles import PARTICLES, particle_for
from assistant.recognizer import LANGUAGE, OWN_TEMPLATES
from recipes.espeak_ko.errors import SentenceSourceError

LOGGER = logging.getLogger(__name__)

SAMPLE_VALUES: Mapping[str, tuple[str, ...]] = {
    "area": (
        "거실",
        "안방",
        "주방",
        "부엌",
        "침실",
        "서재",
        "욕실",
        "화장실",
        "현관",
        "베란다",
        "아이 방",
        "작은방",
        "다용도실",
        "드레스룸",
        "차고",
        "마당",
        "사무실",
        "지하실",
        "다락방",
        "옷방",
        "손님방",
        "공부방",
    ),
    "name": (
        "조명",
        "선풍기",
        "에어컨",
        "공기청정기",
        "가습기",
        "제습기",
        "텔레비전",
        "스피커",
        "로봇청소기",
        "전기장판",
        "보일러",
        "세탁기",
        "건조기",
        "커피머신",
        "식기세척기",
        "스탠드",
        "무드등",
        "천장등",
        "환풍기",
        "전기난로",
        "어항 조명",
        "현관등",
        "식탁 등",
        "충전기",
    ),
    "floor": ("일층", "이층", "지하", "옥상", "위층", "아래층"),
    "shopping_list_item": (
        "우유",
        "계란",
        "두부",
        "대파",
        "양파",
        "감자",
        "고구마",
        "사과",
        "바나나",
        "딸기",
        "휴지",
        "세제",
        "샴푸",
        "치약",
        "쌀",
        "라면",
        "김치",
        "삼겹살",
        "닭고기",
        "고등어",
        "식빵",
        "버터",
        "치즈",
        "요구르트",
        "커피",
        "녹차",
        "간장",
        "된장",
        "고추장",
        "참기름",
        "소금",
        "설탕",
        "밀가루",
        "콩나물",
        "시금치",
        "오이",
        "당근",
        "버섯",
        "마늘",
        "생강",
        "귤",
        "포도",
    ),
    "todo_list_item": (
        "빨래",
        "설거지",
        "분리수거",
        "화분에 물 주기",
        "병원 예약",
        "택배 보내기",
        "청소기 돌리기",
        "엄마한테 전화하기",
        "보고서 쓰기",
        "은행 가기",
        "책 반납하기",
        "운동하기",
    ),
    "message": (
        "오늘 조금 늦을 것 같아",
        "저녁 먹고 들어갈게",
        "지금 출발했어",
        "우산 챙겨",
        "회의가 길어지고 있어",
        "곧 도착해",
    ),
    "search_query": ("재즈", "클래식", "아이유 노래", "오늘 뉴스", "잔잔한 피아노 음악", "동요"),
    "zone": ("집", "회사", "학교", "체육관"),
    "timer_name": ("라면", "빨래", "계란", "파스타", "낮잠", "운동", "찜질"),
    "timer_command": ("불 꺼줘", "음악 꺼줘", "알람 울려줘"),
    "sori_calc_left": ("3", "7", "12", "15", "25", "48", "100", "250", "1000", "2.5", "0.5", "9"),
    "sori_calc_right": ("2", "4", "5", "6", "8", "11", "20", "30", "1.5", "3", "12", "0.25"),
}
"""Values for lists the templates leave empty or open (entity names, wildcards), by list name."""

SKIPPED_INTENTS = frozenset({"HassGetState"})
"""Intents left out: HassGetState's Korean templates glue state words into forms such as "끔있어"."""

_PARTICLE_FORMS = sorted(
    ((form, key) for key, forms in PARTICLES.items() for form in forms),
    key=lambda pair: -len(pair[0]),
)
"""Every particle form with its pair key, longest first so 이에요 is not taken for 이."""
_BARE_PARTICLES = frozenset({*(form for form, _ in _PARTICLE_FORMS), "만", "="})
"""Template alternatives that are only a particle: they need a word right before them."""
_ENDS_IN_WORD = re.compile(r"[\w%]$")
_COMMON_RANGE = 60
"""Range values are mostly drawn from the first this many of a range (5분, not 8996초)."""
_COMMON_SHARE = 0.85


class _Unsampleable(Exception):
    """A template refers to a list or rule that has no values here; the template is skipped."""


@dataclass(frozen=True)
class _Grammar:
    """What one block of templates may refer to: slot lists and expansion rules by name."""

    slot_lists: Mapping[str, SlotList]
    rules: Mapping[str, Sentence]


def _particle_key(text: str) -> str | None:
    """The particle pair key a piece of template text starts with ("가 켜져" → "이/가"), if any."""
    for form, key in _PARTICLE_FORMS:
        if text.startswith(form) and (len(text) == len(form) or not text[len(form)].isalpha()):
            return key
    return None


def _leading_text(item: Expression) -> str | None:
    """The literal text an alternative starts with, when it starts with literal text."""
    while isinstance(item, Sequence) and not isinstance(item, Alternative | Permutation):
        if not item.items:
            return None
        item = item.items[0]
    return item.original_text if isinstance(item, TextChunk) else None


def _fits(prefix: str, item: Expression) -> bool:
    """Whether an alternative can follow the text so far.

    A particle must suit the word right before it, and a bare particle cannot follow a space
    (an empty optional in the template left one): the alternative is then not taken.
    """
    text = _leading_text(item)
    if text is None:
        return True
    key = _particle_key(text)
    bare = text.strip() in _BARE_PARTICLES
    if prefix[-1:].isspace():
        return not bare
    if key is None or not _ENDS_IN_WORD.search(prefix):
        return True
    return text.startswith(particle_for(prefix.split()[-1], key))


def _fix_particle(prefix: str, text: str) -> str:
    """Literal template text that starts with a particle, in the form that suits the word before."""
    key = _particle_key(text)
    if key is None or not _ENDS_IN_WORD.search(prefix):
        return text
    form = next(form for form in PARTICLES[key] if text.startswith(form))
    return particle_for(prefix.split()[-1], key) + text[len(form) :]


def _number_text(value: float) -> str:
    """A range value as written in a sentence: 23, 23.5."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _expand(expression: Expression, grammar: _Grammar, rng: random.Random, prefix: str) -> str:
    """One random expansion of expression, given the text generated before it."""
    if isinstance(expression, TextChunk):
        return _fix_particle(prefix, expression.original_text)
    if isinstance(expression, Alternative):
        fitting = [item for item in expression.items if _fits(prefix, item)]
        return _expand(rng.choice(fitting or expression.items), grammar, rng, prefix)
    if isinstance(expression, Permutation):
        items = list(expression.items)
        rng.shuffle(items)
        return " ".join(_expand(item, grammar, rng, prefix) for item in items)
    if isinstance(expression, Sequence):
        text = ""
        for item in expression.items:
            text += _expand(item, grammar, rng, prefix + text)
        return text
    if isinstance(expression, RuleReference):
        rule = grammar.rules.get(expression.rule_name)
        if rule is None:
            raise _Unsampleable(f"rule <{expression.rule_name}>")
        return _expand(rule.expression, grammar, rng, prefix)
    if isinstance(expression, ListReference):
        return _sample_list(expression.list_name, grammar, rng, prefix)
    raise _Unsampleable(f"expression {type(expression).__name__}")


def _sample_list(name: str, grammar: _Grammar, rng: random.Random, prefix: str) -> str:
    """A value of list `name`: a sample value, a text value's template, or a number in range."""
    if name in SAMPLE_VALUES:
        return rng.choice(SAMPLE_VALUES[name])
    slot_list = grammar.slot_lists.get(name)
    if isinstance(slot_list, TextSlotList) and slot_list.values:
        return _expand(rng.choice(slot_list.values).text_in, grammar, rng, prefix)
    if isinstance(slot_list, RangeSlotList):
        numbers = list(slot_list.get_numbers())
        if rng.random() < _COMMON_SHARE:
            numbers = numbers[:_COMMON_RANGE]
        return _number_text(rng.choice(numbers))
    raise _Unsampleable(f"list {{{name}}}")


def _clean(text: str) -> str:
    return " ".join(text.split())


def _intent_sentences(
    intents: Intents, name: str, per_intent: int, rng: random.Random
) -> list[str]:
    """Up to per_intent distinct random sentences of one intent, in the order first drawn."""
    templates: list[tuple[Sentence, _Grammar]] = []
    for block in intents.intents[name].data:
        grammar = _Grammar(
            slot_lists={**intents.slot_lists, **block.slot_lists},
            rules={**intents.expansion_rules, **block.expansion_rules},
        )
        templates.extend((sentence, grammar) for sentence in block.sentences)
    found: dict[str, None] = {}
    for _ in range(per_intent * 8):
        if len(found) >= per_intent or not templates:
            break
        sentence, grammar = rng.choice(templates)
        try:
            text = _clean(_expand(sentence.expression, grammar, rng, ""))
        except _Unsampleable as missing:
            LOGGER.debug("skipping a %s template: no values for %s", name, missing)
            templates.remove((sentence, grammar))
            continue
        if text:
            found[text] = None
    return list(found)


def template_sets() -> dict[str, Intents]:
    """The two template sets, by name: Home Assistant's Korean intents and Sori's own."""
    data = home_assistant_intents.get_intents(LANGUAGE)
    if data is None:
        raise SentenceSourceError(f"home-assistant-intents ships no {LANGUAGE!r} templates")
    own = importlib.resources.files("assistant").joinpath(OWN_TEMPLATES).read_text("utf-8")
    return {
        "home-assistant": Intents.from_dict(data),
        "sori": Intents.from_dict(yaml.safe_load(own)),
    }


def intent_sentences(seed: int, per_intent: int) -> list[str]:
    """Random expansions of every intent of both template sets, at most per_intent each."""
    sentences: list[str] = []
    for set_name, intents in template_sets().items():
        for name in intents.intents:
            if name in SKIPPED_INTENTS:
                continue
            rng = random.Random(f"{seed}:{set_name}:{name}")
            sentences.extend(_intent_sentences(intents, name, per_intent, rng))
    return sentences
