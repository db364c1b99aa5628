"""Where the evaluation sends its questions: a running service, or one built in-process."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx


class Target(Protocol):
    def post(self, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], float]: ...


class HttpTarget:
    """A service over REST, e.g. http://127.0.0.1:8000."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def post(self, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        response = self._client.post(path, json=body)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(
                f"POST {path} answered {response.status_code}: {response.text[:300]}"
            )
        return response.json(), elapsed


@contextmanager
def remote(url: str, timeout: float = 60.0) -> Iterator[HttpTarget]:
    with httpx.Client(base_url=url, timeout=timeout) as client:
        yield HttpTarget(client)


@contextmanager
def in_process(articles: Path, **overrides: Any) -> Iterator[HttpTarget]:
    """The service over the given articles in a temporary Chroma, called through its ASGI app."""
    from fastapi.testclient import TestClient

    from app.factory import create_app
    from config import Settings
    from ingest.pipeline import ingest_paths
    from vectorstore import ChromaStore, make_embedder

    with tempfile.TemporaryDirectory(prefix="eval-") as tmp:
        # The questions come one at a time: none should fall back for waiting behind the
        # model's start-up warm-up on a slow machine (the evaluation measures the answers).
        overrides = {"llm_queue_seconds": 600.0, **overrides}
        settings = Settings(chroma_path=Path(tmp) / "chroma", chroma_host=None, **overrides)
        embedder = make_embedder(settings)
        store = ChromaStore.from_settings(settings, embedder.fingerprint)
        ingest_paths([articles], store, embedder, settings)
        with TestClient(create_app(settings)) as client:
            yield HttpTarget(client)  # type: ignore[arg-type]
