"""The REST API end to end: the sample in real Chroma, the real embedder, the lifespan running."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

MUSK_FR = "Combien Elon Musk a-t-il proposé pour prendre le contrôle d'OpenAI ?"
MUSK_EN = "How much did Elon Musk offer to take control of OpenAI?"
PASSAGE_KEYS = {"doc_id", "chunk_id", "title", "source", "date", "text", "start", "end", "score"}


def ask(client: TestClient, question: str, **extra: object) -> dict:
    response = client.post("/ask", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def assert_markers_match_citations(body: dict) -> None:
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", body["answer"])}
    assert markers == {c["marker"] for c in body["citations"]}


def test_french_question_answered_in_french_with_the_cited_figure(client: TestClient) -> None:
    body = ask(client, MUSK_FR)
    assert body["language"] == "fr" and not body["abstained"]
    assert body["answer"].startswith("D’après les articles")
    assert "97 milliards" in body["answer"]
    assert any("97 milliards" in c["text"] for c in body["citations"])
    assert body["backend"] == "extractive"
    assert_markers_match_citations(body)


def test_english_question_gets_an_english_lead_in_and_the_same_passage(client: TestClient) -> None:
    fr, en = ask(client, MUSK_FR), ask(client, MUSK_EN)
    assert en["language"] == "en" and not en["abstained"]
    assert en["answer"].startswith("According to the articles")
    assert "97 milliards" in en["answer"]
    cited = {(c["doc_id"], c["start"], c["end"]) for c in en["citations"]}
    assert cited & {(c["doc_id"], c["start"], c["end"]) for c in fr["citations"]}
    assert_markers_match_citations(en)


@pytest.mark.parametrize(
    "question", ["Quelle est la recette de la tarte Tatin ?", "What is the recipe for tarte Tatin?"]
)
def test_a_question_the_articles_do_not_cover_is_declined(
    client: TestClient, question: str
) -> None:
    body = ask(client, question)
    assert body["abstained"] and body["citations"] == []
    assert re.search(r"ne le disent pas|do not say", body["answer"])


def test_a_question_in_an_article_is_never_quoted_as_an_answer(client: TestClient) -> None:
    """The sample's "Et si l'intelligence artificielle devenait le nouvel allié des
    gouvernements ?" and "Comment une telle offre peut-elle transformer ... ?" ask; they were
    quoted as the answer to how long the offer lasts (eval/questions.jsonl, q042)."""
    body = ask(client, "How long will the one-dollar offer to the US federal government last?")
    assert all(not c["text"].rstrip(" »”").endswith("?") for c in body["citations"]), body
    assert "?" not in body["answer"]


def test_citation_offsets_point_into_the_cited_passage(client: TestClient) -> None:
    body = ask(client, "Combien SoftBank aurait-il injecté dans Stargate selon Musk ?")
    assert not body["abstained"]
    for c in body["citations"]:
        assert c["passage_start"] <= c["start"] < c["end"] <= c["passage_end"]
        assert (
            c["passage"][c["start"] - c["passage_start"] : c["end"] - c["passage_start"]]
            == c["text"]
        )
    assert any("10 milliards" in c["text"] for c in body["citations"])


def test_search_returns_the_contract_fields_best_first(client: TestClient) -> None:
    response = client.post("/search", json={"query": "projet Stargate SoftBank Oracle", "top_k": 3})
    results = response.json()["results"]
    assert response.status_code == 200 and len(results) == 3
    assert set(results[0]) >= PASSAGE_KEYS
    assert results[0]["source"].startswith("004_")
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert all(r["end"] - r["start"] == len(r["text"]) for r in results)


def test_documents_lists_what_is_indexed(client: TestClient) -> None:
    docs = client.get("/documents").json()["documents"]
    assert [d["source"] for d in docs] == sorted(d["source"] for d in docs)
    assert len(docs) == 5 and all(d["chunks"] > 0 for d in docs)
    by_source = {d["source"][:3]: d for d in docs}
    assert by_source["000"]["sources"] == ["New York Times", "Forbes"]
    assert by_source["001"]["date"] == "2025-04"
    assert by_source["004"]["title"].startswith("Projet Stargate")


def test_health_reports_ready_with_counts(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ready" and body["documents"] == 5 and body["chunks"] > 30
    assert body["embedder"] == "use:multilingual-v3:512"
    assert body["backend"] == "extractive" and body["model"] == "none"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"question": ""}, "question: String should have at least 1 character"),
        ({"question": "   "}, "question: Value error, must contain text"),
        ({"question": "x" * 1001}, "question: String should have at most 1000 characters"),
        ({"question": "Qui ?", "top_k": 0}, "top_k: Input should be greater than or equal to 1"),
        ({"question": "Qui ?", "top_k": 21}, "top_k: Input should be less than or equal to 20"),
        ({}, "question: Field required"),
    ],
)
def test_bad_questions_get_a_422_that_says_what_is_wrong(
    client: TestClient, payload: dict, message: str
) -> None:
    response = client.post("/ask", json=payload)
    assert response.status_code == 422
    assert response.json()["error"] == "ValidationError"
    assert response.json()["message"].startswith(message)


def test_errors_share_one_shape_and_never_carry_a_trace(client: TestClient) -> None:
    broken = client.post(
        "/search", content=b"{not json", headers={"content-type": "application/json"}
    )
    missing = client.get("/nowhere")
    assert broken.status_code == 422 and broken.json() == {
        "error": "ValidationError",
        "message": "body: not valid JSON",
    }
    assert missing.status_code == 404 and missing.json()["error"] == "HTTPError"
    for response in (broken, missing):
        assert "Traceback" not in response.text


def test_unexpected_failures_are_a_500_without_a_trace(sample_settings: object) -> None:
    from app.factory import create_app

    app = create_app(sample_settings)  # type: ignore[arg-type]

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": "InternalError",
        "message": "the service failed to handle this request",
    }


def test_openapi_documents_the_endpoints_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/search", "/ask", "/documents", "/health"} <= set(spec["paths"])
    assert spec["components"]["schemas"]["AskRequest"]["examples"][0]["question"] == MUSK_FR
    assert client.get("/docs").status_code == 200


def test_an_answer_about_someone_else_is_no_answer(client: TestClient) -> None:
    """The articles report Altman's donation to the inauguration fund and name Zuckerberg
    elsewhere; the articles quoted for a donation never name him."""
    body = ask(client, "Combien Mark Zuckerberg a-t-il donné au fonds d'inauguration de Trump ?")
    assert body["abstained"] and body["citations"] == []


def test_a_question_set_in_a_year_is_answered_from_that_year(client: TestClient) -> None:
    body = ask(
        client, "Back in 2019, which Democratic presidential hopeful did Altman raise money for?"
    )
    assert not body["abstained"]
    assert "Andrew Yang" in body["answer"]
    assert all("2019" in c["text"] for c in body["citations"])
    body = ask(client, "How much money did Altman's 2019 fundraiser for Andrew Yang bring in?")
    assert body["abstained"]  # the articles give no figure for it


def test_an_amount_asked_by_its_name_is_an_amount_of_that_name(client: TestClient) -> None:
    """Musk's 97 billion offer is an amount, not OpenAI's valuation (the article giving a
    valuation never names OpenAI); the March round's valuation is not the next round's."""
    body = ask(client, "Quelle valorisation OpenAI a-t-elle atteinte en mars ?")
    assert body["abstained"] and body["citations"] == [], body["answer"]
    body = ask(client, "Quelle valorisation pourrait atteindre l'entreprise à sa prochaine levée ?")
    assert "500 milliards" in body["answer"] and "300 milliards" not in body["answer"]


def test_a_list_item_is_read_with_the_sentence_that_introduces_it(client: TestClient) -> None:
    """« - En mai 2020, il a fait un don de 250 000 dollars à une organisation (American
    Bridge 21st Century) qui soutenait le candidat Joe Biden. » names Sam Altman only in the
    sentence introducing its list; it was no answer to a question naming him."""
    body = ask(client, "Combien Sam Altman a-t-il donné pour soutenir Joe Biden ?")
    assert not body["abstained"], body["answer"]
    assert any("250 000 dollars" in c["text"] for c in body["citations"]), body["answer"]
    # the lead-in lends its words, not the names the articles never give
    body = ask(client, "Combien Sam Altman a-t-il donné pour soutenir Kamala Harris ?")
    assert body["abstained"], body["answer"]


def test_a_where_question_is_answered_by_the_sentence_placing_it(client: TestClient) -> None:
    """« Où se trouve Mar-a-Lago ? » abstained: "trouve" counted as a word the answer lacked."""
    body = ask(client, "Où se trouve Mar-a-Lago ?")
    assert not body["abstained"], body["answer"]
    assert any("Palm Beach, en Floride" in c["text"] for c in body["citations"]), body["answer"]
    body = ask(client, "In which US state are the Stargate construction sites located?")
    assert body["abstained"], body["answer"]  # q093: « aux Etats-Unis » is no state
