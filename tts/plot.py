"""Attention-alignment pictures: decoder steps against input symbols, one panel per sentence.

The picture is how users judge the model (a clean diagonal means it reads the text in order), so
the symbol axis carries the actual jamo: drawn with a Hangul font that covers conjoining jamo when
one is installed (NanumGothic preferred), else as romanised labels. Onset, vowel and coda are
coloured apart (onset ≠ coda), and romanised onsets/codas carry a dash on the side of the vowel.
"""

from __future__ import annotations

import importlib.util
import io
import math
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from tts.atomic import write_bytes_atomic
from tts.text import hangul

if TYPE_CHECKING:
    import torch
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SymbolKind = Literal["onset", "vowel", "coda", "other"]


class PlotUnavailableError(RuntimeError):
    """matplotlib is not installed (a slim install): alignment plots cannot be drawn."""

    def __init__(self) -> None:
        super().__init__("attention alignment plots need matplotlib, which is not installed: "
                         "pip install 'sori[plot]' (or matplotlib)")


def require_matplotlib() -> None:
    """PlotUnavailableError unless matplotlib is installed, checked without importing it (a server
    asks before it synthesises, and draws in another process)."""
    if importlib.util.find_spec("matplotlib") is None:
        raise PlotUnavailableError()


def _matplotlib() -> None:
    """PlotUnavailableError unless matplotlib can be imported (imported here, on first use)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise PlotUnavailableError() from error


class PlotError(ValueError):
    """The alignments, labels and titles given to `plot_alignment` do not fit together."""


PREFERRED_HANGUL_FONTS = ("NanumGothic", "NanumBarunGothic", "Noto Sans CJK KR", "Noto Sans KR")
"""Font families tried first; any other installed family that covers conjoining jamo also works."""

FALLBACK_FAMILY = "DejaVu Sans"
"""Matplotlib's bundled font, used for everything the Hangul font lacks (and for romanised text)."""

# Modern conjoining jamo in code-point order: onsets U+1100.., vowels U+1161.., codas U+11A8...
_ONSETS = ("g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k",
           "t", "p", "h")
_VOWELS = ("a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u",
           "wo", "we", "wi", "yu", "eu", "ui", "i")
_CODAS = ("k", "kk", "ks", "n", "nj", "nh", "t", "l", "lk", "lm", "lb", "ls", "lt", "lp", "lh",
          "m", "p", "ps", "s", "ss", "ng", "j", "ch", "kh", "th", "ph", "h")
_SILENT_ONSET = "∅"
_COVERAGE_PROBE = (0x1100, 0x1112, 0x1161, 0x1175, 0x11A8, 0x11C2)

KIND_COLOURS: dict[SymbolKind, str] = {
    "onset": "#1f4e9c",
    "vowel": "#1a1a1a",
    "coda": "#b0301f",
    "other": "#6b6b6b",
}


def find_hangul_font() -> str | None:
    """Family name of an installed font that draws conjoining jamo, or None if there is none."""
    _matplotlib()
    from matplotlib import font_manager, ft2font

    entries = sorted(
        font_manager.fontManager.ttflist,
        key=lambda entry: (
            PREFERRED_HANGUL_FONTS.index(entry.name)
            if entry.name in PREFERRED_HANGUL_FONTS
            else len(PREFERRED_HANGUL_FONTS),
            entry.weight != 400,
            entry.name,
        ),
    )
    for entry in entries:
        try:
            charmap = ft2font.FT2Font(entry.fname).get_charmap()
        except (OSError, RuntimeError, ValueError):
            continue
        if all(code in charmap for code in _COVERAGE_PROBE):
            return entry.name
    return None


def symbol_kind(label: str) -> SymbolKind:
    """Whether a symbol label is a conjoining onset, vowel or coda jamo, or something else."""
    if len(label) != 1:
        return "other"
    code = ord(label)
    if 0x1100 <= code <= 0x115F or 0xA960 <= code <= 0xA97F:
        return "onset"
    if 0x1160 <= code <= 0x11A7 or 0xD7B0 <= code <= 0xD7C6:
        return "vowel"
    if 0x11A8 <= code <= 0x11FF or 0xD7CB <= code <= 0xD7FB:
        return "coda"
    return "other"


def romanize_jamo(label: str) -> str:
    """A romanised symbol label: onsets end in '-' ("g-"), codas start with '-' ("-k")."""
    kind = symbol_kind(label)
    if kind == "other":
        return romanize_text(label)
    name = _jamo_roman(label)
    if kind == "onset":
        return f"{name or _SILENT_ONSET}-"
    if kind == "coda":
        return f"-{name}"
    return name


def romanize_text(text: str) -> str:
    """Text with every Hangul syllable or jamo romanised letter by letter; the rest unchanged."""
    pieces = []
    for char in text:
        if hangul.is_syllable(char):
            onset, nucleus, coda = hangul.decompose(char)
            pieces.append(_ONSETS[onset] + _VOWELS[nucleus])
            if coda:
                pieces.append(_CODAS[coda - 1])
        elif _is_hangul(char):
            pieces.append(_jamo_roman(char))
        else:
            pieces.append(char)
    return "".join(pieces)


def display_labels(labels: Sequence[str], hangul_font: bool) -> list[str]:
    """What each symbol is drawn as: itself with a Hangul font, romanised without; spaces as '␣'."""
    shown = []
    for label in labels:
        if label.isspace():
            shown.append("␣")
        elif hangul_font:
            shown.append(label)
        else:
            shown.append(romanize_jamo(label))
    return shown


