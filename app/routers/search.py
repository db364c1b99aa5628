"""`POST /search`: the passages that best match a query."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import ComponentsDep
from app.errors import ERROR_RESPONSES
from app.observability import retrieval_seconds, timed
from app.schemas import Passage, SearchRequest, SearchResponse
from vectorstore import ChunkHit

router = APIRouter(tags=["questions"])


def passage_of(hit: ChunkHit) -> Passage:
    chunk = hit.chunk
    return Passage(
        doc_id=chunk.doc_id,
        chunk_id=chunk.id,
        title=chunk.doc.title,
        source=chunk.doc.source,
        date=chunk.doc.date,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        score=hit.score,
    )


@router.post("/search", response_model=SearchResponse, responses=ERROR_RESPONSES)
def search(body: SearchRequest, components: ComponentsDep) -> SearchResponse:
    """Passages of the articles for a query, best first (hybrid dense + BM25 retrieval)."""
    with timed(retrieval_seconds):
        retrieval = components.retriever.retrieve(body.query, body.top_k)
    return SearchResponse(results=[passage_of(hit) for hit in retrieval.hits])
