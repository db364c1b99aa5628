"""`POST /search`: the passages that best match a query.

The route below declares the endpoint (its schema, its errors). `SearchFastPath` answers the
requests it can on its own: a JSON body that validates, and a retrieval that finds passages.
It skips FastAPI's routing, dependency and validation machinery, which took as much of the
service's one core under load as ranking the passages did; anything else (a body that does
not validate, another content type) goes on to the route, which answers it as it always has.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError
from pydantic_core import to_json
from starlette.types import ASGIApp, Receive, Scope, Send

from app.deps import Components, ComponentsDep
from app.errors import ERROR_RESPONSES, error_response
from app.guards import read_body, replay, too_large
from app.observability import retrieval_seconds, timed
from app.schemas import SearchRequest, SearchResponse
from vectorstore import ChunkHit, ServiceError

PATH = "/search"
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


async def _results(components: Components, body: SearchRequest) -> bytes:
    with timed(retrieval_seconds):
        retrieval = await components.retriever.search(
            body.query, body.top_k, body.document_filter()
        )
    return to_json({"results": [passage_of(hit) for hit in retrieval.hits]})


@router.post(PATH, response_model=SearchResponse, responses=ERROR_RESPONSES)
async def search(body: SearchRequest, components: ComponentsDep) -> Response:
    """Passages of the articles for a query, best first (hybrid dense + BM25 retrieval)."""
    return Response(await _results(components, body), media_type="application/json")


_ROUTE = router.routes[0]


class SearchFastPath:
    """`POST /search` straight to the retriever; the route for whatever it does not answer.

    It sits inside the service's own middleware (request id, access log, guards), so a
    request it answers is logged, counted and guarded like any other.
    """

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST"):
            await self.app(scope, receive, send)
            return
        if not _is_json(scope):  # the route answers, or words the error
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, self.max_body)
        if body is None:
            await too_large(self.max_body)(scope, receive, send)
            return
        try:
            request = SearchRequest.model_validate_json(body)
        except ValidationError:  # the route words the error
            await self.app(scope, replay(body, receive), send)
            return
        scope["route"] = _ROUTE  # for the access log and the metrics
        try:
            content = await _results(scope["app"].state.components, request)
        except ServiceError as exc:  # as the route's handler answers it
            await error_response(exc.status_code, type(exc).__name__, exc.message)(
                scope, receive, send
            )
            return
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/json"
    return False
