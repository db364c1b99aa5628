"""Shared fixtures: real Chroma in temporary folders, the real default embedder, the sample."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.factory import create_app
from config import PROJECT_ROOT, Settings
from ingest.pipeline import ingest_paths
from vectorstore import ChromaStore, Embedder, make_embedder

ARTICLES = PROJECT_ROOT / "data" / "articles"


def make_settings(tmp: Path, **overrides: object) -> Settings:
    """Settings that keep Chroma in a temporary folder, whatever the environment says."""
    values: dict[str, object] = {
        "chroma_path": tmp / "chroma",
        "chroma_host": None,
        "embedder_backend": "use",
        "collection": "articles",
        # The model-free backend unless a test asks for a model: the reader has its own tests.
        "llm_backend": "extractive",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default embedder (USE multilingual v3), loaded once for the session."""
    return make_embedder(Settings(embedder_backend="use"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def store(settings: Settings, embedder: Embedder) -> ChromaStore:
    return ChromaStore.from_settings(settings, embedder.fingerprint)


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """A store holding the shipped sample articles, ingested once for the session."""
    settings = make_settings(tmp_path_factory.mktemp("sample"))
    store = ChromaStore.from_settings(settings, embedder.fingerprint)
    report = ingest_paths([ARTICLES], store, embedder, settings)
    assert report.documents == 5 and not report.skipped
    return settings


@pytest.fixture(scope="session")
def client(sample_settings: Settings) -> Iterator[TestClient]:
    """The service over the sample articles, lifespan running."""
    with TestClient(create_app(sample_settings)) as test_client:
        yield test_client
