"""Particles follow the frontend's reading: a golden table of words that end in Latin letters,
digits, units and symbols, checked against `tts.text`, then every reply template × those words."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant import with_particle
from assistant.numbers import parse_number
from assistant.particles import PARTICLES
from assistant.skills import SkillContext
from assistant.skills.calculator import calculate, spoken_number
from assistant.skills.shopping import add_item, read_list
from assistant.skills.weather import describe
from assistant.store import SqliteStore
from assistant.weather import WeatherReport
from tts.text import normalize_text

# (word, what the frontend says for it, 을 or 를 after that reading, 으로 or 로 after it)
READINGS = [
    # English words and acronyms
    ("iPhone", "아이폰", "을", "으로"),
    ("Zoom", "줌", "을", "으로"),
    ("Apple", "애플", "을", "로"),
    ("Google", "구글", "을", "로"),
    ("Python", "파이선", "을", "으로"),
    ("Mac", "맥", "을", "으로"),
    ("Netflix", "넷플릭스", "를", "로"),
    ("TV", "티브이", "를", "로"),
    ("USB", "유에스비", "를", "로"),
    ("iOS", "이오스", "를", "로"),
    ("URL", "유알엘", "을", "로"),
    ("OK", "오케이", "를", "로"),
    # Codes of letters and digits (single digits said in English)
    ("MP3", "엠피쓰리", "를", "로"),
    ("A4", "에이포", "를", "로"),
    ("4K", "포케이", "를", "로"),
    ("i7", "아이세븐", "을", "으로"),
    ("H2O", "에이치투오", "를", "로"),
    ("GPT-4", "지피티 사", "를", "로"),
    # Numbers (Sino-Korean when alone)
    ("0", "영", "을", "으로"),
    ("2", "이", "를", "로"),
    ("3", "삼", "을", "으로"),
    ("6", "육", "을", "으로"),
    ("7", "칠", "을", "로"),
    ("10", "십", "을", "으로"),
    ("2.5", "이 점 오", "를", "로"),
    ("1,000", "천", "을", "으로"),
    ("20000", "이만", "을", "으로"),
    # Units and counters
    ("3kg", "삼 킬로그램", "을", "으로"),
    ("1.5kg", "일 점 오 킬로그램", "을", "으로"),
    ("5L", "오 리터", "를", "로"),
    ("100m", "백 미터", "를", "로"),
    ("30km", "삼십 킬로미터", "를", "로"),
    ("5GB", "오 기가바이트", "를", "로"),
    ("50%", "오십 퍼센트", "를", "로"),
    ("12°C", "섭씨 십이 도", "를", "로"),
    ("100원", "백 원", "을", "으로"),
    ("3개", "세 개", "를", "로"),
    # Symbols
    ("$5", "오 달러", "를", "로"),
    ("C++", "씨 플러스 플러스", "를", "로"),
    ("R&D", "알 앤 디", "를", "로"),
    # Hangul
    ("우유", "우유", "를", "로"),
    ("계란", "계란", "을", "으로"),
    ("서울", "서울", "을", "로"),
]
WORDS = [word for word, *_ in READINGS]


def expected_forms(word: str) -> dict[str, str]:
    """Every particle pair's form after `word`, from the table's reading of it."""
    _, _, object_form, direction_form = next(row for row in READINGS if row[0] == word)
    after_consonant = object_form == "을"
    forms = {pair: pair_forms[0 if after_consonant else 1] for pair, pair_forms in PARTICLES.items()}
    forms["으로/로"] = direction_form
    return forms


@pytest.mark.parametrize(("word", "reading", "object_form", "direction_form"), READINGS, ids=WORDS)
def test_the_table_is_what_the_frontend_says(
    word: str, reading: str, object_form: str, direction_form: str
) -> None:
    assert normalize_text(word) == (reading, ())


@pytest.mark.parametrize("word", WORDS)
def test_every_particle_follows_the_reading(word: str) -> None:
    forms = expected_forms(word)
    assert {pair: with_particle(word, pair) for pair in PARTICLES} == {
        pair: word + form for pair, form in forms.items()
    }


@pytest.fixture
def context(tmp_path: Path) -> Iterator[SkillContext]:
    store = SqliteStore(tmp_path / "assistant.sqlite3")
    yield SkillContext(now=datetime(2026, 11, 21, 15, 5, tzinfo=ZoneInfo("Asia/Seoul")), store=store)
    store.close()


def added(word: str, context: SkillContext) -> str | None:
    return add_item({"item": word}, context)


def added_again(word: str, context: SkillContext) -> str | None:
    add_item({"item": word}, context)
    return add_item({"item": word}, context)


def listed(word: str, context: SkillContext) -> str | None:
    add_item({"item": word}, context)
    return read_list({}, context)


def listed_first(word: str, context: SkillContext) -> str | None:
    add_item({"item": f"{word}, 사과"}, context)
    return read_list({}, context)


Template = Callable[[str, SkillContext], str | None]

# Reply template → (how to get the reply for a word, the reply expected with the table's forms).
TEMPLATES: dict[str, tuple[Template, Callable[[str, dict[str, str]], str]]] = {
    "added": (added, lambda w, f: f"{w}{f['을/를']} 장보기 목록에 추가했어요."),
    "added, first of two": (
        lambda w, c: add_item({"item": f"{w}, 사과"}, c),
        lambda w, f: f"{w}{f['과/와']} 사과를 장보기 목록에 추가했어요.",
    ),
    "added, last of two": (
        lambda w, c: add_item({"item": f"사과, {w}"}, c),
        lambda w, f: f"사과와 {w}{f['을/를']} 장보기 목록에 추가했어요.",
    ),
    "already listed": (added_again, lambda w, f: f"{w}{f['은/는']} 이미 장보기 목록에 있어요."),
    "list of one": (listed, lambda w, f: f"장보기 목록에 {w}{f['이/가']} 있어요."),
    "list of two": (listed_first, lambda w, f: f"장보기 목록에 {w}{f['과/와']} 사과가 있어요."),
    "weather": (
        lambda w, c: describe(WeatherReport(condition=w)),
        lambda w, f: f"지금 날씨는 {w}{f['이에요/예요']}.",
    ),
}

ITEM_WORDS = [word for word in WORDS if "," not in word]
"""Words that can be one shopping item (the skill splits items at commas)."""


@pytest.mark.parametrize("word", ITEM_WORDS)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_reply_template_uses_the_reading(template: str, word: str, context: SkillContext) -> None:
    make_reply, expected = TEMPLATES[template]
    assert make_reply(word, context) == expected(word, expected_forms(word))


NUMBER_WORDS = [word for word in WORDS if parse_number(word) is not None]


@pytest.mark.parametrize("word", NUMBER_WORDS)
def test_calculator_replies_use_the_reading(word: str, context: SkillContext) -> None:
    value = parse_number(word)
    assert value is not None
    said = spoken_number(value)
    forms = expected_forms(word)
    assert normalize_text(said) == normalize_text(word)  # 1,000 is written 1000 and read the same
    assert calculate({"operator": "add", "left": word, "right": "0"}, context) == (
        f"{said} 더하기 0은 {said}{forms['이에요/예요']}."
    )
    assert calculate({"operator": "add", "left": "0", "right": word}, context) == (
        f"0 더하기 {said}{forms['은/는']} {said}{forms['이에요/예요']}."
    )


def test_native_reading_changes_the_particle_of_a_count() -> None:
    assert with_particle("사과 2", "이/가", native=True) == "사과 2이"  # 둘
    assert with_particle("21", "을/를") == "21을"  # 이십일
    assert with_particle("21", "을/를", native=True) == "21를"  # 스물하나
    assert with_particle("100", "이/가", native=True) == "100이"  # 백: Sino-Korean from 100 up


@pytest.mark.parametrize("module", ["tts.text", "assistant"])
def test_importing_the_frontend_or_the_assistant_does_not_import_torch(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_every_public_name_of_tts_resolves() -> None:
    """The lazily imported names are all there, each from the module that defines it."""
    import tts

    for name in tts.__all__:
        value = getattr(tts, name)
        assert value is not None, name
    assert set(tts.__all__) <= set(dir(tts))
    with pytest.raises(AttributeError, match="no attribute 'Synthesiser'"):
        tts.Synthesiser  # noqa: B018
