"""Several workers on a real Chroma server: questions asked while documents change see one whole
version, and a bounded load on loopback gets no error. LOAD_SECONDS sets the load's length."""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from eval.dataset import load_questions
from tests.conftest import ARTICLES
from tests.service import chroma_server, running_service

ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", "test-artifacts"))


def version(text: str, number: int) -> str:
    """An article in a few chunks, all about one made-up word, with the version's numbers."""
    paragraphs = [
        " ".join(
            f"Le projet Zorbalune {number} avance : la phase {p} compte {number * 10 + k} "
            f"ouvriers sur le chantier {k}." + text
            for k in range(14)
        )
        for p in range(3)
    ]
    return "Zorbalune\n" + "\n\n".join(paragraphs) + "\n"


@pytest.mark.slow
def test_questions_asked_during_uploads_see_one_whole_version(tmp_path: Path) -> None:
    with (
        chroma_server(tmp_path / "server") as chroma,
        running_service(
            tmp_path,
            [ARTICLES],
            workers=2,
            **chroma.env,
            REFRESH_SECONDS="0.5",
            # Every chunk of the templated article in the top 10, so that a partial version
            # would show: near-duplicates are not collapsed here.
            DUPLICATE_COSINE="1.5",
        ) as service,
    ):
        stop = threading.Event()
        seen: list[tuple[str, ...]] = []
        failures: list[str] = []

        def ask_again_and_again() -> None:
            with httpx.Client(base_url=service.url, timeout=30) as client:
                while not stop.is_set():
                    found = client.post(
                        "/search", json={"query": "Zorbalune chantier", "top_k": 10}
                    )
                    answer = client.post(
                        "/ask", json={"question": "Combien d'ouvriers Zorbalune ?"}
                    )
                    if found.status_code != 200 or answer.status_code != 200:
                        failures.append(f"{found.status_code} {answer.status_code}")
                        continue
                    ids = [r["chunk_id"] for r in found.json()["results"] if r["doc_id"] == "zorba"]
                    seen.append(tuple(sorted(ids)))

        readers = [threading.Thread(target=ask_again_and_again) for _ in range(3)]
        for reader in readers:
            reader.start()
        uploads = []
        with httpx.Client(base_url=service.url, timeout=60) as client:
            for number in range(1, 7):
                sent = client.post(
                    "/documents",
                    files={
                        "file": ("zorba.txt", version(" Suite.", number).encode(), "text/plain")
                    },
                )
                uploads.append(sent.json())
                time.sleep(0.3)
            time.sleep(1.5)  # past REFRESH_SECONDS: every worker now knows the last version
            last = [client.post("/search", json={"query": "Zorbalune chantier", "top_k": 10})]
            last += [client.post("/search", json={"query": "Zorbalune chantier", "top_k": 10})]
        stop.set()
        for reader in readers:
            reader.join(timeout=60)

    assert not failures
    assert [u["status"] for u in uploads] == ["added"] + ["replaced"] * 5
    chunks = uploads[0]["chunks"]
    assert 2 <= chunks <= 10 and all(u["chunks"] == chunks for u in uploads)
    versions_seen: Counter[str] = Counter()
    for ids in seen:
        hashes = {chunk_id.split(":")[1] for chunk_id in ids}
        assert len(hashes) <= 1, f"two versions mixed: {ids}"
        assert len(ids) in (0, chunks), f"a partial version: {ids}"
        versions_seen.update(hashes)
    assert len(versions_seen) >= 3, "the readers should have seen several versions go by"
    final = {r["chunk_id"].split(":")[1] for s in last for r in s.json()["results"]}
    assert len(final & set(versions_seen)) == 1  # both workers answer with the same, last one


async def load(
    url: str, seconds: float, concurrency: int, questions: list[str]
) -> dict[str, object]:
    """`concurrency` clients alternating /search and /ask for `seconds`; no request repeats."""
    latencies: dict[str, list[float]] = {"/search": [], "/ask": []}
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + seconds

    async def client_loop(worker: int) -> None:
        n = 0
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            while time.monotonic() < deadline:
                question = f"{questions[(worker * 7919 + n) % len(questions)]} ({worker}-{n})"
                path = "/search" if n % 2 else "/ask"
                body = {"query": question} if path == "/search" else {"question": question}
                started = time.perf_counter()
                response = await client.post(path, json=body)
                latencies[path].append(time.perf_counter() - started)
                statuses[response.status_code] += 1
                n += 1

    started = time.monotonic()
    await asyncio.gather(*(client_loop(w) for w in range(concurrency)))
    elapsed = time.monotonic() - started

    def ms(values: list[float], q: int) -> float:
        return round(statistics.quantiles(values, n=100)[q - 1] * 1000, 1)

    return {
        "seconds": round(elapsed, 1),
        "concurrency": concurrency,
        "requests": sum(statuses.values()),
        "requests_per_second": round(sum(statuses.values()) / elapsed, 1),
        "statuses": dict(statuses),
        **{
            f"{path} p{q} ms": ms(values, q)
            for path, values in latencies.items()
            for q in (50, 95, 99)
        },
    }


@pytest.mark.slow
def test_a_bounded_load_on_two_workers_over_a_chroma_server_gets_no_error(tmp_path: Path) -> None:
    seconds = float(os.environ.get("LOAD_SECONDS", "20"))
    questions = [q.question for q in load_questions()]
    # Keep-alive connections may all land on one worker: the metrics are summed over both, as
    # the Dockerfile has them, so whichever worker answers /metrics counts every request.
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    with (
        chroma_server(tmp_path / "server") as chroma,
        running_service(
            tmp_path, [ARTICLES], workers=2, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), **chroma.env
        ) as service,
    ):
        figures = asyncio.run(load(service.url, seconds, 32, questions))
        metrics = httpx.get(f"{service.url}/metrics").text
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
    assert figures["statuses"] == {200: figures["requests"]}
    assert figures["requests"] >= 32  # every client was answered; speed is the benchmark's
    served = re.findall(r'^qa_http_requests_total\{.*status="200"\} ([0-9.e+]+)$', metrics, re.M)
    assert sum(map(float, served)) >= figures["requests"], "requests missing from /metrics"
