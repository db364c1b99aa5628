"""`GET /v1/models` and `POST /v1/chat/completions`: the service as a model any OpenAI client
or chat front-end (Open WebUI, LibreChat, the `openai` library) can talk to.

The last message is the question and must be the user's; earlier user and assistant messages
are its history (as `/ask`'s `history`); system and developer messages are ignored, since the
service's own prompts decide how it answers. The reply's `content` is the cited answer with its
`[n]` markers. The citations travel beside it, in the extra top-level field `citations` (the
same objects as `/ask`'s), with `abstained`, `fallback`, `notice` and `unsupported`; a stream
carries them in its last chunk. `filters` and `top_k` may be sent as extra fields too
(`extra_body` in the `openai` library).

A stream sends the verified answer only: the protocol cannot take back text once sent, and an
answer never shows a sentence its passages do not support. Until the answer is verified the
stream sends SSE comments (which clients skip), one per piece the model writes.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from app.deps import ComponentsDep
from app.errors import ERROR_RESPONSES
from app.observability import generation_seconds, timed
from app.routers.ask import count, response_of, retrieve_for
from app.schemas import (
    MAX_HISTORY_TURNS,
    MAX_QUERY_CHARS,
    MAX_TOP_K,
    MAX_TURN_CHARS,
    AskRequest,
    AskResponse,
    Citation,
    Filters,
    Turn,
)
from app.services.answering import Answer
from vectorstore import ServiceError

MODEL_ID = "cited-news"
_CREATED = 1_764_460_800  # 2025-11-30, when the model id was first served
router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])
log = logging.getLogger("app.openai")


class ModelNotFound(ServiceError):
    """A request named a model this service is not."""

    status_code = 404


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        """The message's text; the text parts of a multi-part message, joined."""
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat-completions request; sampling parameters (temperature, max_tokens, ...)
    are accepted and ignored: the answer is written and verified by the service's reader."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL_ID,
                    "messages": [
                        {"role": "user", "content": "How much did Elon Musk offer for OpenAI?"}
                    ],
                }
            ]
        },
    )

    model: str = Field(description=f"`{MODEL_ID}` (`GET /v1/models`).")
    messages: list[ChatMessage] = Field(
        min_length=1, description="The conversation; the last message is the user's question."
    )
    stream: bool = False
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="How many passages to draw from.")
    filters: Filters | None = Field(None, description="As `/ask`'s filters.")

    @field_validator("messages")
    @classmethod
    def _ends_with_a_question(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        last = messages[-1]
        if last.role != "user":
            raise ValueError("the last message must be the user's question")
        if not last.text.strip():
            raise ValueError("the last message must hold text")
        if len(last.text) > MAX_QUERY_CHARS:
            raise ValueError(f"the question must be at most {MAX_QUERY_CHARS} characters")
        return messages

    def ask_request(self) -> AskRequest:
        """The same question as `/ask` takes it: the last message, the earlier ones as history
        (the latest `MAX_HISTORY_TURNS`, each cut to a turn's length)."""
        turns = [
            Turn(role=m.role, content=m.text[:MAX_TURN_CHARS])
            for m in self.messages[:-1]
            if m.role in ("user", "assistant") and m.text.strip()
        ]
        return AskRequest(
            question=self.messages[-1].text,
            history=turns[-MAX_HISTORY_TURNS:],
            top_k=self.top_k,
            filters=self.filters,
        )


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str = Field(description="The kind of error, as `error` in the service's other paths.")
    code: str | None = None


class OpenAIError(BaseModel):
    """An error as OpenAI clients read one: the service's kind and sentence, nested."""

    error: OpenAIErrorDetail


_ERRORS: dict[int | str, dict[str, Any]] = {
    **{status: {**doc, "model": OpenAIError} for status, doc in ERROR_RESPONSES.items()},
    404: {"description": f"`model` is not {MODEL_ID}", "model": OpenAIError},
}


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    """OpenAI's chat completion, with the answer's citations and outcome beside it."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    citations: list[Citation] = Field(description="As `/ask`'s; `marker` is the [n] in content.")
    abstained: bool
    fallback: bool
    notice: str
    unsupported: list[str]


@router.get("/models", response_model=ModelList, responses=_ERRORS)
async def models() -> ModelList:
    """The one model this service is: cited answers over its articles."""
    return ModelList(data=[ModelCard(id=MODEL_ID, created=_CREATED, owned_by="cited-news-qa")])


_STREAM_DOC = {
    "description": "With `stream: true`: `text/event-stream` of `chat.completion.chunk` "
    "objects, the last one with `finish_reason` and the citations, then `data: [DONE]`.",
    "content": {"text/event-stream": {}},
}


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={**_ERRORS, 200: _STREAM_DOC},
)
async def chat_completions(
    body: ChatCompletionRequest, components: ComponentsDep, request: Request
) -> ChatCompletion | StreamingResponse:
    """Answer the conversation's last question from the articles, with citations."""
    if body.model != MODEL_ID:
        raise ModelNotFound(f"model '{body.model}' not found; this service serves '{MODEL_ID}'")
    try:
        ask = body.ask_request()
    except ValidationError as exc:  # a turn or the question as /ask would refuse it
        raise RequestValidationError(
            [{**e, "loc": ("body", "messages", *e["loc"])} for e in exc.errors()]
        ) from exc
    generator = components.generator
    language, query, retrieval = await retrieve_for(components, ask)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if not body.stream:
        with timed(generation_seconds.labels(generator.name)):
            answer = await run_in_threadpool(generator.answer, query, language, retrieval)
        count(answer)
        return _completion(completion_id, response_of(answer))
    events = generator.stream(query, language, retrieval)
    return StreamingResponse(
        _chunks(completion_id, events, request, generator.name),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _completion(completion_id: str, answer: AskResponse) -> ChatCompletion:
    return ChatCompletion(
        id=completion_id,
        created=int(time.time()),
        model=MODEL_ID,
        choices=[Choice(message=AssistantMessage(content=answer.answer))],
        citations=answer.citations,
        abstained=answer.abstained,
        fallback=answer.fallback,
        notice=answer.notice,
        unsupported=answer.unsupported,
    )


async def _chunks(
    completion_id: str, events: Iterator[str | Answer], request: Request, backend: str
) -> AsyncIterator[str]:
    """`chat.completion.chunk` events: the role at once, a comment per piece the model
    writes, then the verified answer sentence by sentence, the last chunk with the citations."""
    created = int(time.time())

    def chunk(delta: dict[str, str], **extra: Any) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": extra.pop("finish", None)}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    started = time.perf_counter()
    yield chunk({"role": "assistant", "content": ""})
    try:
        while not await request.is_disconnected():
            event = await run_in_threadpool(next, events, None)
            if event is None:
                return
            if not isinstance(event, Answer):
                yield ": writing\n\n"
                continue
            generation_seconds.labels(backend).observe(time.perf_counter() - started)
            count(event)
            answer = response_of(event)
            for piece in _sentences(answer.answer):
                yield chunk({"content": piece})
            outcome = _completion(completion_id, answer).model_dump(
                include={"citations", "abstained", "fallback", "notice", "unsupported"}
            )
            yield chunk({}, finish="stop", **outcome)
            yield "data: [DONE]\n\n"
            return
    except ServiceError as exc:
        yield _error(type(exc).__name__, exc.message)
    except Exception:
        log.exception("the chat completion stream failed")
        yield _error("InternalError", "the service failed while answering")
    finally:
        close = getattr(events, "close", None)
        if close:
            close()


def _sentences(text: str) -> list[str]:
    """The answer in pieces that end after a sentence (and its markers), spaces kept."""
    return [piece for piece in re.split(r"(?<=[.!?»\]])(?=\s)", text) if piece]


def _error(kind: str, message: str) -> str:
    """An error event as OpenAI clients read one mid-stream (the `openai` library raises it)."""
    return f"data: {json.dumps({'error': {'type': kind, 'message': message}})}\n\n"
