"""Split long Korean text into sentences, so each decodes with a short, healthy attention span.

Splits after sentence-final punctuation (. ? ! … and their full-width forms); a sentence still
longer than `max_chars` is cut at the last comma or space before the limit.
"""

from __future__ import annotations

import re

_FINAL_MARKS = r".?!…。？！"
_CLOSERS = r"\"'”’)\]"
_SENTENCE_END = re.compile(rf"(?<=[{_FINAL_MARKS}])[{_CLOSERS}]*\s+")
_TRAILING_CLOSERS = re.compile(rf"(?<=[{_FINAL_MARKS}])[{_CLOSERS}]+\Z")
"""Closing quotes or brackets ending a text after final punctuation: a break once a space follows."""
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


def complete_sentences(text: str, max_chars: int = 100) -> tuple[list[str], str]:
    """Growing text (a reply arriving in pieces) -> (its sentences already complete, the rest).

    A sentence is complete once its final punctuation is followed by a space, or once the text
    after it is long enough that it would be cut at `max_chars` anyway. Whatever pieces the text
    arrives in, the sentences returned along the way followed by `split_sentences(rest)` at its
    end are exactly `split_sentences` of the whole text; `rest` keeps its trailing whitespace so
    the next piece joins it as it was written.
    """
    breaks = list(_SENTENCE_END.finditer(text))
    undecided = bool(breaks) and breaks[-1].end() == len(text) and bool(breaks[-1].group().strip())
    if undecided:
        # A closing quote or bracket before the final space: splitting drops it if more text
        # follows and keeps it if the text ends here, so the sentence before it is not final yet.
        breaks.pop()
    last = breaks[-1] if breaks else None
    # Split before the last break, not after it: the break's closing quote is not the sentence's.
    sentences = split_sentences(text[: last.start()], max_chars) if last else []
    rest = text[last.end() :] if last else text
    # Heads cut off an over-long piece are final: each cut looks only at the next max_chars, which
    # are there already. Closers at the very end are left out, as a space after them would make
    # them a break (and take them off the sentence).
    closers = _TRAILING_CLOSERS.search(rest)
    head_source = rest[: closers.start()] if closers else rest
    pieces = [] if undecided else split_sentences(head_source, max_chars)
    if len(pieces) > 1:
        sentences.extend(pieces[:-1])
        rest = rest[head_source.rfind(pieces[-1]) :]
    return sentences, rest
