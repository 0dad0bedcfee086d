"""Where Sori keeps generated data (the offline CMU dictionary, SQLite stores, caches).

One function decides, so every module finds the same place without configuration:
`SORI_DATA_DIR` when set, else `data/` in a source checkout, else the user's data directory.
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[1]


def repo_root() -> Path | None:
    """The source checkout this package runs from, or None for an installed wheel."""
    return _REPO_ROOT if (_REPO_ROOT / "pyproject.toml").is_file() else None


def data_dir() -> Path:
    """The directory for Sori's generated data; read at call time, never at import."""
    override = os.environ.get("SORI_DATA_DIR")
    if override:
        return Path(override).expanduser()
    root = repo_root()
    if root is not None:
        return root / "data"
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "sori"
