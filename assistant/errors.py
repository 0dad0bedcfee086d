"""The assistant's own error type, so callers (CLI, server) can tell bad input from bugs."""

from __future__ import annotations


class AssistantError(ValueError):
    """Bad input to the assistant (empty utterance, unknown timezone, unusable store path…)."""
