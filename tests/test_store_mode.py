"""The store-backed retrieval mode: Chroma's vector index and the lexical index on disk.

Its rankings against the in-memory mode on the question set, answers and uploads through the
API, the lexical index kept whole across crashes, rebuilt from Chroma and caught up with what
another host wrote.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.factory import create_app
from app.services.retriever import HybridRetriever
from app.services.store_retriever import DENSE_REACH, DENSE_REACH_OLD_INDEX, StoreRetriever
from config import Settings
from eval.dataset import DEFAULT_QUESTIONS, load_questions
from ingest.pipeline import ingest_paths
from tests.conftest import ARTICLES, make_settings
from vectorstore import ChromaStore, Embedder
from vectorstore.errors import StoreUnavailable
from vectorstore.records import version_of
from vectorstore.store import HNSW, open_client

MUSK = "Combien Elon Musk a-t-il proposé pour prendre le contrôle d'OpenAI ?"
OLD = "Le premier texte parle de pommes et de vergers normands. " * 30
NEW = "Le second texte parle de poires et de jardins bretons. " * 45


def test_both_modes_find_the_same_articles_for_the_question_set(
    sample_settings: Settings, embedder: Embedder
) -> None:
    store = ChromaStore.from_settings(sample_settings, embedder.fingerprint)
    memory = HybridRetriever(store, embedder, sample_settings)
    served = StoreRetriever(store, embedder, sample_settings)
    questions = [q for q in load_questions(DEFAULT_QUESTIONS) if q.answerable]
    first = {"memory": 0, "store": 0}
    same_first = 0
    for q in questions:
        a = memory.retrieve(q.question, 5).hits
        b = served.retrieve(q.question, 5).hits
        first["memory"] += a[0].chunk.doc.source in q.sources
        first["store"] += b[0].chunk.doc.source in q.sources
        same_first += a[0].chunk.id == b[0].chunk.id
        assert [h.score for h in b] == sorted((h.score for h in b), reverse=True)
    assert first["store"] >= first["memory"] - 1, first  # hit@1 0.965 in both, measured
    assert same_first >= 0.95 * len(questions), same_first
    assert served.counts() == memory.counts() == (5, len(memory.snapshot.chunks))


def test_the_dense_ranking_reaches_further_only_over_an_index_built_the_old_way(
    tmp_path: Path, embedder: Embedder
) -> None:
    """A collection keeps the HNSW parameters of its creation: a new one is built with
    `HNSW`'s ef_construction and the dense ranking brings the fusion's pool; over one built
    with 200 (before), it brings three times as many."""
    settings = make_settings(tmp_path / "new", retrieval_mode="store")
    store = ChromaStore.from_settings(settings, embedder.fingerprint)
    assert store.hnsw()["ef_construction"] == HNSW["ef_construction"] == 800
    assert StoreRetriever(store, embedder, settings).dense_reach == DENSE_REACH == 1
    old = make_settings(tmp_path / "old", retrieval_mode="store")
    open_client(old).create_collection(
        old.collection,
        configuration={"hnsw": {**HNSW, "ef_construction": 200}},
        metadata={"embedder": embedder.fingerprint},
        embedding_function=None,
    )
    built_before = ChromaStore.from_settings(old, embedder.fingerprint)
    assert built_before.hnsw()["ef_construction"] == 200
    served = StoreRetriever(built_before, embedder, old)
    assert served.dense_reach == DENSE_REACH_OLD_INDEX == 3


def test_each_candidate_record_is_fetched_once_while_both_rankings_bring_them(
    sample_settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dense ranking's records are fetched as soon as Chroma's index gives them, beside
    the lexical ranking; then those only the lexical ranking brought: no record, and no
    document's live version, is asked for twice."""
    store = ChromaStore.from_settings(sample_settings, embedder.fingerprint)
    served = StoreRetriever(store, embedder, sample_settings)
    asked: dict[str, list[str]] = {"records": [], "live": []}
    records, live_of = store.chunk_records, store.live_of
    monkeypatch.setattr(
        store, "chunk_records", lambda ids: asked["records"].extend(ids) or records(ids)
    )
    monkeypatch.setattr(store, "live_of", lambda docs: asked["live"].extend(docs) or live_of(docs))
    bridge, texts = served._query(MUSK)
    vector = served._query_vectors(texts)[0]
    lexical_query = bridge.expand(MUSK, texts[1:], served._query_vectors(texts)[1:])
    dense, lexical, fetched, live = served._candidates(vector, lexical_query, 20, None)
    assert len(dense) == 20 and len(lexical) == 20 and set(dense) != set(lexical)
    assert sorted(asked["records"]) == sorted(set(dense) | set(lexical)) == sorted(fetched)
    documents = {version_of(c)[0] for c in fetched}
    assert sorted(asked["live"]) == sorted(documents) == sorted(live)
    assert served.retrieve(MUSK, 5).hits[0].chunk.doc_id == "001_d494c912059ead2f"


