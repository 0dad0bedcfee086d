"""Alignment plots: valid PNGs for one and several sentences, with and without a Hangul font."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib import image as mpl_image

import tts.plot as plot
from tts.plot import (
    PlotError,
    display_labels,
    find_hangul_font,
    plot_alignment,
    romanize_jamo,
    romanize_text,
    symbol_kind,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# "안녕" and "날씨 좋다." as the frontend gives them: conjoining jamo, onset ≠ coda.
ANNYEONG = ["\u110b", "\u1161", "\u11ab", "\u1102", "\u1167", "\u11bc"]
NALSSI = ["\u1102", "\u1161", "\u11af", "\u110a", "\u1175", " ", "\u110c", "\u1169", "\u1110",
          "\u1161", "."]


def diagonal(n_steps: int, n_symbols: int) -> np.ndarray:
    """A soft diagonal alignment [n_steps, n_symbols] whose rows sum to one."""
    centres = np.linspace(0, n_symbols - 1, n_steps)[:, None]
    weights = np.exp(-0.5 * ((np.arange(n_symbols)[None, :] - centres) / 0.6) ** 2)
    return weights / weights.sum(axis=1, keepdims=True)


def decode(png: bytes) -> np.ndarray:
    """Pixels [height, width, channels] of PNG bytes (fails on anything that is not a PNG)."""
    assert png[:8] == PNG_MAGIC
    return mpl_image.imread(io.BytesIO(png), format="png")


def missing_glyph_warnings(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if "missing from font" in str(w.message)]


@pytest.mark.parametrize("hangul", [True, False])
def test_one_and_two_panels(monkeypatch: pytest.MonkeyPatch, hangul: bool) -> None:
    if hangul and find_hangul_font() is None:
        pytest.skip("no installed font draws conjoining jamo")
    if not hangul:
        monkeypatch.setattr(plot, "find_hangul_font", lambda: None)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        one = decode(plot_alignment([diagonal(15, 6)], [ANNYEONG], ["안녕"]))
        two = decode(plot_alignment(
            [torch.from_numpy(diagonal(15, 6)), diagonal(30, 11).astype(np.float32)],
            [ANNYEONG, NALSSI],
            ["안녕", "날씨 좋다."],
        ))
    assert missing_glyph_warnings(record) == []  # every label and title drawn, none as boxes
    assert two.shape[0] > one.shape[0] * 1.5  # one panel per sentence, stacked
    assert one.shape[1] >= 500 and one.shape[0] >= 200


def test_writes_the_same_png_atomically(tmp_path: Path) -> None:
    target = tmp_path / "plots" / "alignment.png"
    png = plot_alignment([diagonal(12, 6)], [ANNYEONG], ["안녕"], path=target)
    assert target.read_bytes() == png
    assert [p.name for p in target.parent.iterdir()] == ["alignment.png"]


def test_long_sentence_stays_readable_size() -> None:
    labels = (ANNYEONG + [" "]) * 40  # 280 symbols
    picture = decode(plot_alignment([diagonal(600, len(labels))], [labels], ["긴 문장"]))
    assert picture.shape[0] <= 2200 and picture.shape[1] <= 2100


def test_installed_hangul_font_covers_conjoining_jamo() -> None:
    from matplotlib import font_manager, ft2font

    family = find_hangul_font()
    if family is None:
        pytest.skip("no Hangul font installed (Debian: fonts-nanum)")
    path = font_manager.findfont(font_manager.FontProperties(family=family),
                                 fallback_to_default=False)
    charmap = ft2font.FT2Font(path).get_charmap()
    assert all(ord(j) in charmap for j in ANNYEONG + NALSSI if symbol_kind(j) != "other")


def test_romanised_labels_tell_onset_from_coda() -> None:
    assert [romanize_jamo(j) for j in ANNYEONG] == ["∅-", "a", "-n", "n-", "yeo", "-ng"]
    assert romanize_jamo("\u1100") == "g-" and romanize_jamo("\u11a8") == "-k"
    assert romanize_jamo("\u1112") == "h-" and romanize_jamo("\u11c2") == "-h"
    assert romanize_jamo("\u1175") == "i" and romanize_jamo("\u116a") == "wa"
    assert romanize_jamo(".") == "." and romanize_jamo("<eos>") == "<eos>"
    assert romanize_jamo("\u3131") == "kiyeok"  # compatibility jamo: its Unicode name
    assert display_labels([" ", "\u1100"], hangul_font=False) == ["␣", "g-"]
    assert display_labels([" ", "\u1100"], hangul_font=True) == ["␣", "\u1100"]


def test_romanize_text_and_symbol_kinds() -> None:
    assert romanize_text("안녕하세요, Sori!") == "annyeonghaseyo, Sori!"
    assert romanize_text("닭") == "dalk"
    assert [symbol_kind(j) for j in ANNYEONG] == ["onset", "vowel", "coda"] * 2
    assert symbol_kind(" ") == "other" and symbol_kind("ab") == "other"


def test_bad_input_is_named() -> None:
    with pytest.raises(PlotError, match="2 alignments, 1 label lists and 2 titles"):
        plot_alignment([diagonal(5, 6), diagonal(5, 6)], [ANNYEONG], ["a", "b"])
    with pytest.raises(PlotError, match="sentence 0: alignment has 6 input symbols but 11 labels"):
        plot_alignment([diagonal(5, 6)], [NALSSI], ["x"])
    with pytest.raises(PlotError, match=r"\[T_steps, T_text\]"):
        plot_alignment([np.zeros(6)], [ANNYEONG], ["x"])
    nan = diagonal(5, 6)
    nan[2, 3] = np.nan
    with pytest.raises(PlotError, match="NaN"):
        plot_alignment([nan], [ANNYEONG], ["x"])
    with pytest.raises(PlotError, match="nothing to plot"):
        plot_alignment([], [], [])
