"""The symbol table is frozen (ids never change meaning) and Hangul round-trips through it."""

from __future__ import annotations

import hashlib
import json

import pytest

from tts.config_io import ConfigError
from tts.text import hangul
from tts.text.symbols import (
    CODAS,
    EOS,
    NUCLEI,
    ONSETS,
    PAD,
    SymbolError,
    SymbolTable,
    default_symbol_table,
    symbols_to_text,
    text_to_symbols,
)

GOLDEN_V1 = (
    "<pad>", "<eos>", " ", ".", ",", "?", "!", "\u2026",
    *(chr(c) for c in range(0x1100, 0x1113)),
    *(chr(c) for c in range(0x1161, 0x1176)),
    *(chr(c) for c in range(0x11A8, 0x11C3)),
)  # fmt: skip
"""Version 1 as shipped: changing any of it breaks every saved voice."""
GOLDEN_V1_SHA256 = "19fdfbc8812254cae34e094d152f5d309f24b62392c063a93fed46a28241df63"

ALL_SYLLABLES = "".join(chr(c) for c in range(0xAC00, 0xD7A4))


def test_version_1_table_is_pinned() -> None:
    table = default_symbol_table()
    assert table.version == 1
    assert table.symbols == GOLDEN_V1
    assert hashlib.sha256("\n".join(table.symbols).encode()).hexdigest() == GOLDEN_V1_SHA256
    assert len(table) == 75
    assert (table.pad_id, table.eos_id) == (0, 1)
    assert table.id_of(" ") == 2
    assert table.id_of("\u1100") == 8  # onset ㄱ
    assert table.id_of("\u1161") == 27  # nucleus ㅏ
    assert table.id_of("\u11a8") == 48  # coda ㄱ


def test_onset_and_coda_of_the_same_letter_are_different_symbols() -> None:
    table = default_symbol_table()
    ids = table.encode(text_to_symbols("각")[0])
    assert ids == [8, 27, 48]
    for letter_index, letter in enumerate(hangul.COMPAT_CODAS):
        if letter in hangul.COMPAT_ONSETS:
            onset = ONSETS[hangul.COMPAT_ONSETS.index(letter)]
            assert table.id_of(onset) != table.id_of(CODAS[letter_index])


def test_every_hangul_syllable_round_trips() -> None:
    assert len(ALL_SYLLABLES) == 11172
    symbols, unknown = text_to_symbols(ALL_SYLLABLES)
    assert unknown == []
    assert symbols_to_text(symbols) == ALL_SYLLABLES
    for syllable in ALL_SYLLABLES:
        spelled, _ = text_to_symbols(syllable)
        assert spelled[0] in ONSETS and spelled[1] in NUCLEI
        assert len(spelled) == 2 or spelled[2] in CODAS
        assert symbols_to_text(spelled) == syllable


@pytest.mark.parametrize(
    ("text", "symbols", "unknown"),
    [
        ("안녕", ["ᄋ", "ᅡ", "ᆫ", "ᄂ", "ᅧ", "ᆼ"], []),
        ("  가,   나!  ", ["ᄀ", "ᅡ", ",", " ", "ᄂ", "ᅡ", "!"], []),
        ("가\t\n나", ["ᄀ", "ᅡ", " ", "ᄂ", "ᅡ"], []),
        ("뭐?…", ["ᄆ", "ᅯ", "?", "…"], []),
        ("ㅋㅋ", ["ᄏ", "ᄏ"], []),
        ("ㄳ ㅏ", ["ᆪ", " ", "ᅡ"], []),
        ("가a1😀나", ["ᄀ", "ᅡ", "ᄂ", "ᅡ"], ["a", "1", "😀"]),
        ("가 漢 나", ["ᄀ", "ᅡ", " ", "ᄂ", "ᅡ"], ["漢"]),
        ("<pad>", [], ["<", "p", "a", "d", ">"]),
        ("\u1100\u1161\u11a8", ["ᄀ", "ᅡ", "ᆨ"], []),
    ],
)
def test_text_to_symbols_golden(text: str, symbols: list[str], unknown: list[str]) -> None:
    assert text_to_symbols(text) == (symbols, unknown)


