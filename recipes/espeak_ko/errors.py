"""The errors of the espeak-ng bootstrap corpus recipe, each naming what went wrong."""

from __future__ import annotations


class CorpusError(RuntimeError):
    """The corpus cannot be written: espeak-ng missing, too little coverage, a bad option."""


class SentenceSourceError(CorpusError):
    """A sentence source is missing or unreadable (konlpy data, templates, the eval file)."""