def plot_alignment(
    alignments: Sequence[np.ndarray | torch.Tensor],
    symbol_labels: Sequence[Sequence[str]],
    titles: Sequence[str],
    path: str | os.PathLike[str] | None = None,
) -> bytes:
    """PNG of each sentence's attention weights [T_steps, T_text], one panel per sentence.

    Decoder steps run along x, input symbols (labelled) along y, weights on a fixed 0-1 colour
    scale so panels compare. Returns the PNG bytes, also written atomically to path if given.
    """
    if not len(alignments) == len(symbol_labels) == len(titles):
        raise PlotError(
            f"got {len(alignments)} alignments, {len(symbol_labels)} label lists and "
            f"{len(titles)} titles; need one of each per sentence"
        )
    if not alignments:
        raise PlotError("nothing to plot: no alignments given")
    matrices = [_as_matrix(weights, index) for index, weights in enumerate(alignments)]
    for index, (matrix, labels) in enumerate(zip(matrices, symbol_labels, strict=True)):
        if matrix.shape[1] != len(labels):
            raise PlotError(
                f"sentence {index}: alignment has {matrix.shape[1]} input symbols "
                f"but {len(labels)} labels were given"
            )

    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    hangul_family = find_hangul_font()
    families = [hangul_family, FALLBACK_FAMILY] if hangul_family else [FALLBACK_FAMILY]
    heights = [min(20.0, max(2.6, 0.13 * matrix.shape[1] + 1.4)) for matrix in matrices]
    width = min(20.0, max(7.0, 0.035 * max(matrix.shape[0] for matrix in matrices) + 3.0))
    figure = Figure(figsize=(width, sum(heights) + 0.4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(matrices), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, matrix, labels, title, height in zip(
        axes, matrices, symbol_labels, titles, heights, strict=True
    ):
        _draw_panel(ax, figure, matrix, list(labels), title, height, families, hangul_family)
    figure.supxlabel(
        "symbol colours: onset (blue) · vowel (black) · coda (red) · other (grey)",
        fontsize=8,
        color=KIND_COLOURS["other"],
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    png = buffer.getvalue()
    if path is not None:
        write_bytes_atomic(Path(path), png)
    return png


def _draw_panel(
    ax: Axes,
    figure: Figure,
    matrix: np.ndarray,
    labels: list[str],
    title: str,
    height_inches: float,
    families: list[str],
    hangul_family: str | None,
) -> None:
    """One sentence: heat map of weights [T_steps, T_text] with labelled symbols and a colorbar."""
    from matplotlib.font_manager import FontProperties

    image = ax.imshow(
        matrix.T, aspect="auto", origin="lower", interpolation="none",
        cmap="viridis", vmin=0.0, vmax=1.0,
    )
    n_symbols = len(labels)
    rows_that_fit = max(1, int(height_inches * 72 / 9))  # one 7-pt label per 9 points
    step = max(1, math.ceil(n_symbols / rows_that_fit))
    positions = list(range(0, n_symbols, step))
    shown = display_labels(labels, hangul_font=hangul_family is not None)
    # Conjoining jamo glyphs are drawn at about half the em (sized to stack into a syllable), so
    # they get a larger size than romanised labels to read at the same height.
    label_font = FontProperties(family=families, size=11 if hangul_family else 7)
    ax.set_yticks(positions)
    tick_labels = ax.set_yticklabels(
        [shown[i] for i in positions], fontproperties=label_font
    )
    for text, index in zip(tick_labels, positions, strict=True):
        text.set_color(KIND_COLOURS[symbol_kind(labels[index])])
    ax.set_xlabel("decoder step")
    ax.set_ylabel("input symbol")
    shown_title = title if hangul_family else romanize_text(title)
    ax.set_title(
        shown_title, fontproperties=FontProperties(family=families, size=10), loc="left"
    )
    figure.colorbar(image, ax=ax, label="attention weight", fraction=0.04, pad=0.01)


def _as_matrix(weights: np.ndarray | torch.Tensor, index: int) -> np.ndarray:
    """A finite 2-D float array [T_steps, T_text] from a tensor or array, or a PlotError."""
    if hasattr(weights, "detach"):  # a torch tensor (torch is not imported: a slim install has none)
        array = weights.detach().cpu().float().numpy()
    else:
        array = np.asarray(weights, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise PlotError(
            f"sentence {index}: alignment must be a non-empty [T_steps, T_text] matrix, "
            f"got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise PlotError(f"sentence {index}: alignment contains NaN or infinite values")
    return array


def _jamo_roman(char: str) -> str:
    """Romanisation of one modern conjoining jamo, or its Unicode short name for any other."""
    code = ord(char)
    bases = (hangul.ONSET_FIRST, hangul.NUCLEUS_FIRST, hangul.CODA_FIRST)
    for base, table in zip(bases, (_ONSETS, _VOWELS, _CODAS), strict=True):
        if base <= code < base + len(table):
            return table[code - base]
    name = unicodedata.name(char, "")
    return name.split()[-1].lower() if name else f"U+{code:04X}"


def _is_hangul(char: str) -> bool:
    """Whether a character is a Hangul jamo of any block (conjoining, compatibility, extended)."""
    code = ord(char)
    return (
        0x1100 <= code <= 0x11FF
        or 0x3130 <= code <= 0x318F
        or 0xA960 <= code <= 0xA97F
        or 0xD7B0 <= code <= 0xD7FF
    )
