"""Sori: the composition root that ties the packages `tts`, `assistant` and `server` into one CLI."""