def test_a_failing_dense_ranking_fails_the_question_instead_of_holding_it(
    sample_settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ChromaStore.from_settings(sample_settings, embedder.fingerprint)
    served = StoreRetriever(store, embedder, sample_settings)

    def unreachable(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("the vector store cannot be reached")

    monkeypatch.setattr(store, "nearest_ids", unreachable)
    with pytest.raises(StoreUnavailable):
        served.retrieve(MUSK, 5)


@pytest.fixture(scope="module")
def store_client(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> TestClient:
    settings = make_settings(tmp_path_factory.mktemp("store-mode"), retrieval_mode="store")
    store = ChromaStore.from_settings(settings, embedder.fingerprint)
    ingest_paths([ARTICLES], store, embedder, settings)
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_question_is_answered_and_cited_in_the_store_mode(store_client: TestClient) -> None:
    health = store_client.get("/health").json()
    assert health["retrieval"] == "store" and health["documents"] == 5
    body = store_client.post("/ask", json={"question": MUSK}).json()
    assert not body["abstained"] and "97 milliards" in body["answer"]
    citation = body["citations"][0]
    assert citation["doc_id"] == "001_d494c912059ead2f"
    document = store_client.get(f"/documents/{citation['doc_id']}").json()
    assert document["chunks"] > 1
    english = store_client.post("/ask", json={"question": "How much did Musk offer for OpenAI?"})
    assert "97" in english.json()["answer"] and not english.json()["abstained"]


def test_an_upload_is_found_at_once_replaced_whole_and_deleted(store_client: TestClient) -> None:
    def found(query: str) -> list[str]:
        body = {"query": query, "top_k": 10}
        results = store_client.post("/search", json=body).json()["results"]
        return [r["text"] for r in results if r["doc_id"] == "verger"]

    files = {"file": ("verger.txt", OLD.encode(), "text/plain")}
    assert store_client.post("/documents", files=files).json()["status"] == "added"
    assert found("pommes vergers normands") and all("pommes" in t for t in found("vergers"))
    files = {"file": ("verger.txt", NEW.encode(), "text/plain")}
    assert store_client.post("/documents", files=files).json()["status"] == "replaced"
    texts = found("pommes poires vergers jardins")
    assert texts and all("poires" in t for t in texts), "the old version must be gone whole"
    assert store_client.delete("/documents/verger").status_code == 204
    assert found("pommes poires vergers jardins") == []


def test_the_lexical_index_is_rebuilt_from_chroma_when_lost(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(tmp_path, retrieval_mode="store")
    store = ChromaStore.from_settings(settings, embedder.fingerprint)
    ingest_paths([ARTICLES], store, embedder, settings)
    before = [h.chunk.id for h in StoreRetriever(store, embedder, settings).retrieve(MUSK, 5).hits]
    assert store.lexical is not None
    indexed = store.lexical.counts()
    settings.lexical_file.unlink()
    reopened = ChromaStore.from_settings(settings, embedder.fingerprint)
    after = StoreRetriever(reopened, embedder, settings).retrieve(MUSK, 5).hits
    assert reopened.lexical is not None and reopened.lexical.counts() == indexed == (5, 43)
    assert [h.chunk.id for h in after] == before


def test_a_host_catches_up_with_what_another_host_wrote(tmp_path: Path, embedder: Embedder) -> None:
    """Two hosts on one Chroma: each has its own lexical index. What one writes, the other's
    index takes in at its next refresh; the dense ranking sees it at once."""
    here = make_settings(tmp_path, retrieval_mode="store", lexical_path=tmp_path / "here")
    there = here.model_copy(update={"lexical_path": tmp_path / "there"})
    store_here = ChromaStore.from_settings(here, embedder.fingerprint)
    ingest_paths([ARTICLES], store_here, embedder, here)
    store_there = ChromaStore.from_settings(there, embedder.fingerprint)
    retriever = StoreRetriever(store_there, embedder, there)  # builds its index from Chroma
    note = tmp_path / "verger.txt"
    note.write_text(OLD, encoding="utf-8")
    ingest_paths([note], store_here, embedder, here)
    assert store_there.lexical is not None
    assert store_there.lexical.top("pommes vergers", 5) == []  # not yet taken in there
    assert retriever.retrieve("pommes vergers normands", 3).hits[0].chunk.doc_id == "verger"
    assert retriever.refresh_if_changed()
    assert store_there.lexical.top("pommes", 5)
    note.write_text(NEW, encoding="utf-8")
    ingest_paths([note], store_here, embedder, here)
    retriever.refresh_if_changed()
    hits = retriever.retrieve("pommes poires vergers jardins", 5).hits
    assert {h.chunk.doc_id for h in hits} >= {"verger"}
    assert all("poires" in h.chunk.text for h in hits if h.chunk.doc_id == "verger")


def test_an_index_of_another_collection_is_emptied_and_rebuilt(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(tmp_path, retrieval_mode="store")
    store = ChromaStore.from_settings(settings, embedder.fingerprint)
    ingest_paths([ARTICLES], store, embedder, settings)
    ChromaStore.drop(settings)  # the collection made again: the index on disk is of the old one
    note = tmp_path / "verger.txt"
    note.write_text(OLD, encoding="utf-8")
    again = ChromaStore.from_settings(settings, embedder.fingerprint)
    ingest_paths([note], again, embedder, settings)
    assert again.lexical is not None and again.lexical.counts()[0] == 1
    assert StoreRetriever(again, embedder, settings).counts() == (1, again.count())


def test_an_empty_store_answers_with_nothing_found(tmp_path: Path, embedder: Embedder) -> None:
    settings = make_settings(tmp_path, retrieval_mode="store")
    with TestClient(create_app(settings)) as client:
        assert client.post("/search", json={"query": "pommes"}).json()["results"] == []
        body = client.post("/ask", json={"question": MUSK}).json()
        assert body["abstained"] and body["citations"] == []


@pytest.mark.parametrize(("limit", "mode"), [(10, "store"), (50_000, "memory")])
def test_auto_serves_a_corpus_past_the_limit_from_the_store(
    sample_settings: Settings, limit: int, mode: str
) -> None:
    settings = sample_settings.model_copy(
        update={"retrieval_mode": "auto", "memory_max_chunks": limit}
    )
    with TestClient(create_app(settings)) as client:
        health = client.get("/health").json()
        assert health["retrieval"] == mode and health["chunks"] > 10
        assert "97 milliards" in client.post("/ask", json={"question": MUSK}).json()["answer"]
