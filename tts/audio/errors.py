"""The audio package's error types, so callers can catch one family for any bad audio input."""

from __future__ import annotations

from tts.config_io import ConfigError


class AudioError(Exception):
    """Audio cannot be read, written, analysed or synthesised; the message names the problem."""


class AudioConfigError(AudioError, ConfigError):
    """An audio configuration is inconsistent (a ConfigError, and an AudioError for this package)."""
