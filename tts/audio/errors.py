"""The audio package's error types, so callers can catch one family for any bad audio input."""

from __future__ import annotations


class AudioError(Exception):
    """Audio cannot be read, written, analysed or synthesised; the message names the problem."""


class AudioConfigError(AudioError, ValueError):
    """An audio configuration is inconsistent or cannot be read from a dictionary."""
