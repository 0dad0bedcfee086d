"""The one entry point of the Korean frontend: text in, symbol ids out, every stage kept.

normalise (NFC, widths, punctuation) → read out (numbers, units, English … in Hangul) →
pronounce (g2pk, optional) → symbols (conjoining jamo) → ids (+ EOS). Training, serving and
`sori g2p` all call `text_to_ids`, so they cannot disagree about what a sentence becomes.
"""

from __future__ import annotations

from dataclasses import dataclass

from tts.text import hangul
from tts.text.config import TextConfig
from tts.text.normalize import normalize
from tts.text.pronounce import pronounce
from tts.text.readout import read_out
from tts.text.symbols import PUNCTUATION, SymbolTable, default_symbol_table, text_to_symbols

_SILENT_SYMBOLS = frozenset({" ", *PUNCTUATION})
"""Symbols that shape prosody but say nothing; a sentence of only these is unspeakable."""


DEFAULT_TEXT_CONFIG = TextConfig()
"""The config `text_to_ids` uses when none is given (g2pk on)."""


class FrontendError(ValueError):
    """Text the frontend cannot turn into speech: empty, or nothing speakable left."""


@dataclass(frozen=True)
class FrontendResult:
    """Every stage of one sentence through the frontend."""

    normalized: str
    """After normalisation and read-out: Hangul, spaces and prosody punctuation only."""
    pronounced: str
    """After g2pk (linking, tensification, nasalisation); equals `normalized` without g2p."""
    symbols: tuple[str, ...]
    """The symbol strings of `pronounced`, without EOS."""
    ids: tuple[int, ...]
    """The ids of `symbols` in the table, followed by EOS."""
    dropped: tuple[str, ...]
    """Characters that could not be spoken and were removed, once each, in order."""


def normalize_text(text: str) -> tuple[str, tuple[str, ...]]:
    """The normalisation and read-out stages only: speakable Hangul plus what was dropped."""
    if not isinstance(text, str):
        raise FrontendError(f"text must be a string, got {type(text).__name__}")
    return read_out(normalize(text))


def spoken_last_syllable(text: str) -> str | None:
    """The last Hangul syllable said when the frontend reads `text`, or None when it ends otherwise.

    iPhone → 폰, 3kg → 램, 5L → 터, TV → 이. Grammar that depends on the sound before it (the
    particles 을/를, 이/가 …) asks this instead of guessing, so the writing agrees with the voice.
    """
    normalized, _ = normalize_text(text)
    for char in reversed(normalized):
        if hangul.is_syllable(char):
            return char
        if char not in _SILENT_SYMBOLS:
            return None
    return None


def _describe(dropped: tuple[str, ...]) -> str:
    """The dropped characters as a short readable list for error messages."""
    shown = " ".join(f"{char!r}" for char in dropped[:10])
    more = f" and {len(dropped) - 10} more" if len(dropped) > 10 else ""
    return shown + more


def text_to_ids(
    text: str, config: TextConfig = DEFAULT_TEXT_CONFIG, table: SymbolTable | None = None
) -> FrontendResult:
    """Turn text into symbol ids, keeping every stage; FrontendError when nothing can be spoken.

    `table` defaults to the current symbol table; pass a voice's saved table to encode for it. A
    symbol the table lacks is reported in `dropped`, never encoded as something else.
    """
    table = table or default_symbol_table()
    if not isinstance(text, str):
        raise FrontendError(f"text must be a string, got {type(text).__name__}")
    if not text.strip():
        raise FrontendError("text is empty: there is nothing to say")
    normalized, dropped = normalize_text(text)
    pronounced = pronounce(normalized) if config.use_g2p else normalized
    spelled, unknown = text_to_symbols(pronounced)
    known = frozenset(table.symbols)
    symbols = tuple(symbol for symbol in spelled if symbol in known)
    lost = dict.fromkeys([*dropped, *unknown, *(s for s in spelled if s not in known)])
    dropped = tuple(lost)
    if all(symbol in _SILENT_SYMBOLS for symbol in symbols):
        detail = f"; dropped: {_describe(dropped)}" if dropped else ""
        raise FrontendError(f"nothing speakable in {text[:50]!r}{detail}")
    ids = (*table.encode(symbols), table.eos_id)
    return FrontendResult(normalized, pronounced, symbols, ids, dropped)
