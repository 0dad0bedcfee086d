"""The frozen, versioned symbol table and the mapping between Hangul text and its symbols.

Hangul is written as conjoining jamo with onset and coda kept apart (ᄀ onset U+1100 is not ᆨ coda
U+11A8): they sound different, and the model should not have to learn that from context. The
table travels inside every voice's config.json, so an id never changes meaning; a new symbol means
a new version, never an edit of an old one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from operator import index
from types import MappingProxyType

from tts.config_io import ConfigError, JsonConfig
from tts.text import hangul

PAD = "<pad>"
"""Padding symbol, always id 0 so zero-filled batches are padding."""
EOS = "<eos>"
"""End-of-sentence symbol, always id 1."""
SPACE = " "
PUNCTUATION = ".,?!…"
"""The punctuation that shapes prosody (falls, pauses, questions); everything else is read out."""

ONSETS = tuple(hangul.onset_char(i) for i in range(hangul.N_ONSETS))
NUCLEI = tuple(hangul.nucleus_char(i) for i in range(hangul.N_NUCLEI))
CODAS = tuple(hangul.coda_char(i) for i in range(1, hangul.N_CODAS))

_VERSION_1 = (PAD, EOS, SPACE, *PUNCTUATION, *ONSETS, *NUCLEI, *CODAS)
_TABLES = MappingProxyType({1: _VERSION_1})
"""Every table Sori has ever shipped, by version; entries are only ever added."""
CURRENT_VERSION = 1
_CURRENT = frozenset(_TABLES[CURRENT_VERSION])

_COMPAT_TO_SYMBOL = MappingProxyType(
    {
        **{letter: hangul.coda_char(i + 1) for i, letter in enumerate(hangul.COMPAT_CODAS)},
        **{letter: hangul.onset_char(i) for i, letter in enumerate(hangul.COMPAT_ONSETS)},
        **{letter: hangul.nucleus_char(i) for i, letter in enumerate(hangul.COMPAT_NUCLEI)},
    }
)
"""A standalone letter (ㄱ, ㅏ, ㄳ) as the jamo it spells: onset where one exists, else coda."""


class SymbolError(ValueError):
    """A symbol or id that does not fit the table (a malformed table is a ConfigError)."""


@dataclass(frozen=True)
class SymbolTable(JsonConfig):
    """An ordered, immutable vocabulary: a symbol's id is its position in `symbols`.

    Saved in a voice's config.json by `to_dict` / `from_dict` (tts.config_io's rules) as
    `{"version": ..., "symbols": [...]}`; a table that claims a published version must be it.
    """

    version: int
    """Which published table this is; saved with the voice so a mismatch is caught at load."""
    symbols: tuple[str, ...]
    """Every symbol, PAD first and EOS second."""
    _ids: Mapping[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _check_symbols(self.symbols)
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ConfigError(
                f"symbol table version must be a positive integer, got {self.version!r}"
            )
        known = _TABLES.get(self.version)
        if known is not None and self.symbols != known:
            raise ConfigError(
                f"symbol table claims version {self.version} but differs from it: "
                f"{_first_difference(self.symbols, known)}"
            )
        ids = MappingProxyType({symbol: i for i, symbol in enumerate(self.symbols)})
        object.__setattr__(self, "_ids", ids)

    def __len__(self) -> int:
        return len(self.symbols)

    @property
    def pad_id(self) -> int:
        """The id of PAD (0)."""
        return self._ids[PAD]

    @property
    def eos_id(self) -> int:
        """The id of EOS (1)."""
        return self._ids[EOS]

    def id_of(self, symbol: str) -> int:
        """The id of one symbol; SymbolError naming it when the table lacks it."""
        try:
            return self._ids[symbol]
        except (KeyError, TypeError):
            raise SymbolError(f"symbol {symbol!r} is not in symbol table v{self.version}") from None

    def encode(self, symbols: Sequence[str]) -> list[int]:
        """The ids of a symbol sequence; SymbolError naming the first unknown symbol."""
        ids = []
        for position, symbol in enumerate(symbols):
            try:
                ids.append(self._ids[symbol])
            except (KeyError, TypeError):
                raise SymbolError(
                    f"symbol {symbol!r} at position {position} is not in symbol table "
                    f"v{self.version}"
                ) from None
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The symbols of an id sequence; SymbolError naming the first id out of range."""
        symbols = []
        for position, raw in enumerate(ids):
            try:
                i = index(raw)
            except TypeError:
                raise SymbolError(f"id {raw!r} at position {position} is not an integer") from None
            if not 0 <= i < len(self.symbols):
                raise SymbolError(
                    f"id {i} at position {position} is outside symbol table v{self.version} "
                    f"(0..{len(self.symbols) - 1})"
                )
            symbols.append(self.symbols[i])
        return symbols


