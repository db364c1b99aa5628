"""`/documents`: what is indexed, and adding or removing documents while the service runs."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from app.deps import ComponentsDep
from app.errors import ERROR_RESPONSES
from app.schemas import DocumentItem, DocumentsResponse, ErrorResponse, UploadResponse
from vectorstore import DocumentTooLarge

router = APIRouter(tags=["documents"])

_UPLOAD_ERRORS: dict[int | str, dict[str, object]] = {
    **ERROR_RESPONSES,
    413: {"description": "Over MAX_UPLOAD_BYTES", "model": ErrorResponse},
    415: {"description": "Not .txt, .md or .html text", "model": ErrorResponse},
}


@router.get("/documents", response_model=DocumentsResponse, responses=ERROR_RESPONSES)
def list_documents(components: ComponentsDep) -> DocumentsResponse:
    """Every indexed document with its metadata and chunk count."""
    return DocumentsResponse(
        documents=[DocumentItem(**asdict(d)) for d in components.store.documents()]
    )


@router.post("/documents", status_code=201, response_model=UploadResponse, responses=_UPLOAD_ERRORS)
async def upload_document(
    file: Annotated[UploadFile, File()], components: ComponentsDep
) -> UploadResponse:
    """Add a .txt, .md or .html article (multipart field `file`); the same bytes add nothing."""
    limit = components.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise DocumentTooLarge(f"the upload is over the limit of {limit} bytes")
    upload = await run_in_threadpool(components.documents.upload, file.filename, data)
    return UploadResponse(**asdict(upload))


@router.get(
    "/documents/{doc_id}",
    response_model=DocumentItem,
    responses={**ERROR_RESPONSES, 404: {"model": ErrorResponse}},
)
def get_document(doc_id: str, components: ComponentsDep) -> DocumentItem:
    """One document's metadata and chunk count."""
    return DocumentItem(**asdict(components.documents.get(doc_id)))


@router.delete(
    "/documents/{doc_id}",
    status_code=204,
    responses={**ERROR_RESPONSES, 404: {"model": ErrorResponse}},
)
def delete_document(doc_id: str, components: ComponentsDep) -> Response:
    """Remove a document; questions asked afterwards no longer see it."""
    components.documents.delete(doc_id)
    return Response(status_code=204)