def test_symbols_to_text_recomposes_and_keeps_lone_jamo_readable() -> None:
    assert symbols_to_text(["ᄀ", "ᅡ", "ᆨ", " ", "ᄏ", "ᄏ", "ᆪ", "ᅡ", "."]) == "각 ㅋㅋㄳㅏ."
    assert symbols_to_text([PAD, "ᄀ", "ᅡ", EOS]) == "가"
    with pytest.raises(SymbolError, match="'x'"):
        symbols_to_text(["x"])


def test_encode_decode_round_trip_and_errors_name_the_culprit() -> None:
    table = default_symbol_table()
    symbols, _ = text_to_symbols("소리가 좋아요, 정말!")
    ids = table.encode(symbols)
    assert all(0 <= i < len(table) for i in ids)
    assert table.decode(ids) == symbols
    with pytest.raises(ValueError, match=r"'a' at position 1"):
        table.encode(["ᄀ", "a"])
    with pytest.raises(SymbolError, match="75"):
        table.decode([2, 75])
    with pytest.raises(SymbolError, match="not an integer"):
        table.decode(["3"])  # type: ignore[list-item]
    with pytest.raises(SymbolError, match="'@'"):
        table.id_of("@")


def test_to_dict_from_dict_round_trip_through_json() -> None:
    table = default_symbol_table()
    restored = SymbolTable.from_dict(json.loads(json.dumps(table.to_dict(), ensure_ascii=False)))
    assert restored == table
    assert hash(restored) == hash(table)
    assert restored.encode([" ", "ᆨ"]) == [2, 48]


def _saved(**changes: object) -> dict[str, object]:
    saved = default_symbol_table().to_dict()
    saved.update(changes)
    return saved


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["<pad>", "<eos>"], "must be a JSON object"),
        ({"symbols": list(GOLDEN_V1)}, "lacks the required keys: version"),
        (_saved(extra=1), "unknown SymbolTable keys: extra"),
        (_saved(symbols="abc"), "symbols must be a tuple, got str"),
        (_saved(version=True), "version must be a positive integer"),
        (_saved(version=0), "version must be a positive integer"),
        (_saved(symbols=["<eos>", "<pad>", "a"]), "must start with"),
        (_saved(symbols=["<pad>", "<eos>", "a", "a"]), "'a' appears twice, at ids 2 and 3"),
        (_saved(symbols=["<pad>", "<eos>", 3]), "id 2 must be a non-empty string"),
        (_saved(symbols=[*GOLDEN_V1[:8], "x", *GOLDEN_V1[9:]]), "claims version 1.*id 8 is 'x'"),
        (_saved(symbols=list(GOLDEN_V1[:-1])), "claims version 1.*74 symbols, expected 75"),
    ],
)
def test_from_dict_rejects_bad_tables_with_a_clear_message(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SymbolTable.from_dict(data)


def test_a_future_version_loads_when_well_formed() -> None:
    table = SymbolTable.from_dict({"version": 2, "symbols": [*GOLDEN_V1, "~"]})
    assert table.version == 2 and table.id_of("~") == 75


def test_hangul_arithmetic_rejects_what_is_not_a_syllable() -> None:
    assert hangul.decompose("힣") == hangul.Jamo(18, 20, 27)
    assert hangul.compose(hangul.Jamo(18, 20, 27)) == "힣"
    with pytest.raises(ValueError, match="not a precomposed Hangul syllable"):
        hangul.decompose("ㄱ")
    with pytest.raises(ValueError, match="out of range"):
        hangul.compose(hangul.Jamo(19, 0, 0))


def test_spoken_length_ignores_trailing_silent_symbols() -> None:
    from tts.text.symbols import spoken_length

    assert spoken_length(["ᄃ", "ᅡ", ".", "<eos>"]) == 2
    assert spoken_length(["ᄀ", "ᅡ", "ᆨ", " ", "!", "<eos>", "<pad>"]) == 3
    assert spoken_length([".", "<eos>"]) == 0
