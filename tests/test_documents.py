"""Adding, reading and removing documents through the API while it answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.factory import create_app
from app.services.documents import safe_name
from tests.conftest import make_settings

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
        ("latin.txt", "Élysée".encode("latin-1"), 415, "UnsupportedDocument"),
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
