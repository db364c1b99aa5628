"""`POST /ask`: an answer in the question's language, each claim with its citation marker."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import ComponentsDep
from app.errors import ERROR_RESPONSES
from app.schemas import AskRequest, AskResponse, Citation
from app.services.answering import Answer
from app.services.followup import self_contained
from app.services.language import detect_language

router = APIRouter(tags=["questions"])


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
    )


@router.post("/ask", response_model=AskResponse, responses=ERROR_RESPONSES)
def ask(body: AskRequest, components: ComponentsDep) -> AskResponse:
    """Answer a question from the articles, or say that they do not answer it."""
    language = detect_language(body.question)
    query = self_contained(body.question, body.history)
    retrieval = components.retriever.retrieve(query, body.top_k)
    return response_of(components.generator.answer(query, language, retrieval))
