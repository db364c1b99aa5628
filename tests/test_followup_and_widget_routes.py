from __future__ import annotations

from fastapi.testclient import TestClient

from app.factory import create_app
from app.schemas import Turn
from app.services.followup import self_contained
from config import Settings

STARGATE = [
    Turn(role="user", content="Que sait-on du projet Stargate et de SoftBank ?"),
    Turn(role="assistant", content="D’après les articles : « … » [1]"),
]


def test_a_follow_up_borrows_the_names_of_the_last_question() -> None:
    assert self_contained("Et combien aurait-il injecté ?", STARGATE) == (
        "Et combien aurait-il injecté ? Stargate SoftBank"
    )
    assert self_contained("How much did it cost?", STARGATE) == (
        "How much did it cost? Stargate SoftBank"
    )
    # A question that stands alone, or has no history, is searched as it is.
    assert self_contained("Qui dirige Oracle selon l'article sur Stargate ?", STARGATE) == (
        "Qui dirige Oracle selon l'article sur Stargate ?"
    )
    assert self_contained("Et combien ?", []) == "Et combien ?"


def test_history_makes_a_follow_up_answerable(client: TestClient) -> None:
    question = "Et combien aurait-il injecté selon Musk ?"
    history = [t.model_dump() for t in STARGATE]
    with_history = client.post("/ask", json={"question": question, "history": history}).json()
    alone = client.post("/ask", json={"question": question}).json()
    # With the history the best evidence is SoftBank's; alone, the question is about anything.
    assert "10 milliards" in with_history["citations"][0]["text"]
    assert "10 milliards" not in alone["citations"][0]["text"]


def test_history_is_validated(client: TestClient) -> None:
    response = client.post(
        "/ask", json={"question": "Et ?", "history": [{"role": "robot", "content": "x"}]}
    )
    assert response.status_code == 422
    assert response.json()["message"].startswith("history.0.role: Input should be 'user'")


def test_widget_and_demo_page_are_served(client: TestClient) -> None:
    script = client.get("/widget.js")
    page = client.get("/")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    assert "attachShadow" in script.text and "innerHTML" not in script.text
    assert page.status_code == 200 and '<script src="/widget.js"' in page.text


def test_cors_allows_only_the_configured_origins(sample_settings: Settings) -> None:
    settings = sample_settings.model_copy(update={"cors_origins": ["https://news.example"]})
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    with TestClient(create_app(settings)) as c:
        allowed = c.options("/ask", headers={"Origin": "https://news.example", **preflight})
        refused = c.options("/ask", headers={"Origin": "https://evil.example", **preflight})
    assert allowed.headers["access-control-allow-origin"] == "https://news.example"
    assert "access-control-allow-origin" not in refused.headers
