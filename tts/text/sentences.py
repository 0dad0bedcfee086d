"""Split long Korean text into sentences, so each decodes with a short, healthy attention span.

Splits after sentence-final punctuation (. ? ! … and their full-width forms); a sentence still
longer than `max_chars` is cut at the last comma or space before the limit.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.?!…。？！])[\"'”’)\]]*\s+")
_SOFT_BREAKS = (",", "，", "、", ";", ":", " ")


def split_sentences(text: str, max_chars: int = 100) -> list[str]:
    """Text -> non-empty sentences, each at most `max_chars` characters where a break exists."""
    if max_chars < 10:
        raise ValueError(f"max_chars must be at least 10, got {max_chars}")
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(text.strip()):
        piece = piece.strip()
        while len(piece) > max_chars:
            cut = _break_point(piece, max_chars)
            head, piece = piece[:cut].strip(), piece[cut:].strip()
            if head:
                sentences.append(head)
        if piece:
            sentences.append(piece)
    return sentences


def _break_point(text: str, max_chars: int) -> int:
    """Index just after the best soft break at or before max_chars (a hard cut if none)."""
    window = text[: max_chars + 1]
    for marks in (_SOFT_BREAKS[:-1], _SOFT_BREAKS[-1:]):
        best = max(window.rfind(mark) for mark in marks)
        if best >= max_chars // 3:
            return best + 1
    return max_chars
