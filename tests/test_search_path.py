"""`POST /search` answered by `SearchFastPath` straight from the retriever, and by the route for
everything the fast path leaves to it; ranking on the event loop or in the encoder's thread."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from app.routers import search
from app.schemas import SearchRequest
from app.services import retriever as retriever_module
from app.services.retriever import HybridRetriever
from vectorstore.tokens import _WORD, ELISION, STOPWORDS, fold, stem, tokenize

QUERY = "Combien Elon Musk a-t-il proposé pour OpenAI ?"


class Inner:
    """The app behind the fast path: records what reaches it and the body it reads."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        self.bodies.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"route"})


def call(
    app: Any, client: TestClient, body: bytes, content_type: bytes | None = b"application/json"
) -> tuple[int, bytes, dict[bytes, bytes]]:
    """One POST /search through an ASGI app, as uvicorn would deliver it."""
    headers = [(b"content-type", content_type)] if content_type else []
    scope = {"type": "http", "method": "POST", "path": "/search", "headers": headers}
    scope["app"] = client.app
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, *parts = sent
    return start["status"], b"".join(p.get("body", b"") for p in parts), dict(start["headers"])


def test_a_valid_query_is_answered_without_the_route_and_as_the_route_would(
    client: TestClient,
) -> None:
    inner = Inner()
    fast = search.SearchFastPath(inner, max_body=10_000)
    status, body, headers = call(fast, client, json.dumps({"query": QUERY, "top_k": 3}).encode())
    assert inner.bodies == [] and status == 200
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(body)
    components = client.app.state.components  # type: ignore[attr-defined]
    routed = asyncio.run(search.search(SearchRequest(query=QUERY, top_k=3), components))
    assert body == routed.body
    results = json.loads(body)["results"]
    assert len(results) == 3 and "97 milliards" in " ".join(r["text"] for r in results)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"top_k": 3}', b"application/json"),  # no query: the route words the error
        (b"{not json", b"application/json"),
        (b'{"query": "   "}', b"application/json"),
        (json.dumps({"query": QUERY}).encode(), b"text/plain"),
        (json.dumps({"query": QUERY}).encode(), None),
    ],
)
def test_what_the_fast_path_does_not_answer_reaches_the_route_whole(
    client: TestClient, body: bytes, content_type: bytes | None
) -> None:
    inner = Inner()
    status, answer, _ = call(search.SearchFastPath(inner, 10_000), client, body, content_type)
    assert (status, answer) == (299, b"route")
    assert inner.bodies == [body]


def test_through_the_service_errors_keep_their_shape_and_answers_are_logged_and_counted(
    client: TestClient,
) -> None:
    before = client.get("/metrics").text
    answered = client.post("/search", json={"query": QUERY}, headers={"X-Request-ID": "s-1"})
    assert answered.status_code == 200 and answered.headers["X-Request-ID"] == "s-1"
    refused = client.post("/search", json={"query": ""})
    assert refused.status_code == 422
    assert refused.json() == {
        "error": "ValidationError",
        "message": "query: String should have at least 1 character",
    }

    def count(text: str) -> float:
        name = 'qa_http_requests_total{method="POST",route="/search",status="200"}'
        found = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    assert count(client.get("/metrics").text) - count(before) == 1


def test_a_store_that_is_down_gives_its_error_through_the_fast_path(client: TestClient) -> None:
    retriever: HybridRetriever = client.app.state.components.retriever  # type: ignore[attr-defined]
    retriever._watch._down = "the vector store cannot be reached"
    try:
        down = client.post("/search", json={"query": QUERY})
    finally:
        retriever._watch._down = None
    assert down.status_code == 503
    assert down.json() == {
        "error": "StoreUnavailable",
        "message": "the vector store cannot be reached",
    }


def test_the_loop_and_the_encoder_thread_rank_alike(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    retriever: HybridRetriever = client.app.state.components.retriever  # type: ignore[attr-defined]
    queries = [QUERY, "How much did Elon Musk offer for OpenAI?", "Stargate SoftBank"]
    inline = [asyncio.run(retriever.search(q, 5)) for q in queries]
    monkeypatch.setattr(retriever_module, "INLINE_RANKING_CHUNKS", 0)
    threaded = [asyncio.run(retriever.search(q, 5)) for q in queries]
    for a, b in zip(inline, threaded, strict=True):
        assert [(h.chunk.id, h.score) for h in a.hits] == [(h.chunk.id, h.score) for h in b.hits]
        assert a.word_vectors.keys() == b.word_vectors.keys()
    assert inline[1].foreign  # the English question's words the French articles lack


@pytest.mark.parametrize(
    "text",
    [
        "L’offre d'Élon aux États-Unis : 97 milliards",
        "a\u00a0b naïve\u2002café, ŒUVRE",  # blanks that fold to spaces
        "ﬁnance x² ½ Ｆｕｌｌ",  # ligatures and compatibility forms that fold to several letters
        "qu'il l'IA d’OpenAI jusqu'à",
        "1,5 million; 2025-2026",
    ],
)
def test_tokens_piece_by_piece_are_those_of_the_whole_text_folded(text: str) -> None:
    words = _WORD.findall(fold(ELISION.sub(" ", text)))
    whole = [stem(w) for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    assert tokenize(text) == whole
