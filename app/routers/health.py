"""`GET /health`: ready once the store and the embedder are loaded and the store answers; says
whether the model is still warming up."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import ComponentsDep
from app.errors import ERROR_RESPONSES
from app.observability import metrics_body
from app.schemas import HealthResponse

router = APIRouter(tags=["service"])


@router.get("/health", response_model=HealthResponse, responses=ERROR_RESPONSES)
def health(components: ComponentsDep) -> HealthResponse:
    """200 when the service can answer; 503 when the vector store cannot be reached."""
    components.store.generation()  # a round trip: 503 when the store cannot be reached
    documents, chunks = components.retriever.counts()
    return HealthResponse(
        status="ready",
        documents=documents,
        chunks=chunks,
        embedder=components.embedder.fingerprint,
        backend=components.generator.name,
        retrieval=components.retriever.mode,
        model=components.generator.model_state(),
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics() -> Response:
    """Requests, latencies, retrieval and generation times, answers by outcome, errors."""
    body, content_type = metrics_body()
    return Response(body, media_type=content_type)
