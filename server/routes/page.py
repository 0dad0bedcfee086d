"""GET /: the web page, and /static/* its script and style (public: the API calls need the key)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(tags=["page"])


def static_dir() -> Path:
    """The page's files, shipped as package data of `server`."""
    return Path(str(resources.files("server") / "static"))


@router.get(
    "/", response_class=HTMLResponse, responses={200: {"description": "The page (HTML)."}}
)
async def index() -> FileResponse:
    """The single-page UI."""
    return FileResponse(static_dir() / "index.html", media_type="text/html; charset=utf-8")
