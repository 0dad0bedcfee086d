"""Settings of the Korean text frontend, saved with every voice so training and serving agree."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class TextConfig:
    """How text becomes symbols; a voice trained with one config must be served with it."""

    use_g2p: bool = True
    """Run g2pk so symbols follow pronunciation (연음, 경음화, 비음화), not spelling."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextConfig:
        """Build from a dict, rejecting unknown keys and wrongly typed values by name."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown TextConfig keys: {', '.join(unknown)}")
        for name, value in data.items():
            expected = type(known[name].default)
            if not isinstance(value, expected):
                raise ValueError(f"TextConfig.{name} must be {expected.__name__}, got {value!r}")
        return cls(**data)
