"""The Korean text frontend: text → normalised Hangul → pronunciation → jamo symbols → ids.

Use `text_to_ids` (one entry point, every stage in the result); `normalize_text` gives the
read-out stage alone and `spoken_last_syllable` the sound a word ends in as read (what Korean
particles agree with). The symbol table is frozen and versioned and travels with every voice.
"""

from tts.text.config import TextConfig
from tts.text.frontend import (
    FrontendError,
    FrontendResult,
    normalize_text,
    spoken_last_syllable,
    text_to_ids,
)
from tts.text.symbols import SymbolError, SymbolTable, default_symbol_table

__all__ = [
    "FrontendError",
    "FrontendResult",
    "SymbolError",
    "SymbolTable",
    "TextConfig",
    "default_symbol_table",
    "normalize_text",
    "spoken_last_syllable",
    "text_to_ids",
]
