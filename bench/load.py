"""The load generator: `concurrency` clients over real HTTP, bounded in requests and in time.

Each client sends its next request as soon as its previous one is answered (a closed loop), so
concurrency is the number of requests in flight. A level ends when `max_requests` have been sent
or `max_seconds` have passed, whichever comes first; requests in flight then are awaited.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import httpx

from bench.stats import LatencySummary, summarise

REQUEST_TIMEOUT = 60.0


def search_body(text: str, top_k: int = 5) -> dict[str, Any]:
    return {"query": text, "top_k": top_k}


def ask_body(text: str, top_k: int = 5) -> dict[str, Any]:
    return {"question": text, "top_k": top_k}


@dataclass(frozen=True)
class LoadResult:
    """One level against one target."""

    target: str
    endpoint: str
    concurrency: int
    questions: str  # "distinct" or "repeated"
    summary: LatencySummary
    server_cpu_seconds: float | None = None  # CPU the server used during the level
    load_average: float | None = None  # the machine's 1-minute load average as it began
    latencies_ms: tuple[float, ...] = field(default=(), repr=False)  # kept out of the JSON
    slices: int = 1

    @property
    def cpu_ms_per_request(self) -> float | None:
        if self.server_cpu_seconds is None or not self.summary.requests:
            return None
        return self.server_cpu_seconds * 1000 / self.summary.requests

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "endpoint": self.endpoint,
            "concurrency": self.concurrency,
            "questions": self.questions,
            **asdict(self.summary),
            "server_cpu_seconds": self.server_cpu_seconds,
            "cpu_ms_per_request": self.cpu_ms_per_request,
            "load_average": self.load_average,
            "slices": self.slices,
        }


async def _drive(
    url: str,
    body: Callable[[str], dict[str, Any]],
    texts: Iterator[str],
    concurrency: int,
    max_requests: int,
    max_seconds: float,
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT) as client:
        started = time.perf_counter()
        deadline = started + max_seconds

        async def worker() -> None:
            nonlocal errors, sent
            while sent < max_requests and time.perf_counter() < deadline:
                sent += 1
                payload = body(next(texts))
                begun = time.perf_counter()
                try:
                    response = await client.post(url, json=payload)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - begun) * 1000)
                else:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, errors, elapsed


def run_level(
    target: str,
    base_url: str,
    endpoint: str,
    texts: Iterator[str],
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    questions: str = "distinct",
    cpu_clock: Callable[[], float] | None = None,
) -> LoadResult:
    """Load `base_url + endpoint` at one concurrency and summarise what came back;
    `cpu_clock` reads the server's CPU seconds, before and after."""
    body = ask_body if endpoint == "/ask" else search_body
    load_average = os.getloadavg()[0]
    cpu_before = cpu_clock() if cpu_clock else 0.0
    latencies, errors, elapsed = asyncio.run(
        _drive(base_url + endpoint, body, texts, concurrency, max_requests, max_seconds)
    )
    cpu = cpu_clock() - cpu_before if cpu_clock else None
    summary = summarise(latencies, errors, elapsed)
    return LoadResult(
        target, endpoint, concurrency, questions, summary, cpu, load_average, tuple(latencies)
    )


def merge(parts: Sequence[LoadResult]) -> LoadResult:
    """Slices of one level, run at different moments, as one level: latencies pooled, requests
    per second over the slices' summed wall time, CPU summed, load averages averaged."""
    first = parts[0]
    latencies = tuple(x for part in parts for x in part.latencies_ms)
    errors = sum(part.summary.errors for part in parts)
    seconds = sum(part.summary.seconds for part in parts)
    cpus = [part.server_cpu_seconds for part in parts]
    loads = [part.load_average for part in parts if part.load_average is not None]
    return replace(
        first,
        summary=summarise(latencies, errors, seconds),
        server_cpu_seconds=None if None in cpus else sum(c or 0.0 for c in cpus),
        load_average=sum(loads) / len(loads) if loads else None,
        latencies_ms=latencies,
        slices=len(parts),
    )


def post_json(base_url: str, endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
    """One request, its JSON body (raises on an HTTP error)."""
    response = httpx.post(base_url + endpoint, json=payload, timeout=REQUEST_TIMEOUT)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result
