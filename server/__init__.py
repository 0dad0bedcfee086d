"""Sori's HTTP service: FastAPI app, batching inference worker, cache, metrics and the web page."""

from server.app import create_app
from server.settings import Settings

__all__ = ["Settings", "create_app"]
