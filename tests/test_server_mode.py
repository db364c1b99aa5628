"""Server mode for real: `chroma run` on 127.0.0.1, the ingester and uvicorn workers on it."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.conftest import ARTICLES
from tests.service import chroma_server, running_service

MUSK = "Combien Elon Musk a-t-il proposé pour prendre le contrôle d'OpenAI ?"


def test_ingest_search_and_ask_against_a_chroma_server_with_two_workers(tmp_path: Path) -> None:
    with (
        chroma_server(tmp_path / "server") as chroma,
        running_service(tmp_path, [ARTICLES], workers=2, **chroma.env) as service,
        httpx.Client(base_url=service.url, timeout=30) as client,
    ):
        health = client.get("/health").json()
        answers = [client.post("/ask", json={"question": MUSK}).json() for _ in range(4)]
        found = client.post("/search", json={"query": "Stargate SoftBank", "top_k": 3}).json()
    assert not (tmp_path / "chroma").exists(), "nothing may be written to the embedded path"
    assert health["documents"] == 5 and health["chunks"] > 30
    assert all("97 milliards" in a["answer"] for a in answers)
    assert found["results"][0]["source"].startswith("004_")


def test_chroma_down_gives_503_at_once_and_the_service_recovers(tmp_path: Path) -> None:
    data = tmp_path / "server"
    with (
        chroma_server(data) as chroma,
        running_service(
            tmp_path,
            [ARTICLES],
            **chroma.env,
            REFRESH_SECONDS="1",
        ) as service,
        httpx.Client(base_url=service.url, timeout=30) as client,
    ):
        assert client.post("/search", json={"query": "Stargate"}).status_code == 200
        chroma.stop()
        started = time.monotonic()
        assert client.get("/health").status_code == 503  # the probe asks the store itself
        # Questions are answered from memory; the watcher notices the store gone within
        # REFRESH_SECONDS, and from then on questions get the store's error.
        down = poll(lambda: client.post("/ask", json={"question": MUSK}), 503)
        assert time.monotonic() - started < 5
        assert down.json() == {
            "error": "StoreUnavailable",
            "message": "the vector store cannot be reached (get)",
        }
        with chroma_server(data, chroma.port):
            back = poll(lambda: client.post("/ask", json={"question": MUSK}), 200)
        assert "97 milliards" in back.json()["answer"]


def poll(
    call: Callable[[], httpx.Response],
    status: int,
    seconds: float = 5,
    until: Callable[[httpx.Response], bool] = lambda response: True,
) -> httpx.Response:
    """Call until the response has `status` (and `until` holds of it), for at most `seconds`;
    the last response."""
    deadline = time.monotonic() + seconds

    def done(response: httpx.Response) -> bool:
        return response.status_code == status and until(response)

    response = call()
    while not done(response) and time.monotonic() < deadline:
        time.sleep(0.1)
        response = call()
    assert done(response), response.text
    return response


def test_a_chroma_server_that_stops_answering_gives_503_within_its_time_limit(
    tmp_path: Path,
) -> None:
    with (
        chroma_server(tmp_path / "server") as chroma,
        running_service(
            tmp_path,
            [ARTICLES],
            **chroma.env,
            CHROMA_TIMEOUT="1",
            REFRESH_SECONDS="0.5",
        ) as service,
        httpx.Client(base_url=service.url, timeout=30) as client,
    ):
        assert client.get("/health").status_code == 200
        os.kill(chroma.process.pid, signal.SIGSTOP)  # alive, connections accepted, no answers
        try:
            started = time.monotonic()
            frozen = client.get("/health")
            assert frozen.status_code == 503 and frozen.json()["error"] == "StoreUnavailable"
            assert time.monotonic() - started < 3
            poll(lambda: client.post("/ask", json={"question": MUSK}), 503)
        finally:
            os.kill(chroma.process.pid, signal.SIGCONT)
        back = poll(lambda: client.post("/ask", json={"question": MUSK}), 200)
        assert "97 milliards" in back.json()["answer"]


def test_store_mode_on_a_chroma_server_two_hosts_see_an_upload(tmp_path: Path) -> None:
    """Two "hosts" on one Chroma server, each with its own lexical index: one runs two
    workers, the other one. An upload to the first is found by both of its workers at once
    (they read the store, not a copy), and by the other host within its refresh."""
    store_mode = {"RETRIEVAL_MODE": "store", "REFRESH_SECONDS": "0.5"}
    with (
        chroma_server(tmp_path / "server") as chroma,
        running_service(tmp_path / "a", [ARTICLES], workers=2, **chroma.env, **store_mode) as first,
        running_service(tmp_path / "b", [], **chroma.env, **store_mode) as second,
        httpx.Client(timeout=30) as client,
    ):
        for service in (first, second):
            health = client.get(f"{service.url}/health").json()
            assert health["retrieval"] == "store" and health["documents"] == 5
            answer = client.post(f"{service.url}/ask", json={"question": MUSK}).json()
            assert "97 milliards" in answer["answer"]
        files = {"file": ("verger.txt", VERGER.encode(), "text/plain")}
        uploaded = client.post(f"{first.url}/documents", files=files)
        assert uploaded.json()["status"] == "added"
        started = time.monotonic()
        query = {"query": "pommes vergers normands", "top_k": 3}
        # Keep-alive off: each request may land on either worker of the first host.
        for _ in range(8):
            found = httpx.post(f"{first.url}/search", json=query, timeout=30).json()
            assert found["results"][0]["doc_id"] == "verger"
        seen = poll(
            lambda: client.post(f"{second.url}/search", json=query),
            200,
            until=lambda r: r.json()["results"][0]["doc_id"] == "verger",
        )
        assert time.monotonic() - started < 5, "the other host took too long"
        assert seen.json()["results"][0]["text"].startswith("Le premier texte")
    assert not (tmp_path / "a" / "chroma").exists(), "nothing may be written to the embedded path"
    assert (tmp_path / "a" / "lexical").is_dir() and (tmp_path / "b" / "lexical").is_dir()


VERGER = "Le premier texte parle de pommes et de vergers normands. " * 30