def _check_symbols(symbols: object) -> None:
    """Raise ConfigError unless symbols is a tuple of distinct non-empty strings, PAD then EOS."""
    if not isinstance(symbols, tuple):
        raise ConfigError(f"symbols must be a tuple, got {type(symbols).__name__}")
    for i, symbol in enumerate(symbols):
        if not isinstance(symbol, str) or not symbol:
            raise ConfigError(f"symbol at id {i} must be a non-empty string, got {symbol!r}")
    if symbols[:2] != (PAD, EOS):
        raise ConfigError(f"symbol table must start with {PAD!r}, {EOS!r}; got {symbols[:2]!r}")
    seen: dict[str, int] = {}
    for i, symbol in enumerate(symbols):
        if symbol in seen:
            raise ConfigError(f"symbol {symbol!r} appears twice, at ids {seen[symbol]} and {i}")
        seen[symbol] = i


def _first_difference(got: tuple[str, ...], expected: tuple[str, ...]) -> str:
    """Describe where two symbol tuples first disagree."""
    for i, (a, b) in enumerate(zip(got, expected, strict=False)):
        if a != b:
            return f"id {i} is {a!r}, expected {b!r}"
    return f"it has {len(got)} symbols, expected {len(expected)}"


def spoken_length(symbols: Sequence[str]) -> int:
    """Symbols up to and including the last one with sound (not PAD, EOS, space or punctuation)."""
    silent = {PAD, EOS, SPACE, *PUNCTUATION}
    for position in range(len(symbols) - 1, -1, -1):
        if symbols[position] not in silent:
            return position + 1
    return 0


@cache
def default_symbol_table() -> SymbolTable:
    """The current table: PAD, EOS, space, punctuation, 19 onsets, 21 nuclei, 27 codas."""
    return SymbolTable(symbols=_TABLES[CURRENT_VERSION], version=CURRENT_VERSION)


def text_to_symbols(text: str) -> tuple[list[str], list[str]]:
    """Hangul text as symbols, plus every character that has no symbol (in order, for reporting).

    Syllables become conjoining jamo; standalone letters (ㄱ, ㅏ) their jamo; runs of whitespace one
    space, none at the ends; punctuation from PUNCTUATION is kept. Nothing is dropped silently:
    each character without a symbol appears in the second list.
    """
    symbols: list[str] = []
    unknown: list[str] = []
    pending_space = False
    for char in text:
        if char.isspace():
            pending_space = True
            continue
        if hangul.is_syllable(char):
            onset, nucleus, coda = hangul.decompose(char)
            spelled = [hangul.onset_char(onset), hangul.nucleus_char(nucleus)]
            if coda:
                spelled.append(hangul.coda_char(coda))
        elif char in _COMPAT_TO_SYMBOL:
            spelled = [_COMPAT_TO_SYMBOL[char]]
        elif char in _CURRENT and char not in (PAD, EOS, SPACE):
            spelled = [char]
        else:
            unknown.append(char)
            continue
        if pending_space and symbols:
            symbols.append(SPACE)
        pending_space = False
        symbols.extend(spelled)
    return symbols, unknown


def symbols_to_text(symbols: Iterable[str]) -> str:
    """Text from symbols, recomposing onset + nucleus (+ coda) into syllables; PAD/EOS are skipped.

    A jamo that does not form a syllable comes back as its standalone letter (ᄀ alone → ㄱ).
    """
    items = [s for s in symbols if s not in (PAD, EOS)]
    for symbol in items:
        if symbol not in _CURRENT:
            raise SymbolError(f"symbol {symbol!r} is not in symbol table v{CURRENT_VERSION}")
    out: list[str] = []
    i = 0
    while i < len(items):
        symbol = items[i]
        nucleus = items[i + 1] if i + 1 < len(items) else ""
        if symbol in ONSETS and nucleus in NUCLEI:
            coda = items[i + 2] if i + 2 < len(items) else ""
            has_coda = coda in CODAS
            jamo = hangul.Jamo(
                ONSETS.index(symbol),
                NUCLEI.index(nucleus),
                CODAS.index(coda) + 1 if has_coda else 0,
            )
            out.append(hangul.compose(jamo))
            i += 3 if has_coda else 2
            continue
        out.append(_standalone(symbol))
        i += 1
    return "".join(out)


def _standalone(symbol: str) -> str:
    """A single symbol as text: jamo as their compatibility letter, the rest as themselves."""
    if symbol in ONSETS:
        return hangul.COMPAT_ONSETS[ONSETS.index(symbol)]
    if symbol in NUCLEI:
        return hangul.COMPAT_NUCLEI[NUCLEI.index(symbol)]
    if symbol in CODAS:
        return hangul.COMPAT_CODAS[CODAS.index(symbol)]
    return symbol
