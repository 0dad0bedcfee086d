"""Phonetic coverage: how often every onset, nucleus and coda jamo occurs in a set of texts.

A voice can only say what its corpus taught it, so the corpus writer refuses a corpus in which any
jamo of the symbol table occurs fewer than `min_count` times. Counts are taken on the spelling
(the expanded script, what the transcript holds) and, when given, on g2pk's pronunciation; only the
spelling is enforced, because pronunciation rules turn some codas (ㄽ, ㄾ …) into others, so they
can never appear there however large the corpus.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from tts.text import hangul
from tts.text.symbols import CODAS, NUCLEI, ONSETS, text_to_symbols

DEFAULT_MIN_COUNT = 20
"""The fewest occurrences of each jamo a full corpus must have."""

GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"onsets": ONSETS, "nuclei": NUCLEI, "codas": CODAS}
)
"""The jamo of the symbol table by position in the syllable."""


def jamo_label(jamo: str) -> str:
    """A readable name for a conjoining jamo: its compatibility letter and position (ㄱ- / -ㄱ)."""
    if jamo in ONSETS:
        return f"{hangul.COMPAT_ONSETS[ONSETS.index(jamo)]}-"
    if jamo in NUCLEI:
        return hangul.COMPAT_NUCLEI[NUCLEI.index(jamo)]
    return f"-{hangul.COMPAT_CODAS[CODAS.index(jamo)]}"


@dataclass(frozen=True)
class Coverage:
    """Counts of every table jamo (zeros included) over some texts."""

    counts: Mapping[str, int]
    """Conjoining jamo → occurrences; every onset, nucleus and coda of the table is a key."""

    @classmethod
    def of(cls, texts: Iterable[str]) -> Coverage:
        """Count the jamo of texts as the frontend spells them into symbols."""
        counter: Counter[str] = Counter()
        for text in texts:
            symbols, _ = text_to_symbols(text)
            counter.update(symbols)
        return cls({jamo: counter[jamo] for group in GROUPS.values() for jamo in group})

    @property
    def minimum(self) -> int:
        """The count of the rarest jamo."""
        return min(self.counts.values())

    def under(self, min_count: int) -> list[str]:
        """The jamo seen fewer than min_count times, rarest first (table order among equals)."""
        order = list(self.counts)
        rare = [jamo for jamo, count in self.counts.items() if count < min_count]
        return sorted(rare, key=lambda jamo: (self.counts[jamo], order.index(jamo)))

    def describe_under(self, min_count: int) -> str:
        """The under-covered jamo as "ㄽ coda ×3, ㅒ ×12" for messages."""
        return ", ".join(
            f"{jamo_label(jamo)} ×{self.counts[jamo]}" for jamo in self.under(min_count)
        )

    def to_dict(self) -> dict[str, dict[str, int]]:
        """Counts grouped as {"onsets": {"ㄱ-": n, ...}, "nuclei": {...}, "codas": {...}}."""
        return {
            group: {jamo_label(jamo): self.counts[jamo] for jamo in jamo_set}
            for group, jamo_set in GROUPS.items()
        }


@dataclass(frozen=True)
class CoverageReport:
    """The coverage of a corpus, what it was checked against, and whether the check was enforced."""

    spelling: Coverage
    pronounced: Coverage | None
    min_count: int
    enforced: bool
    utterances: int

    @property
    def passed(self) -> bool:
        """Whether every jamo of the spelling reaches min_count."""
        return not self.spelling.under(self.min_count)

    def to_json(self) -> str:
        """coverage_report.json: counts, minimum, under-covered jamo, enforcement."""
        data = {
            "utterances": self.utterances,
            "min_count": self.min_count,
            "enforced": self.enforced,
            "passed": self.passed,
            "spelling": _section(self.spelling, self.min_count),
            "pronounced": _section(self.pronounced, self.min_count) if self.pronounced else None,
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    def to_markdown(self) -> str:
        """coverage_report.md: the same numbers as a short table for people."""
        status = "passed" if self.passed else "FAILED"
        enforcement = "enforced" if self.enforced else "reported only (--limit corpus)"
        lines = [
            "# Phonetic coverage",
            "",
            f"{self.utterances} utterances. Every jamo must occur at least {self.min_count} times "
            f"in the spelling: **{status}** ({enforcement}).",
            "",
        ]
        for name, coverage in (("spelling", self.spelling), ("pronounced (g2pk)", self.pronounced)):
            if coverage is None:
                continue
            lines += [f"## {name}: minimum {coverage.minimum}", ""]
            under = coverage.describe_under(self.min_count)
            lines += [f"Under {self.min_count}: {under or 'none'}", ""]
            for group, counts in coverage.to_dict().items():
                cells = " · ".join(f"{label} {count}" for label, count in counts.items())
                lines += [f"- {group}: {cells}"]
            lines.append("")
        return "\n".join(lines)


def _section(coverage: Coverage, min_count: int) -> dict[str, object]:
    return {
        "minimum": coverage.minimum,
        "under_min_count": [jamo_label(jamo) for jamo in coverage.under(min_count)],
        "counts": coverage.to_dict(),
    }
