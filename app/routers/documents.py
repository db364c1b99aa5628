"""`GET /documents`: what is indexed."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from app.deps import ComponentsDep
from app.errors import ERROR_RESPONSES
from app.schemas import DocumentItem, DocumentsResponse

router = APIRouter(tags=["documents"])


@router.get("/documents", response_model=DocumentsResponse, responses=ERROR_RESPONSES)
def list_documents(components: ComponentsDep) -> DocumentsResponse:
    """Every indexed document with its metadata and chunk count."""
    return DocumentsResponse(
        documents=[DocumentItem(**asdict(d)) for d in components.store.documents()]
    )
