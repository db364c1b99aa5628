"""Adding, reading and removing documents through the API while it answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.factory import create_app
from app.services.documents import DocumentService, safe_name
from app.services.retriever import HybridRetriever, Snapshot
from ingest.pipeline import ingest_paths
from tests.conftest import ARTICLES, make_settings
from vectorstore import ChromaStore, Embedder

ARTICLE = (
    "Le port de Marseille investit\n"
    "Le port de Marseille annonce un investissement de 75 millions d’euros dans "
    "l’électrification de ses quais. Les travaux dureront deux ans.\n"
)
QUESTION = "Combien le port de Marseille investit-il dans ses quais ?"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path, max_upload_bytes=5_000))) as client:
        yield client


def upload(api: TestClient, name: str, content: str | bytes) -> object:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return api.post("/documents", files={"file": (name, data, "text/plain")})


def test_an_upload_is_answerable_at_once_then_replaced_then_deleted(api: TestClient) -> None:
    assert api.post("/ask", json={"question": QUESTION}).json()["abstained"]
    added = upload(api, "marseille.txt", ARTICLE)
    assert added.status_code == 201 and added.json()["status"] == "added"
    assert added.json()["doc_id"] == "marseille" and added.json()["chunks"] == 1
    answer = api.post("/ask", json={"question": QUESTION}).json()
    assert "75 millions" in answer["answer"] and answer["citations"][0]["doc_id"] == "marseille"

    assert upload(api, "marseille.txt", ARTICLE).json()["status"] == "unchanged"
    replaced = upload(api, "marseille.txt", ARTICLE.replace("75", "90"))
    assert replaced.json()["status"] == "replaced"
    answer = api.post("/ask", json={"question": QUESTION}).json()
    assert "90 millions" in answer["answer"] and "75 millions" not in answer["answer"]
    assert api.get("/documents/marseille").json()["chunks"] == 1

    assert api.delete("/documents/marseille").status_code == 204
    assert api.get("/documents/marseille").status_code == 404
    assert api.post("/ask", json={"question": QUESTION}).json()["abstained"]
    assert api.delete("/documents/marseille").json()["error"] == "DocumentNotFound"


@pytest.mark.parametrize(
    ("name", "content", "status", "error"),
    [
        ("report.pdf", b"%PDF-1.4", 415, "UnsupportedDocument"),
        ("noise.txt", b"caf\xe9 " + bytes(range(1, 32)) * 3, 415, "UnsupportedDocument"),
        ("big.txt", "x" * 6_000, 413, "DocumentTooLarge"),
        ("blank.txt", "   \n  ", 415, "UnsupportedDocument"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(
    api: TestClient, name: str, content: str | bytes, status: int, error: str
) -> None:
    response = upload(api, name, content)
    assert response.status_code == status and response.json()["error"] == error
    assert api.get("/documents").json() == {"documents": []}


def test_a_missing_file_field_is_a_422(api: TestClient) -> None:
    response = api.post("/documents", data={"other": "x"})
    assert response.status_code == 422 and response.json()["message"].startswith("file:")


def test_file_names_never_reach_the_file_system_as_given(api: TestClient, tmp_path: Path) -> None:
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("C:\\\\Users\\\\x\\\\note.md") == "note.md"
    assert safe_name("<script>.html") == "_script_.html"
    response = upload(api, "../../evil.txt", ARTICLE)
    assert response.status_code == 201 and response.json()["doc_id"] == "evil"
    assert not (tmp_path.parent / "evil.txt").exists()


def assert_same_snapshot(got: Snapshot, full: Snapshot) -> None:
    assert [c.id for c in got.chunks] == [c.id for c in full.chunks]
    np.testing.assert_array_equal(got.chunk_vectors, full.chunk_vectors)
    assert [s.id for s in got.sentences] == [s.id for s in full.sentences]
    np.testing.assert_array_equal(got.sentence_vectors, full.sentence_vectors)
    assert got.documents == full.documents and got.generation == full.generation
    assert got.bm25.top(QUESTION, 5) == full.bm25.top(QUESTION, 5)


def test_a_refresh_reads_only_the_documents_that_changed_and_ends_as_a_full_read(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    store = ChromaStore.from_settings(settings, embedder.fingerprint)
    ingest_paths([ARTICLES], store, embedder, settings)
    retriever = HybridRetriever(store, embedder, settings)
    documents = DocumentService(store, retriever, embedder, settings)
    scans: list[object] = []
    scan = store._scan
    monkeypatch.setattr(store, "_scan", lambda c, where=None: scans.append(where) or scan(c, where))

    documents.upload("marseille.txt", ARTICLE.encode())
    assert scans == [{"doc_id": {"$in": ["marseille"]}}]
    assert_same_snapshot(retriever.snapshot, retriever._build_snapshot())
    assert retriever.retrieve(QUESTION, 1).hits[0].chunk.doc_id == "marseille"

    scans.clear()
    documents.upload("marseille.txt", ARTICLE.replace("75", "90").encode())
    assert scans == [{"doc_id": {"$in": ["marseille"]}}]
    assert_same_snapshot(retriever.snapshot, retriever._build_snapshot())
    assert "90 millions" in retriever.retrieve(QUESTION, 1).hits[0].chunk.text

    scans.clear()
    first = next(iter(store.manifest()))
    documents.delete(first)
    assert scans == []  # nothing to read: the snapshot only drops the document
    assert first not in {c.doc_id for c in retriever.snapshot.chunks}
    assert_same_snapshot(retriever.snapshot, retriever._build_snapshot())
    retriever.close()
