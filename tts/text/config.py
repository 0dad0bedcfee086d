"""Settings of the Korean text frontend, saved with every voice so training and serving agree."""

from __future__ import annotations

from dataclasses import dataclass

from tts.config_io import JsonConfig


@dataclass(frozen=True)
class TextConfig(JsonConfig):
    """How text becomes symbols; a voice trained with one config must be served with it."""

    use_g2p: bool = True
    """Run g2pk so symbols follow pronunciation (연음, 경음화, 비음화), not spelling."""
