"""The assistant's own error types, so callers (CLI, server) can tell bad input, an unusable store
and bugs apart."""

from __future__ import annotations


class AssistantError(ValueError):
    """Bad input to the assistant (empty utterance, unknown timezone, unusable store path…); the
    one subclass that is not the caller's fault is StoreUnavailableError."""


class StoreUnavailableError(AssistantError):
    """The assistant store cannot be used now (locked by another writer past its timeout, disk full
    or failing, already closed): the server's trouble, not the request's, so it answers 503."""
