"""Request and response bodies of the REST API, which the widget and the eval script rely on."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.services.answering.generator import ModelState
from app.services.filters import DocumentFilter
from vectorstore.tokens import canonical

MAX_QUERY_CHARS = 1000
MAX_TOP_K = 20
MAX_HISTORY_TURNS = 20
MAX_TURN_CHARS = 4 * MAX_QUERY_CHARS
MAX_FILTER_VALUES = 1000
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EXAMPLE_QUESTION_FR = "Combien Elon Musk a-t-il proposé pour prendre le contrôle d'OpenAI ?"


def _not_blank(value: str) -> str:
    value = canonical(value).strip()
    if not value:
        raise ValueError("must contain text, not only spaces")
    return value


def _iso_day(value: object) -> object:
    if value is not None and not (isinstance(value, str) and _ISO_DAY.match(value)):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


def _names(values: list[str] | None) -> list[str] | None:
    if values is not None and any(not v.strip() or len(v) > MAX_QUERY_CHARS for v in values):
        raise ValueError(f"each value must hold text, 1 to {MAX_QUERY_CHARS} characters")
    return values


class Filters(BaseModel):
    """Which articles to answer from; every part optional, the parts combined with AND."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"date_from": "2025-04-01", "date_to": "2025-04-30"}]},
    )

    date_from: date | None = Field(
        None, description="Articles dated on or after this day (YYYY-MM-DD); undated excluded."
    )
    date_to: date | None = Field(
        None, description="Articles dated on or before this day (YYYY-MM-DD); undated excluded."
    )
    sources: list[str] | None = Field(
        None,
        max_length=MAX_FILTER_VALUES,
        description="Publications: a site name, a source the article names, a file name, a URL "
        "or its host (`lemonde.fr`); compared without case.",
    )
    doc_ids: list[str] | None = Field(
        None, max_length=MAX_FILTER_VALUES, description="Documents, as `GET /documents` lists them."
    )

    _days = field_validator("date_from", "date_to", mode="before")(_iso_day)
    _listed = field_validator("sources", "doc_ids")(_names)

    @field_validator("date_to")
    @classmethod
    def _after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("date_from")
        if value is not None and start is not None and value < start:
            raise ValueError(f"must not come before date_from ({start.isoformat()})")
        return value

    def document_filter(self) -> DocumentFilter | None:
        """What retrieval applies; None when these filters allow every document."""
        return DocumentFilter.of(self.date_from, self.date_to, self.sources, self.doc_ids)


class Filtered(BaseModel):
    """A request that may narrow the articles it is answered from."""

    filters: Filters | None = Field(
        None, description="Answer only from the articles these allow (see Filters)."
    )

    def document_filter(self) -> DocumentFilter | None:
        """What retrieval applies; None when every document is allowed."""
        return self.filters.document_filter() if self.filters else None


class SearchRequest(Filtered):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"query": "offre de Musk", "top_k": 3},
                {"query": "offre de Musk", "filters": {"date_from": "2025-04-01"}},
            ]
        }
    )

    query: str = Field(
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        description=f"What to look for, 1 to {MAX_QUERY_CHARS} characters.",
    )
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description=f"How many passages, 1 to {MAX_TOP_K}.")

    _strip = field_validator("query")(_not_blank)


class Turn(BaseModel):
    """A previous turn of the conversation."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_TURN_CHARS)

    _canonical = field_validator("content")(canonical)


class AskRequest(Filtered):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"question": EXAMPLE_QUESTION_FR},
                {"question": "How much did Elon Musk offer to take control of OpenAI?", "top_k": 5},
                {
                    "question": "Combien Musk a-t-il proposé ?",
                    "filters": {"date_from": "2025-04-01", "date_to": "2025-04-30"},
                },
            ]
        }
    )

    question: str = Field(
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        description=f"A question in French or English, 1 to {MAX_QUERY_CHARS} characters.",
    )
    top_k: int = Field(
        5,
        ge=1,
        le=MAX_TOP_K,
        description=f"How many passages to draw the answer from, 1 to {MAX_TOP_K}.",
    )

    stream: bool = Field(
        False,
        description="Answer as Server-Sent Events: `delta` events with text as it is written, "
        "then one `answer` event with the verified answer (the AskResponse).",
    )
    history: list[Turn] = Field(
        default_factory=list,
        max_length=MAX_HISTORY_TURNS,
        description="Previous turns, oldest first; a follow-up question is read in their light.",
    )

    _strip = field_validator("question")(_not_blank)


class Passage(BaseModel):
    """A chunk of an article; `start`/`end` are offsets into the article's clean text."""

    doc_id: str
    chunk_id: str
    title: str
    source: str
    date: str = Field(description="The article's date when it gives one, else empty.")
    text: str
    start: int
    end: int
    score: float = Field(description="Relevance, higher is better.")


class SearchResponse(BaseModel):
    results: list[Passage]


class Citation(Passage):
    """The sentence a claim rests on (`text`, `start`, `end`) and the passage it stands in."""

    marker: int = Field(description="The number written as [n] in the answer.")
    passage: str = Field(description="The whole retrieved passage holding the cited sentence.")
    passage_start: int
    passage_end: int


class AskResponse(BaseModel):
    answer: str
    language: Literal["fr", "en"]
    abstained: bool
    citations: list[Citation]
    backend: str = Field(description="Who answered: extractive, openai or llama-cpp.")
    fallback: bool = Field(
        False, description="A model was asked but could not be used; `notice` says why."
    )
    notice: str = ""
    unsupported: list[str] = Field(
        default_factory=list,
        description="Sentences the model wrote that the passages did not support, removed.",
    )


class DocumentItem(BaseModel):
    doc_id: str
    title: str
    source: str
    date: str
    sources: list[str] = Field(description='Sources the article names ("Source : ...").')
    chunks: int
    author: str = Field("", description="From the page's metadata or the front matter.")
    site: str = Field("", description="The publication's name, from the page's metadata.")
    tags: list[str] = Field(default_factory=list, description="Front matter tags, categories.")


class UploadResponse(BaseModel):
    doc_id: str
    status: Literal["added", "replaced", "unchanged"] = Field(
        description="added: new; replaced: a new version of that file name; unchanged: same bytes."
    )
    chunks: int


class DocumentsResponse(BaseModel):
    documents: list[DocumentItem]


class HealthResponse(BaseModel):
    status: Literal["ready"]
    documents: int
    chunks: int
    embedder: str
    backend: str
    retrieval: Literal["memory", "store"] = Field(
        description="Where retrieval is served from: each worker's memory, or the store."
    )
    model: ModelState = Field(
        "none",
        description="The backend's model: none (extractive), warming (evaluating its rules after "
        "start-up; questions wait for it), ready, or resting after a failure (questions get "
        "the extractive answer, flagged).",
    )


class ErrorResponse(BaseModel):
    error: str = Field(description="The kind of error, e.g. ValidationError, StoreUnavailable.")
    message: str = Field(description="What went wrong, in a sentence.")
