"""Concurrent queries share encoder calls, and each gets its own vectors back."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app.services.batching import BatchingEncoder
from vectorstore import Embedder


class Recording:
    """The real embedder, slowed down so that queries pile up, and the batches it was given."""

    def __init__(self, inner: Embedder, fail_on: str = "") -> None:
        self.inner = inner
        self.batches: list[list[str]] = []
        self.fail_on = fail_on
        self._lock = threading.Lock()

    def embed_query(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            self.batches.append(list(texts))
        time.sleep(0.05)
        if self.fail_on in texts:
            raise RuntimeError("the encoder failed")
        return self.inner.embed_query(texts)


def test_concurrent_queries_are_encoded_in_few_calls_and_each_gets_its_vectors(
    embedder: Embedder,
) -> None:
    recording = Recording(embedder)
    encoder = BatchingEncoder(recording)  # type: ignore[arg-type]
    queries = [[f"question numéro {i}", f"mot{i}"] for i in range(16)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(encoder.embed_query, queries))
    for texts, vectors in zip(queries, results, strict=True):
        np.testing.assert_allclose(vectors, embedder.embed_query(texts), atol=1e-5)
    assert sorted(t for batch in recording.batches for t in batch) == sorted(
        t for texts in queries for t in texts
    )
    assert len(recording.batches) <= 4  # the first alone, then the rest in a few batches
    assert max(len(batch) for batch in recording.batches) > 2


def test_a_query_on_an_idle_encoder_goes_at_once_alone(embedder: Embedder) -> None:
    recording = Recording(embedder)
    encoder = BatchingEncoder(recording)  # type: ignore[arg-type]
    encoder.embed_query(["seul"])
    encoder.embed_query(["encore seul"])
    assert recording.batches == [["seul"], ["encore seul"]]


def test_an_encoder_error_reaches_every_caller_of_its_batch_and_no_other(
    embedder: Embedder,
) -> None:
    recording = Recording(embedder, fail_on="boom")
    encoder = BatchingEncoder(recording)  # type: ignore[arg-type]
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(encoder.embed_query, ["lent"])
        time.sleep(0.01)  # the next three queue behind it and go as one batch
        queued = [pool.submit(encoder.embed_query, [text]) for text in ("boom", "a", "b")]
        assert first.result().shape == (1, embedder.dimension)
        for future in queued:
            with pytest.raises(RuntimeError, match="the encoder failed"):
                future.result()
    assert encoder.embed_query(["après"]).shape == (1, embedder.dimension)


def test_what_follows_the_encoding_runs_in_the_encoder_thread_and_errors_stay_with_their_job(
    embedder: Embedder,
) -> None:
    encoder = BatchingEncoder(Recording(embedder))  # type: ignore[arg-type]

    def fail(_: np.ndarray) -> None:
        raise ValueError("ranking failed")

    threads = encoder.submit(["a"], lambda v: (threading.current_thread().name, v.shape))
    failing = encoder.submit(["b"], fail)
    assert threads.result() == ("query-encoder", (1, embedder.dimension))
    with pytest.raises(ValueError, match="ranking failed"):
        failing.result()
    assert encoder.submit([], lambda v: v.shape[0]).result() == 0  # nothing to encode
    thread = encoder._thread
    assert thread is not None and thread.is_alive()
    encoder.close()
    assert not thread.is_alive()


def test_a_cancelled_query_is_not_encoded(embedder: Embedder) -> None:
    recording = Recording(embedder)
    encoder = BatchingEncoder(recording)  # type: ignore[arg-type]
    first = encoder.submit(["lent"], lambda v: v)
    time.sleep(0.01)  # the encoder is busy with the first
    cancelled = encoder.submit(["annulé"], lambda v: v)
    assert cancelled.cancel()
    assert first.result().shape == (1, embedder.dimension)
    assert encoder.embed_query(["après"]).shape == (1, embedder.dimension)
    assert ["annulé"] not in recording.batches
    encoder.close()
