"""Inputs at the edges: an empty store, questions about nothing, markers inside articles, file
names that collide, settings that must not echo a secret, switching embedders with --reset."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.factory import create_app
from config import Settings
from eval.metrics import markers_valid
from ingest.__main__ import main as ingest_main
from ingest.cleaning import clean
from ingest.formats import html_to_article
from ingest.pipeline import doc_id_for, ingest_paths
from tests.conftest import ARTICLES, make_settings
from vectorstore import ChromaStore, Embedder


def test_an_empty_store_answers_that_the_articles_do_not_say(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as client:
        asked = client.post("/ask", json={"question": "Combien Musk a-t-il proposé ?"})
        searched = client.post("/search", json={"query": "Musk"})
        streamed = client.post("/ask", json={"question": "Qui ?", "stream": True})
    assert asked.status_code == 200 and asked.json()["abstained"]
    assert searched.json() == {"results": []}
    assert streamed.text.startswith("event: delta") and "event: answer" in streamed.text


@pytest.mark.parametrize("question", ["???", "?!", "…", "Combien ?"])
def test_a_question_about_nothing_is_declined(client: TestClient, question: str) -> None:
    body = client.post("/ask", json={"question": question}).json()
    assert body["abstained"] and body["citations"] == []


def test_brackets_in_an_article_never_pose_as_markers(tmp_path: Path, embedder: Embedder) -> None:
    article = tmp_path / "piscine.txt"
    article.write_text(
        "Piscine municipale\nLa piscine coûtera 3 millions d’euros [2] selon le "
        "maire de Lyon. Les travaux commenceront en mai.\n",
        encoding="utf-8",
    )
    settings = make_settings(tmp_path)
    ingest_paths(
        [article], ChromaStore.from_settings(settings, embedder.fingerprint), embedder, settings
    )
    with TestClient(create_app(settings)) as client:
        body = client.post("/ask", json={"question": "Combien coûtera la piscine de Lyon ?"}).json()
    # the article's own footnote call is left out of the quotation, kept in the citation
    assert not body["abstained"] and "3 millions d’euros selon le maire" in body["answer"]
    assert markers_valid(body) and "[2]" in body["citations"][0]["text"]


def test_file_names_outside_ascii_get_distinct_stable_ids() -> None:
    ids = [doc_id_for(Path(name)) for name in ("中文.txt", "日本.txt", "Été 2025.md", "a-b_c.txt")]
    assert ids[0] != ids[1] and ids[0].startswith("document-") and ids[1].startswith("document-")
    assert ids[2].startswith("t-2025-") and ids[3] == "a-b_c"
    assert doc_id_for(Path("x/中文.html")) == ids[0]


def test_a_paragraph_that_mentions_a_newsletter_is_article_text() -> None:
    body = "Un premier paragraphe d’article qui plante le décor avec soin et précision. " * 5
    line = (
        "Le Monde a lancé une newsletter consacrée à l’IA, qui compte déjà 50 000 abonnés "
        "selon la rédaction du journal parisien."
    )
    doc = clean(f"Titre\n{body}\n{line}\nLa suite de l’article.\nInscrivez-vous à la newsletter")
    assert line in doc.text and doc.text.endswith("La suite de l’article.")


def test_a_page_wrapped_in_a_form_keeps_its_text() -> None:
    page = (
        "<form action='/'><article><h1>Titre</h1><p>Le texte.</p></article>"
        "<button>OK</button></form>"
    )
    assert html_to_article(page)[0] == "Titre\nLe texte."


def test_an_invalid_setting_never_echoes_the_api_key() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(llm_backend="openai", llm_api_key="sk-SECRET123", llm_model="")
    assert "needs LLM_MODEL" in str(raised.value) and "sk-SECRET123" not in str(raised.value)


def test_collection_names_chroma_refuses_are_refused_with_a_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLLECTION", "my articles")
    assert ingest_main(["--quiet"]) == 2
    assert "invalid settings" in capsys.readouterr().err


def test_reset_switches_the_embedder_of_a_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_embedders import minilm_path

    one_article = str(next(ARTICLES.glob("004_*.txt")))
    monkeypatch.setenv("CHROMA_PATH", str(tmp_path / "chroma"))
    monkeypatch.delenv("CHROMA_HOST", raising=False)
    assert ingest_main(["--quiet", one_article]) == 0
    monkeypatch.setenv("EMBEDDER_BACKEND", "sentence-transformers")
    monkeypatch.setenv("EMBEDDER_MODEL", minilm_path())
    assert ingest_main(["--quiet", one_article]) == 2  # the mismatch, named
    assert ingest_main(["--quiet", "--reset", one_article]) == 0
