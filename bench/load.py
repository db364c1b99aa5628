"""The load generator: `concurrency` clients over real HTTP, bounded in requests and in time.

Each client sends its next request as soon as its previous one is answered (a closed loop), so
concurrency is the number of requests in flight. A level ends when `max_requests` have been sent
or `max_seconds` have passed, whichever comes first; requests in flight then are awaited.

The clients speak HTTP/1.1 over keep-alive connections themselves, a few lines over asyncio's
streams: the generator shares the machine's two cores with the server it measures, and httpx's
client spent 1.2 to 1.5 ms of CPU a request, time taken from whichever server was under load.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

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


class _Connection:
    """One keep-alive HTTP/1.1 connection that posts JSON and reads the status and the body."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, payload: dict[str, Any]) -> int:
        body = json.dumps(payload).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            if self._streams is None:
                self._streams = await asyncio.open_connection(self._host, self._port)
            reader, writer = self._streams
            writer.write(head + body)
            return await asyncio.wait_for(_read_response(reader), REQUEST_TIMEOUT)
        except (
            TimeoutError,
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
        ):
            self.close()
            return 0

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Reads one response (Content-Length or chunked body) and returns its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")  # the blank line after the last chunk
    else:
        raise ValueError("a response without a length")
    return status


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
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
    started = time.perf_counter()
    deadline = started + max_seconds

    async def worker() -> None:
        nonlocal errors, sent
        connection = _Connection(host, port)
        try:
            while sent < max_requests and time.perf_counter() < deadline:
                sent += 1
                payload = body(next(texts))
                begun = time.perf_counter()
                if await connection.post(path, payload) == 200:
                    latencies.append((time.perf_counter() - begun) * 1000)
                else:
                    errors += 1
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started


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
