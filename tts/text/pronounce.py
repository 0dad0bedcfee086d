"""Korean pronunciation with g2pk: linking (연음), tensification (경음화), nasalisation (비음화).

g2pk is imported lazily and only after its CMU dictionary is on NLTK's path: at import it calls
`nltk.download` when the corpus is missing, and Sori must never touch the network. Only runs of
Hangul, whitespace and prosody punctuation reach g2pk; anything else (Latin, digits, %, ·) is passed
through untouched, because g2pk would read it its own way and the frontend's readout and `dropped`
report must stay the one place that decides what such characters become.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Protocol

from tts.text import hangul
from tts.text.cmudict_data import CORPUS_ZIP, ensure_nltk_cmudict
from tts.text.symbols import PUNCTUATION


class PronounceError(RuntimeError):
    """g2pk or its offline data could not be set up."""


class _G2p(Protocol):
    def __call__(self, string: str) -> str: ...


class _Converter:
    """g2pk behind a lock: neither g2pk nor its shared MeCab tagger promises thread safety."""

    def __init__(self, g2p: _G2p) -> None:
        self._g2p = g2p
        self._lock = threading.Lock()

    def __call__(self, text: str) -> str:
        with self._lock:
            return self._g2p(text)


_SPEAKABLE = re.compile(
    "([\uac00-\ud7a3\u3131-\u3163\u1100-\u11ff\\s" + re.escape(PUNCTUATION) + "]+)"
)
"""Runs that g2pk may see: syllables, jamo, whitespace and prosody punctuation."""


_BUILD_LOCK = threading.Lock()
"""Serialises the first build: concurrent first imports of NLTK's corpus reader are not safe."""


def _converter() -> _Converter:
    """The g2pk converter, built once per process (it loads MeCab and the CMU dictionary)."""
    with _BUILD_LOCK:
        return _build_converter()


@cache
def _build_converter() -> _Converter:
    """Build the converter; call only through `_converter`, which holds the lock."""
    nltk_dir = ensure_nltk_cmudict()
    import nltk

    if str(nltk_dir) not in nltk.data.path:
        nltk.data.path.insert(0, str(nltk_dir))
    try:
        nltk.data.find(CORPUS_ZIP)
    except LookupError as error:
        raise PronounceError(
            f"the offline CMU dictionary is not visible to NLTK at {nltk_dir / CORPUS_ZIP}; "
            "importing g2pk now would try to download it"
        ) from error
    try:
        from g2pk import G2p

        g2p: _G2p = G2p()
    except Exception as error:
        raise PronounceError(
            f"g2pk could not start (is python-mecab-ko installed?): {error}"
        ) from error
    return _Converter(g2p)


def pronounce(text: str) -> str:
    """The text as it is pronounced, still in Hangul: 음악이 → 으마기, 국물 → 궁물, 학교 → 학꾜."""
    if not isinstance(text, str):
        raise TypeError(f"pronounce expects str, got {type(text).__name__}")
    pieces = _SPEAKABLE.split(text)
    # re.split with one group alternates: other, speakable, other, ..., other.
    for i in range(1, len(pieces), 2):
        if any(hangul.is_syllable(char) for char in pieces[i]):
            pieces[i] = _converter()(pieces[i])
    return "".join(pieces)
