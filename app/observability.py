"""Seeing the service run: a request id on every request and log line, one access log line per
request, and Prometheus metrics at `/metrics`.

Logs carry methods, routes, statuses and timings, never headers or bodies, so neither the API key
nor people's questions end up in them. With several workers, each counts its own metrics unless
PROMETHEUS_MULTIPROC_DIR names a shared folder (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
REQUEST_ID_HEADER = "x-request-id"

# -- metrics ---------------------------------------------------------------------------------------

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

requests_total = Counter(
    "qa_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
request_seconds = Histogram(
    "qa_http_request_seconds",
    "Time to answer an HTTP request (to the end of a streamed body)",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
retrieval_seconds = Histogram(
    "qa_retrieval_seconds", "Time to retrieve passages for a query", buckets=_LATENCY_BUCKETS
)
generation_seconds = Histogram(
    "qa_generation_seconds",
    "Time to write and verify an answer from retrieved passages",
    ["backend"],
    buckets=_LATENCY_BUCKETS,
)
answers_total = Counter(
    "qa_answers_total", "Answers given, by outcome", ["outcome"]
)  # answered, abstained, fallback
errors_total = Counter("qa_errors_total", "Error responses, by kind", ["error"])


@contextmanager
def timed(histogram: Histogram) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.observe(time.perf_counter() - started)


def metrics_body() -> tuple[bytes, str]:
    """The exposition text of every metric (summed over workers in multiprocess mode)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


# -- logs ------------------------------------------------------------------------------------------

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = request_id.get()
        return super().format(record)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a record comes (a test may have replaced it)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def configure_logging(log_format: str, level: str) -> None:
    """Send the service's loggers (`app.*`) to stderr in the chosen format, once."""
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logger = logging.getLogger("app")
    logger.handlers = [handler]
    logger.setLevel(level)
    logger.propagate = False


access_log = logging.getLogger("app.access")


class ObservabilityMiddleware:
    """Gives each request an id (the caller's `X-Request-ID` if sane), returns it in the
    response, logs one line when the response ends, and counts it in the metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        rid = given if _GIVEN_ID.match(given) else uuid.uuid4().hex
        # Not reset at the end: the error handler outside this middleware logs with it too, and
        # each request runs in a task of its own, so the value goes no further.
        request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.encode(), rid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            requests_total.labels(method, route, str(status)).inc()
            request_seconds.labels(method, route).observe(seconds)
            access_log.info(
                "%s %s %d %.1f ms",
                method,
                scope["path"],
                status,
                seconds * 1000,
                extra={
                    "method": method,
                    "path": scope["path"],
                    "status": status,
                    "ms": round(seconds * 1000, 2),
                    "client": (scope.get("client") or ("-",))[0],
                },
            )
