"""`POST /search`: the passages that best match a query."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic_core import to_json

from app.deps import ComponentsDep
from app.errors import ERROR_RESPONSES
from app.observability import retrieval_seconds, timed
from app.schemas import SearchRequest, SearchResponse
from vectorstore import ChunkHit

router = APIRouter(tags=["questions"])


def passage_of(hit: ChunkHit) -> dict[str, Any]:
    """A hit as a `Passage`, already in the types the model holds: the response is written
    without building and validating a model per passage (a fifth of a request's own time)."""
    chunk = hit.chunk
    doc = chunk.doc
    return {
        "doc_id": chunk.doc_id,
        "chunk_id": chunk.id,
        "title": doc.title,
        "source": doc.source,
        "date": doc.date,
        "text": chunk.text,
        "start": chunk.start,
        "end": chunk.end,
        "score": hit.score,
    }


@router.post("/search", response_model=SearchResponse, responses=ERROR_RESPONSES)
async def search(body: SearchRequest, components: ComponentsDep) -> Response:
    """Passages of the articles for a query, best first (hybrid dense + BM25 retrieval)."""
    with timed(retrieval_seconds):
        retrieval = await asyncio.wrap_future(components.retriever.submit(body.query, body.top_k))
    results = [passage_of(hit) for hit in retrieval.hits]
    return Response(to_json({"results": results}), media_type="application/json")
