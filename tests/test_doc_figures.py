"""The speed figures the docs quote are the results files' figures: every "N×" ratio and every
requests-per-second figure in the README and the docs that quote benchmarks appears in one of the
committed results files, bench/*RESULTS.md (as the same number, or the same number followed by "x")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = tuple(sorted(str(path.relative_to(ROOT)) for path in (ROOT / "bench").glob("*RESULTS.md")))
DOCS = ("docs/performance.md", "docs/deploy.md", "docs/small-machines.md", "README.md")

RATIO = re.compile(r"(?<![\d.,])(\d[\d,]*(?:\.\d+)?)×")
RATE = re.compile(r"(?<![\d.,])(\d[\d,]*(?:\.\d+)?) requests/s")


def quoted(text: str) -> set[str]:
    """Every ratio (N×) and request rate (N requests/s) quoted in a doc."""
    return set(RATIO.findall(text)) | set(RATE.findall(text))


def in_results(figure: str, results: str) -> bool:
    """Whether the results hold the figure as a number of its own ("2.17", "2.17x", "1,670x")."""
    return re.search(rf"(?<![\d.,]){re.escape(figure)}(?![\d]|\.\d)", results) is not None


@pytest.mark.parametrize("doc", DOCS)
def test_quoted_figures_are_in_the_results_files(doc: str) -> None:
    results = "\n".join((ROOT / name).read_text(encoding="utf-8") for name in RESULTS)
    figures = quoted((ROOT / doc).read_text(encoding="utf-8"))
    assert figures, f"{doc} quotes no figures: the pattern is broken"
    missing = sorted(figure for figure in figures if not in_results(figure, results))
    assert not missing, f"{doc} quotes figures that no results file has: {missing}"


def test_the_check_catches_a_figure_that_is_not_there() -> None:
    results = "| 16 | 64 | 18.90 | 2.17x |"
    assert quoted("18.90 requests/s, 2.17× and 22.2 at 16 = 2.27×") == {"18.90", "2.17", "2.27"}
    assert in_results("2.17", results) and in_results("18.90", results)
    assert not in_results("2.27", results) and not in_results("18.9", results)
