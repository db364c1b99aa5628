"""`POST /ask`: an answer in the question's language, each claim with its citation marker.

With `"stream": true` the answer comes as Server-Sent Events: `delta` events carry text as the
backend writes it, then one `answer` event carries the verified answer (the same body as the
plain response), or an `error` event. A client that disconnects stops the generation.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.deps import Components, ComponentsDep
from app.errors import ERROR_RESPONSES
from app.observability import answers_total, generation_seconds, retrieval_seconds, timed
from app.schemas import AskRequest, AskResponse, Citation
from app.services.answering import Answer
from app.services.language import Language, detect_language
from app.services.retriever import Retrieval
from vectorstore import ServiceError

router = APIRouter(tags=["questions"])
log = logging.getLogger("app.ask")

_STREAM_DOC = {
    "description": "With `stream: true`: `text/event-stream` of `delta` events, then "
    "one `answer` event.",
    "content": {"text/event-stream": {}},
}


def response_of(answer: Answer) -> AskResponse:
    citations = [
        Citation(
            marker=c.marker,
            doc_id=c.chunk.doc_id,
            chunk_id=c.chunk.id,
            title=c.chunk.doc.title,
            source=c.chunk.doc.source,
            date=c.chunk.doc.date,
            text=c.sentence.text,
            start=c.sentence.start,
            end=c.sentence.end,
            score=c.score,
            passage=c.chunk.text,
            passage_start=c.chunk.start,
            passage_end=c.chunk.end,
        )
        for c in answer.citations
    ]
    return AskResponse(
        answer=answer.text,
        language=answer.language,
        abstained=answer.abstained,
        citations=citations,
        backend=answer.backend,
        fallback=answer.fallback,
        notice=answer.notice,
        unsupported=answer.unsupported,
    )


async def retrieve_for(components: Components, body: AskRequest) -> tuple[Language, str, Retrieval]:
    """The question's language, the question made self-contained by its history (the query
    retrieval used), and the passages retrieved for it under the request's filters."""
    language = detect_language(body.question)
    query = await run_in_threadpool(components.generator.rewrite, body.question, body.history)
    with timed(retrieval_seconds):
        retrieval = await components.retriever.search(query, body.top_k, body.document_filter())
    return language, query, retrieval


@router.post("/ask", response_model=AskResponse, responses={**ERROR_RESPONSES, 200: _STREAM_DOC})
async def ask(
    body: AskRequest, components: ComponentsDep, request: Request
) -> AskResponse | StreamingResponse:
    """Answer a question from the articles, or say that they do not answer it."""
    generator = components.generator
    language, query, retrieval = await retrieve_for(components, body)
    if not body.stream:
        with timed(generation_seconds.labels(generator.name)):
            answer = await run_in_threadpool(generator.answer, query, language, retrieval)
        count(answer)
        return response_of(answer)
    events = generator.stream(query, language, retrieval)
    return StreamingResponse(
        _sse(events, request, generator.name),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def count(answer: Answer) -> None:
    outcome = "abstained" if answer.abstained else "fallback" if answer.fallback else "answered"
    answers_total.labels(outcome).inc()


async def _sse(
    events: Iterator[str | Answer], request: Request, backend: str
) -> AsyncIterator[str]:
    """Server-Sent Events from the generator's pieces, stopping it if the client leaves."""
    started = time.perf_counter()
    try:
        while not await request.is_disconnected():
            event = await run_in_threadpool(next, events, None)
            if event is None:
                return
            if isinstance(event, Answer):
                generation_seconds.labels(backend).observe(time.perf_counter() - started)
                count(event)
                yield _event("answer", response_of(event).model_dump())
                return
            yield _event("delta", {"text": event})
    except ServiceError as exc:
        yield _event("error", {"error": type(exc).__name__, "message": exc.message})
    except Exception:
        log.exception("the answer stream failed")
        yield _event(
            "error", {"error": "InternalError", "message": "the service failed while answering"}
        )
    finally:
        close = getattr(events, "close", None)
        if close:
            close()


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
