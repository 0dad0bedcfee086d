"""Sori's HTTP service: FastAPI app, batching inference worker, cache, metrics and the web page.

`create_app` and `Settings` load on first use, so a child process that imports one light module
(server/inference_process.py) does not import the whole app.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.app import create_app
    from server.settings import Settings

__all__ = ["Settings", "create_app"]
_LAZY = {"create_app": "server.app", "Settings": "server.settings"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'server' has no attribute {name!r}")
