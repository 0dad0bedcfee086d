"""The frontend entry point: every stage in the result, dropped characters reported, clear errors."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tts.text import (
    FrontendError,
    FrontendResult,
    SymbolTable,
    TextConfig,
    default_symbol_table,
    normalize_text,
    text_to_ids,
)
from tts.text.symbols import symbols_to_text

NO_G2P = TextConfig(use_g2p=False)


def test_result_fields_follow_the_stages() -> None:
    table = default_symbol_table()
    result = text_to_ids("지금은 오후 3시 15분입니다.", NO_G2P)
    assert isinstance(result, FrontendResult)
    assert result.normalized == "지금은 오후 세 시 십오 분입니다."
    assert result.pronounced == result.normalized
    assert symbols_to_text(result.symbols) == result.pronounced
    assert result.ids[-1] == table.eos_id
    assert list(result.ids[:-1]) == table.encode(result.symbols)
    assert result.dropped == ()


def test_result_is_frozen() -> None:
    result = text_to_ids("안녕", NO_G2P)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.normalized = "x"  # type: ignore[misc]


def test_g2p_changes_pronunciation_not_reading() -> None:
    result = text_to_ids("국물이 3개", TextConfig(use_g2p=True))
    assert result.normalized == "국물이 세 개"
    assert result.pronounced.startswith("궁무리")
    assert symbols_to_text(result.symbols) == result.pronounced


def test_onset_and_coda_are_different_ids() -> None:
    ids = text_to_ids("각", NO_G2P).ids
    assert len(ids) == 4  # onset, nucleus, coda, EOS
    assert ids[0] != ids[2]


def test_dropped_characters_are_reported_and_text_still_spoken() -> None:
    result = text_to_ids("좋아요😀 漢字!", NO_G2P)
    assert result.normalized == "좋아요!"
    assert result.dropped == ("😀", "漢", "字")


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_an_error(text: str) -> None:
    with pytest.raises(FrontendError, match="empty"):
        text_to_ids(text, NO_G2P)


@pytest.mark.parametrize("text", ["😀😀", "漢字", "...", "!?", "ــــ"])
def test_nothing_speakable_is_an_error_naming_the_text(text: str) -> None:
    with pytest.raises(FrontendError, match="nothing speakable"):
        text_to_ids(text, NO_G2P)


def test_error_lists_what_was_dropped() -> None:
    with pytest.raises(FrontendError, match="漢"):
        text_to_ids("漢字", NO_G2P)


def test_non_string_input_is_a_frontend_error() -> None:
    with pytest.raises(FrontendError, match="string"):
        text_to_ids(42, NO_G2P)  # type: ignore[arg-type]


def test_frontend_error_is_a_value_error() -> None:
    assert issubclass(FrontendError, ValueError)


def test_symbol_missing_from_a_voice_table_is_dropped_not_misencoded() -> None:
    full = default_symbol_table()
    smaller = SymbolTable(symbols=tuple(s for s in full.symbols if s != "?"), version=99)
    result = text_to_ids("정말?", NO_G2P, smaller)
    assert "?" in result.dropped
    assert all(0 <= i < len(smaller) for i in result.ids)


def test_normalize_text_matches_text_to_ids() -> None:
    text = "$5짜리 GPU 2대, 6월 10일."
    assert normalize_text(text)[0] == text_to_ids(text, NO_G2P).normalized


def _check_any_text(text: str, config: TextConfig) -> None:
    table = default_symbol_table()
    try:
        result = text_to_ids(text, config)
    except FrontendError:
        return
    assert result.ids, "a successful result has ids"
    assert all(0 <= i < len(table) for i in result.ids)
    assert result.ids[-1] == table.eos_id
    assert table.pad_id not in result.ids


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_any_unicode_text_gives_ids_in_table_or_frontend_error(text: str) -> None:
    _check_any_text(text, NO_G2P)


_KOREANISH = st.text(
    alphabet=st.sampled_from(list("가나다라국물학교 0123456789,.-:%$~시분개명월kmKSSgpu😀漢!?")),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(_KOREANISH)
def test_korean_like_text_gives_ids_in_table_or_frontend_error(text: str) -> None:
    _check_any_text(text, NO_G2P)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=20), _KOREANISH))
def test_with_g2p_any_text_gives_ids_in_table_or_frontend_error(text: str) -> None:
    _check_any_text(text, TextConfig(use_g2p=True))


def test_text_config_round_trips_and_rejects_bad_keys() -> None:
    config = TextConfig(use_g2p=False)
    assert TextConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown TextConfig keys: colour"):
        TextConfig.from_dict({"use_g2p": True, "colour": 1})
    with pytest.raises(ValueError, match="use_g2p must be bool"):
        TextConfig.from_dict({"use_g2p": "yes"})
