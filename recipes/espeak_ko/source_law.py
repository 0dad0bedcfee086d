"""Sentences from the Korean constitution shipped with konlpy (public domain, read as plain text).

The file is read directly (no Java, no konlpy import): article numbers and circled clause numbers
are stripped, the text is split into sentences, and sentences longer than the corpus allows are cut
at clause commas into pieces that still read naturally.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

from recipes.espeak_ko.errors import SentenceSourceError

LAW_DIR = ("data", "corpus", "kolaw")
"""Where konlpy keeps its law texts, relative to the konlpy package directory."""

_ARTICLE = re.compile(r"^제\d+조(의\d+)?\s*")
_CLAUSE_MARK = re.compile(r"[①-⑳]\s*")
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_SKIP_LINE = re.compile(r"[<>]|부칙보기|펼침")
"""Editorial lines of the source (amendment notes, web navigation words) that are not law text."""


def law_directory() -> Path:
    """konlpy's kolaw directory; SentenceSourceError when konlpy or its data is missing."""
    spec = importlib.util.find_spec("konlpy")
    if spec is None or not spec.submodule_search_locations:
        raise SentenceSourceError("konlpy is not installed; it ships the Korean law texts")
    directory = Path(next(iter(spec.submodule_search_locations))).joinpath(*LAW_DIR)
    if not directory.is_dir() or not any(directory.glob("*.txt")):
        raise SentenceSourceError(f"konlpy's law texts are missing: no *.txt in {directory}")
    return directory


def _pieces(sentence: str, max_chars: int) -> Iterator[str]:
    """The sentence itself when short enough, else runs of its comma clauses up to max_chars."""
    if len(sentence) <= max_chars:
        yield sentence
        return
    current = ""
    for clause in sentence.split(", "):
        candidate = f"{current}, {clause}" if current else clause
        if len(candidate) <= max_chars:
            current = candidate
            continue
        if current:
            yield current.rstrip(",")
        current = clause
    if current:
        yield current.rstrip(",")


def law_sentences(max_chars: int, directory: Path | None = None) -> list[str]:
    """Every cleaned sentence (or clause run) of the law texts, in file and text order."""
    directory = directory or law_directory()
    sentences: list[str] = []
    for path in sorted(directory.glob("*.txt")):
        for raw_line in path.read_text(encoding="utf-8").splitlines():
            line = raw_line.strip()
            if not line or _SKIP_LINE.search(line):
                continue
            line = _CLAUSE_MARK.sub("", _ARTICLE.sub("", line)).strip()
            for sentence in _SENTENCE_END.split(line):
                sentences.extend(piece.strip() for piece in _pieces(sentence.strip(), max_chars))
    return [sentence for sentence in sentences if sentence]
