"""`/` (a demo page that embeds the chat widget) and `/widget.js` (the widget itself)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(tags=["widget"])


@router.get("/widget.js", include_in_schema=False)
def widget() -> FileResponse:
    """The embeddable chat widget (one script, no framework)."""
    return FileResponse(
        STATIC / "widget.js",
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/", include_in_schema=False)
def demo_page() -> FileResponse:
    """A page describing the corpus, with the widget embedded."""
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")
