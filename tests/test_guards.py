"""What stands between a caller and the routes: the API key, the rate limit, body limits; and
what the service tells its operators: request ids, structured logs, Prometheus metrics."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.factory import create_app
from app.guards import RateLimiter
from config import Settings

KEY = "s3cret-key-for-tests"
QUESTION = {"question": "Combien Elon Musk a-t-il proposé pour OpenAI ?"}


@pytest.fixture(scope="module")
def guarded(sample_settings: Settings) -> Iterator[TestClient]:
    settings = sample_settings.model_copy(
        update={"api_key": SecretStr(KEY), "rate_limit_per_minute": 1000, "max_body_bytes": 5_000}
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/search", {"query": "offre de Musk"}),
        ("POST", "/ask", QUESTION),
        ("GET", "/documents", None),
        ("GET", "/documents/001_d494c912059ead2f", None),
        ("GET", "/metrics", None),
        ("GET", "/openapi.json", None),
    ],
)
def test_with_a_key_set_every_endpoint_wants_it(
    guarded: TestClient, method: str, path: str, body: object
) -> None:
    refused = guarded.request(method, path, json=body)
    assert refused.status_code == 401
    assert refused.json()["error"] == "Unauthorized" and "X-API-Key" in refused.json()["message"]
    wrong = guarded.request(method, path, json=body, headers={"X-API-Key": KEY + "x"})
    assert wrong.status_code == 401
    for headers in ({"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"}):
        assert guarded.request(method, path, json=body, headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/health", "/", "/widget.js"])
def test_the_probe_and_the_widget_files_need_no_key(guarded: TestClient, path: str) -> None:
    assert guarded.get(path).status_code == 200


def test_without_a_key_set_nothing_is_asked(client: TestClient) -> None:
    assert client.post("/search", json={"query": "offre de Musk"}).status_code == 200
    assert client.get("/metrics").status_code == 200


def test_the_rate_limit_answers_429_with_retry_after_per_client(
    sample_settings: Settings,
) -> None:
    settings = sample_settings.model_copy(update={"rate_limit_per_minute": 3})
    app = create_app(settings)
    with TestClient(app, client=("10.0.0.1", 5000)) as first:
        statuses = [first.post("/search", json={"query": "Musk"}).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = first.post("/search", json={"query": "Musk"})
        assert limited.json()["error"] == "RateLimited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 20  # one request every 20 s
        assert first.get("/health").status_code == 200  # probes are never limited
    with TestClient(app, client=("10.0.0.2", 5000)) as second:
        assert second.post("/search", json={"query": "Musk"}).status_code == 200


def test_a_rate_limit_bucket_refills_evenly() -> None:
    limiter = RateLimiter(per_minute=60)
    assert all(limiter.wait_for("a", now=0.0) == 0 for _ in range(60))
    assert limiter.wait_for("a", now=0.0) == pytest.approx(1.0)
    assert limiter.wait_for("a", now=0.5) == pytest.approx(0.5)
    assert limiter.wait_for("a", now=1.0) == 0
    assert limiter.wait_for("b", now=1.0) == 0


def test_bodies_over_the_limit_are_refused_whether_or_not_they_announce_a_length(
    guarded: TestClient,
) -> None:
    headers = {"X-API-Key": KEY, "Content-Type": "application/json"}
    big = json.dumps({"query": "x" * 6_000}).encode()
    announced = guarded.post("/search", content=big, headers=headers)
    assert announced.status_code == 413 and announced.json()["error"] == "BodyTooLarge"
    chunked = guarded.post("/search", content=iter([big[:3000], big[3000:]]), headers=headers)
    assert chunked.status_code == 413 and chunked.json()["error"] == "BodyTooLarge"
    small = json.dumps({"query": "offre de Musk"}).encode()
    fine = guarded.post("/search", content=iter([small[:5], small[5:]]), headers=headers)
    assert fine.status_code == 200 and fine.json()["results"]


def test_each_response_carries_a_request_id_and_logs_are_json_lines_without_secrets(
    guarded: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    given = guarded.post("/ask", json=QUESTION, headers={"X-API-Key": KEY, "X-Request-ID": "r-42"})
    assert given.headers["X-Request-ID"] == "r-42"
    made = guarded.get("/documents", headers={"X-API-Key": "wrong", "X-Request-ID": "bad id!"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])

    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line]
    access = {entry["request_id"]: entry for entry in lines if entry["logger"] == "app.access"}
    assert access["r-42"]["status"] == 200 and access["r-42"]["path"] == "/ask"
    assert access["r-42"]["ms"] > 0 and access["r-42"]["level"] == "INFO"
    assert access[made.headers["X-Request-ID"]]["status"] == 401
    logged = json.dumps(lines)
    assert KEY not in logged and "wrong" not in logged and "Elon Musk" not in logged


def test_metrics_count_requests_answers_and_errors(guarded: TestClient) -> None:
    headers = {"X-API-Key": KEY}

    def value(text: str, name: str) -> float:
        found = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    before = guarded.get("/metrics", headers=headers).text
    guarded.post("/ask", json=QUESTION, headers=headers)
    guarded.post(
        "/ask", json={"question": "Quelle est la recette de la tarte Tatin ?"}, headers=headers
    )
    guarded.post("/search", json={"top_k": 3}, headers=headers)
    after = guarded.get("/metrics", headers=headers)
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    for name, grew_by in [
        ('qa_http_requests_total{method="POST",route="/ask",status="200"}', 2),
        ('qa_http_requests_total{method="POST",route="/search",status="422"}', 1),
        ('qa_answers_total{outcome="answered"}', 1),
        ('qa_answers_total{outcome="abstained"}', 1),
        ('qa_errors_total{error="ValidationError"}', 1),
        ('qa_errors_total{error="BodyTooLarge"}', 0),  # counted when refused, not before
        ('qa_generation_seconds_count{backend="extractive"}', 2),
        ("qa_retrieval_seconds_count", 2),
    ]:
        assert value(text, name) - value(before, name) == grew_by, name
    assert value(text, 'qa_http_request_seconds_count{method="POST",route="/ask"}') >= 2
