"""Hybrid retrieval: chunk vectors, sentence vectors and BM25 over the same chunks, fused by rank.

Reciprocal rank fusion (Cormack et al., 2009) needs no score calibration between the lists: each
chunk scores `w / (k + rank)` in each list it appears in. BM25 catches exact names and numbers;
the multilingual vectors carry an English question to French passages.

The vectors live in Chroma, which is read once into a Snapshot (and again when the documents
change); a question is then answered from memory, with no round trip to the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, Protocol, TypeVar

import numpy as np

from app.services.batching import BatchingEncoder
from app.services.bm25 import BM25Index
from app.services.bridge import VocabularyBridge
from app.services.filters import DocumentFilter
from app.services.remembered import Remembered
from config import Settings
from vectorstore import ChromaStore, Chunk, ChunkHit, Embedder, Sentence
from vectorstore.errors import StoreUnavailable
from vectorstore.store import LiveVersion
from vectorstore.tokens import surface_words

_SNAPSHOT_ATTEMPTS = 3
T = TypeVar("T")
_SENTENCE_CANDIDATES = 200
# Up to this many chunks, an event loop ranks a query's passages itself (HybridRetriever.search):
# ranking took 0.2 ms on 43 chunks, 0.75 ms on 434, 5.6 ms on 18,249.
INLINE_RANKING_CHUNKS = 1_000
_FILTER_MASKS = 64  # the masks of this many filters are kept per snapshot


@dataclass(frozen=True)
class Snapshot:
    """The live chunks and sentences of the corpus at one moment, with their vectors, lexical
    index and vocabulary bridge: everything a question needs, in memory, so that answering one
    makes no round trip to the store. A question sees each document in one version only."""

    generation: str
    documents: int
    chunks: list[Chunk]
    by_id: dict[str, Chunk]
    chunk_vectors: np.ndarray
    sentences: list[Sentence]  # in document order
    sentence_vectors: np.ndarray
    sentence_chunk: np.ndarray  # the chunk (its index in `chunks`) of each sentence
    rows_of_chunk: dict[str, np.ndarray]  # chunk id -> its sentences' rows, ascending
    chunk_rows: np.ndarray  # every chunk's rows, chunk after chunk ...
    row_offsets: np.ndarray  # ... chunk i's from row_offsets[i] to row_offsets[i + 1]
    chunks_of_document: dict[str, list[int]]  # doc id -> its chunks' indices
    bm25: BM25Index
    bridge: VocabularyBridge
    _masks: Remembered[DocumentFilter, np.ndarray] = field(
        default_factory=lambda: Remembered(_FILTER_MASKS), compare=False, repr=False
    )

    def nearest_chunks(
        self, vector: np.ndarray, n: int, allowed: np.ndarray | None = None
    ) -> np.ndarray:
        """Indices of the n chunks nearest to a vector, best first (exact cosine); only
        those where the boolean mask `allowed` is True, if given."""
        return top_rows(self.chunk_vectors, vector, n, allowed)

    def allowed_chunks(self, document_filter: DocumentFilter | None) -> np.ndarray | None:
        """A boolean mask over `chunks`: True for the chunks of the documents the filter
        allows; None for no filter. Each filter's mask is computed once per snapshot (one
        test per document, not per chunk) and the last `_FILTER_MASKS` are kept."""
        if document_filter is None:
            return None
        mask = self._masks.get(document_filter)
        if mask is None:
            mask = np.zeros(len(self.chunks), dtype=bool)
            for rows in self.chunks_of_document.values():
                if document_filter.allows(self.chunks[rows[0]].doc):
                    mask[rows] = True
            self._masks.put(document_filter, mask)
        return mask

    def chunks_by_best_sentence(self, vector: np.ndarray, n: int, among: np.ndarray) -> list[int]:
        """Indices of the chunks, among the given ones, holding the n sentences nearest to a
        vector, ranked by their best sentence."""
        _, first = np.unique(among, return_index=True)
        chunks = among[np.sort(first)]  # once each, in the order given
        starts = self.row_offsets[chunks]
        counts = self.row_offsets[chunks + 1] - starts
        # Each chunk's rows in turn, without a Python loop: the position of every row within
        # its chunk added to where that chunk's rows start.
        ends = np.cumsum(counts)
        within = np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - counts, counts)
        rows = self.chunk_rows[np.repeat(starts, counts) + within]
        best = rows[top_rows(self.sentence_vectors[rows], vector, n)]
        return list(dict.fromkeys(self.sentence_chunk[best].tolist()))

    def document_texts(self, doc_ids: set[str]) -> list[str]:
        """The texts of every chunk of these documents (chunks overlap: for looking words up,
        not for reading)."""
        return [self.chunks[i].text for d in doc_ids for i in self.chunks_of_document.get(d, ())]

    def sentences_of(self, chunk_ids: list[str]) -> tuple[list[Sentence], np.ndarray]:
        """The sentences of the given chunks, with their vectors, in document order."""
        parts = [self.rows_of_chunk[c] for c in set(chunk_ids) if c in self.rows_of_chunk]
        rows = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        return [self.sentences[r] for r in rows.tolist()], self.sentence_vectors[rows]

    @classmethod
    def build(
        cls,
        generation: str,
        documents: int,
        chunks: tuple[list[Chunk], np.ndarray],
        sentences: tuple[list[Sentence], np.ndarray],
        bridge: VocabularyBridge,
    ) -> Snapshot:
        chunk_list, chunk_vectors = chunks
        order = sorted(range(len(sentences[0])), key=lambda i: _reading_order(sentences[0][i]))
        sentence_list = [sentences[0][i] for i in order]
        rows_of_chunk: dict[str, list[int]] = {}
        for row, sentence in enumerate(sentence_list):
            rows_of_chunk.setdefault(sentence.chunk_id, []).append(row)
        index_of = {c.id: i for i, c in enumerate(chunk_list)}
        # Arrays: a question gathers the rows of hundreds of chunks at scale.
        per_chunk = [np.array(rows_of_chunk.get(c.id, ()), dtype=np.int64) for c in chunk_list]
        counts = [len(rows) for rows in per_chunk]
        return cls(
            generation=generation,
            documents=documents,
            chunks=chunk_list,
            by_id={c.id: c for c in chunk_list},
            chunk_vectors=chunk_vectors,
            sentences=sentence_list,
            sentence_vectors=sentences[1][order] if order else sentences[1],
            sentence_chunk=np.array([index_of[s.chunk_id] for s in sentence_list], np.int64),
            rows_of_chunk={c.id: rows for c, rows in zip(chunk_list, per_chunk, strict=True)},
            chunk_rows=np.concatenate(per_chunk) if per_chunk else np.zeros(0, np.int64),
            row_offsets=np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]),
            chunks_of_document=_chunks_of_document(chunk_list),
            bm25=BM25Index([c.text for c in chunk_list]),
            bridge=bridge,
        )


def _chunks_of_document(chunks: list[Chunk]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for i, chunk in enumerate(chunks):
        found.setdefault(chunk.doc_id, []).append(i)
    return found


def release_free_memory() -> None:
    """Hand back to the system the memory a snapshot's reading freed (Chroma's pages, copies):
    glibc keeps it otherwise (117 MB of 883 on a corpus of 5,000 chunks, measured)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _reading_order(sentence: Sentence) -> tuple[str, int]:
    return sentence.doc_id, sentence.start


def top_rows(
    matrix: np.ndarray, vector: np.ndarray, n: int, allowed: np.ndarray | None = None
) -> np.ndarray:
    """Row indices of the n rows with the highest dot product with `vector`, best first;
    only rows where the boolean mask `allowed` is True, if given."""
    if not len(matrix):
        return np.zeros(0, dtype=np.int64)
    scores = matrix @ vector
    if allowed is not None:
        scores[~allowed] = -np.inf
    n = min(n, len(scores) if allowed is None else int(np.count_nonzero(allowed)))
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    best = np.argpartition(-scores, n - 1)[:n]
    return best[np.argsort(-scores[best])]


class Corpus(Protocol):
    """What answering reads of the corpus besides the hits: a Snapshot in memory, or the
    records a store-backed retrieval fetched for one question."""

    @property
    def bridge(self) -> VocabularyBridge: ...

    def sentences_of(self, chunk_ids: list[str]) -> tuple[list[Sentence], np.ndarray]:
        """The sentences of these (retrieved) chunks, in document order, and their vectors
        ((n, dimension) float32, unit length)."""
        ...

    def document_texts(self, doc_ids: set[str]) -> list[str]:
        """The texts of every chunk of these (retrieved) documents."""
        ...


@dataclass(frozen=True)
class Retrieval:
    """What a query found: the fused hits, the query's vector and the vectors of its foreign
    words, and the corpus they come from."""

    hits: list[ChunkHit]
    query_vector: np.ndarray
    query: str
    foreign: dict[str, np.ndarray]
    corpus: Corpus

    @cached_property
    def word_vectors(self) -> dict[str, np.ndarray]:
        """The vectors of the query's words, which the answering backend weighs sentences
        with; found when first asked for (`/search` never asks)."""
        found = self.corpus.bridge.vectors_of(surface_words(self.query))
        found.update(self.foreign)
        return found


class StoreWatch:
    """Whether the store can be reached, as a retriever's watcher last found it: while it
    cannot, questions are refused with its error rather than answered from what nothing
    keeps current."""

    def __init__(self, store: ChromaStore) -> None:
        self.store = store
        self._down: str | None = None

    def generation(self) -> str:
        """The store's generation; StoreUnavailable (remembered until a call succeeds) when
        the store cannot be reached."""
        try:
            generation = self.store.generation()
        except StoreUnavailable as exc:
            self._down = exc.message
            raise
        self._down = None
        return generation

    def check(self) -> None:
        """StoreUnavailable if the last look found the store unreachable."""
        if self._down is not None:
            raise StoreUnavailable(self._down)


class QueryVectors:
    """Vectors of queries and of their foreign words, the last `size` texts remembered: a
    question asked again (a retry, a popular question) is not embedded again. The others go
    through a BatchingEncoder, so that concurrent questions share encoder calls."""

    def __init__(self, embedder: Embedder, size: int) -> None:
        self._encoder = BatchingEncoder(embedder)
        self._known: Remembered[str, np.ndarray] = Remembered(size)

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self.submit(texts, _same).result()

    def submit(self, texts: list[str], then: Callable[[np.ndarray], T]) -> Future[T]:
        """`then(vectors of texts)`, run in the encoder's thread once the texts not remembered
        are embedded (with those of other queries waiting)."""
        known = {t: vector for t in texts if (vector := self._known.get(t)) is not None}
        missing = list(dict.fromkeys(t for t in texts if t not in known))

        def finish(vectors: np.ndarray) -> T:
            known.update(zip(missing, vectors, strict=True))
            for text in missing:
                self._known.put(text, known[text])
            return then(np.stack([known[t] for t in texts]))

        return self._encoder.submit(missing, finish)

    def close(self) -> None:
        self._encoder.close()


def _same(vectors: np.ndarray) -> np.ndarray:
    return vectors


class Retriever(Protocol):
    """Finds the chunks that best answer a query: HybridRetriever ranks a snapshot of the
    corpus in memory; StoreRetriever (`app.services.store_retriever`) asks the store."""

    mode: Literal["memory", "store"]

    def counts(self) -> tuple[int, int]:
        """(documents, chunks) in the corpus."""
        ...

    def retrieve(
        self, query: str, top_k: int, document_filter: DocumentFilter | None = None
    ) -> Retrieval:
        """The top_k chunks for a query, best first, among the documents the filter allows."""
        ...

    async def search(
        self, query: str, top_k: int, document_filter: DocumentFilter | None = None
    ) -> Retrieval:
        """`retrieve` for an event loop."""
        ...

    def refresh(self) -> None:
        """Take in what this process changed in the store."""
        ...

    def refresh_if_changed(self) -> bool:
        """Take in what another process changed in the store; True if it changed.
        Raises StoreUnavailable while the store cannot be reached."""
        ...

    def close(self) -> None: ...


class HybridRetriever:
    """Finds the chunks that best answer a query, in a snapshot of the corpus in memory."""

    mode: Literal["memory", "store"] = "memory"

    def __init__(self, store: ChromaStore, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._lock = threading.Lock()
        self._query_vectors = QueryVectors(embedder, settings.query_cache_size)
        self._watch = StoreWatch(store)
        self._word_vectors: dict[str, np.ndarray] = {}
        self._snapshot = self._build_snapshot()

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def counts(self) -> tuple[int, int]:
        return self._snapshot.documents, len(self._snapshot.chunks)

    def _build_snapshot(self, previous: Snapshot | None = None) -> Snapshot:
        """Read the live corpus from the store. A write may land while it is read: the counts
        are checked against the manifest, and the read is done again if they differ.

        Given the snapshot before, only the documents whose version changed since are read
        (one upload, one deletion); the others are kept from it. On the full man-page corpus
        that spares a read of 18,249 chunk records and their sentences: an upload took 13.4 s,
        and takes 6.9.
        """
        for attempt in range(_SNAPSHOT_ATTEMPTS):
            # The generation is read first: a commit after it makes the next check reload.
            generation = self.store.generation()
            manifest = self.store.manifest()
            live = {doc_id: entry.content_hash for doc_id, entry in manifest.items()}
            if previous is not None and attempt == 0:
                chunks, sentences = self._read_changes(previous, live)
            else:
                chunks = self.store.live_chunks(live)
                sentences = self.store.live_sentences({c.id: c for c in chunks[0]})
            if _complete(manifest, chunks[0], sentences[0]):
                break
        texts = [c.text for c in chunks[0]]
        if not self._word_vectors and self.store.lexical is not None:
            # The words' vectors the ingester stored: a start-up embeds none of them again.
            words, matrix = self.store.lexical.word_vectors(self.embedder)
            self._word_vectors.update(zip(words, matrix, strict=True))
        bridge = VocabularyBridge.of_texts(
            texts, self.embedder, self.settings.bridge_threshold, self._word_vectors
        )
        snapshot = Snapshot.build(generation, len(manifest), chunks, sentences, bridge)
        release_free_memory()
        return snapshot

    def _read_changes(
        self, previous: Snapshot, live: dict[str, str]
    ) -> tuple[tuple[list[Chunk], np.ndarray], tuple[list[Sentence], np.ndarray]]:
        """The live chunks and sentences, those of documents unchanged since `previous` taken
        from it, in its order, and the others read from the store after them (where a
        rewritten document's records are in the store too)."""
        before = {chunk.doc_id: chunk.content_hash for chunk in previous.chunks}
        kept = {doc_id for doc_id, version in before.items() if live.get(doc_id) == version}
        changed = [doc_id for doc_id in live if doc_id not in kept]
        new_chunks = self.store.live_chunks(live, only=changed)
        new_sentences = self.store.live_sentences({c.id: c for c in new_chunks[0]})
        chunk_rows = [i for i, c in enumerate(previous.chunks) if c.doc_id in kept]
        rows = [r for r, s in enumerate(previous.sentences) if s.doc_id in kept]
        chunks = [previous.chunks[i] for i in chunk_rows] + new_chunks[0]
        sentences = [previous.sentences[r] for r in rows] + new_sentences[0]
        return (
            (chunks, _rows_then(previous.chunk_vectors, chunk_rows, new_chunks[1])),
            (sentences, _rows_then(previous.sentence_vectors, rows, new_sentences[1])),
        )

    def refresh(self) -> None:
        """Rebuild the snapshot after the store changed, reading only the documents that
        changed (known words are not re-embedded). Nothing is rebuilt when the snapshot is
        already of the store's generation: an upload's own refresh after the watcher's
        (`refresh_if_changed`) costs one read of the generation, not a second lexical index
        (0.8-2.6 s on a 1.9 MB upload, `python -m bench.upload`)."""
        with self._lock:
            if self.store.generation() == self._snapshot.generation:
                return
            self._snapshot = self._build_snapshot(self._snapshot)

    def refresh_if_changed(self) -> bool:
        """Reload when another process changed the store since the snapshot; True if it did.

        While the store cannot be reached, questions are refused with its error rather than
        answered from a snapshot that nothing keeps current.
        """
        if self._watch.generation() == self._snapshot.generation:
            return False
        self.refresh()
        return True

    def retrieve(
        self, query: str, top_k: int, document_filter: DocumentFilter | None = None
    ) -> Retrieval:
        """The top_k chunks for a query, best first, among the documents `document_filter`
        allows (all if None); fewer when fewer are allowed. Blocks the calling thread."""
        return self.submit(query, top_k, document_filter).result()

    def submit(
        self, query: str, top_k: int, document_filter: DocumentFilter | None = None
    ) -> Future[Retrieval]:
        """`retrieve`, done in the encoder's thread once the query is embedded."""
        snapshot, texts = self._query(query)
        foreign = texts[1:]
        return self._query_vectors.submit(
            texts,
            lambda vectors: self._rank(snapshot, query, top_k, foreign, vectors, document_filter),
        )

    async def search(
        self, query: str, top_k: int, document_filter: DocumentFilter | None = None
    ) -> Retrieval:
        """`retrieve` for an event loop, which awaits the encoder without holding a thread.

        On a corpus of up to `INLINE_RANKING_CHUNKS` chunks, the loop ranks the passages
        itself once the vectors come back: that takes about a millisecond at most, and costs
        less than passing Python's lock back and forth between two threads on two cores
        (8 requests at a time on the sample: 516 -> 618 requests/s). A larger corpus is
        ranked in the encoder's thread, so that the loop goes on serving meanwhile.
        """
        snapshot, texts = self._query(query)
        if len(snapshot.chunks) > INLINE_RANKING_CHUNKS:
            return await asyncio.wrap_future(self.submit(query, top_k, document_filter))
        vectors = await asyncio.wrap_future(self._query_vectors.submit(texts, _same))
        return self._rank(snapshot, query, top_k, texts[1:], vectors, document_filter)

    def _query(self, query: str) -> tuple[Snapshot, list[str]]:
        """The snapshot a query is answered from, and the texts to embed for it: the query
        and its foreign words."""
        self._watch.check()
        snapshot = self._snapshot
        return snapshot, [query, *snapshot.bridge.foreign_words(query)]

    def close(self) -> None:
        """Stop the encoder's thread."""
        self._query_vectors.close()

    def _rank(
        self,
        snapshot: Snapshot,
        query: str,
        top_k: int,
        foreign: list[str],
        vectors: np.ndarray,
        document_filter: DocumentFilter | None = None,
    ) -> Retrieval:
        """The chunks scored by weighted reciprocal rank fusion of the three rankings, each
        ranking only the chunks the filter allows."""
        settings = self.settings
        allowed = snapshot.allowed_chunks(document_filter)
        vector = vectors[0]
        lexical_query = snapshot.bridge.expand(query, foreign, vectors[1:])
        pool = max(4 * top_k, 20)
        # Sentences are ranked within the chunks the other two rankings reach far down: on a
        # small corpus that is every chunk; on a large one it spares a scan of every sentence.
        candidates = max(5 * pool, _SENTENCE_CANDIDATES)
        dense = snapshot.nearest_chunks(vector, candidates, allowed)
        lexical = np.array(
            [i for i, _ in snapshot.bm25.top(lexical_query, candidates, allowed)], np.int64
        )
        rankings = [
            (dense[:pool].tolist(), settings.dense_weight),
            (
                snapshot.chunks_by_best_sentence(
                    vector, 3 * pool, np.concatenate([dense, lexical])
                ),
                settings.sentence_weight,
            ),
            (
                lexical[:pool].tolist(),
                settings.bm25_weight * snapshot.bm25.known_share(lexical_query),
            ),
        ]
        # Chunk indices, not ids: the fusion's order among equal scores stays that of the ids,
        # as each chunk enters the fusion at the same step as before.
        best, scores = fuse(rankings, dense.tolist(), snapshot.chunk_vectors, top_k, settings)
        chunks = snapshot.chunks
        hits = [ChunkHit(chunk=chunks[i], score=scores[i]) for i in best]
        foreign_vectors = dict(zip(foreign, vectors[1:], strict=True))
        return Retrieval(hits, vector, query, foreign_vectors, snapshot)


def fuse(
    rankings: list[tuple[list[int], float]],
    dense: list[int],
    vectors: np.ndarray,
    top_k: int,
    settings: Settings,
) -> tuple[list[int], dict[int, float]]:
    """The top k of weighted reciprocal rank fusion (Cormack et al., 2009): each chunk scores
    `weight / (RRF_K + rank)` in each (ranking, weight) it appears in (chunks as rows of
    `vectors`, unit length). Near-duplicates take one place (`distinct_chunks`); past the
    fused chunks come the rest of the `dense` ranking, scored below every fused chunk, for a
    top k that near-duplicates would otherwise leave short.

    Returns the chosen rows, best first, and their scores (rounded to 6 places)."""
    fused: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, chunk in enumerate(ranking):
            fused[chunk] = fused.get(chunk, 0.0) + weight / (settings.rrf_k + rank + 1)
    ranked = sorted(fused, key=fused.__getitem__, reverse=True)
    tail = [i for i in dense if i not in fused]
    best = distinct_chunks(ranked + tail, vectors, top_k, settings.duplicate_cosine)
    floor = min(fused.values(), default=0.0)
    for rank, i in enumerate(tail):
        fused[i] = floor * (1 - (rank + 1) / (len(tail) + 1))
    return best, {i: round(fused[i], 6) for i in best}


def distinct_chunks(
    ranked: list[int], vectors: np.ndarray, top_k: int, duplicate_cosine: float
) -> list[int]:
    """The first `top_k` of `ranked` (chunk rows, best first) that are not near-duplicates of
    a chunk kept before them: cosine of their vectors (unit length, rows of `vectors`) under
    `duplicate_cosine` (DUPLICATE_COSINE, 0.9). The same article under two names, or a
    paragraph repeated down a page, then takes one place in a top k and leaves the others to
    other passages. Measured on the sample with the field articles (USE vectors): distinct
    chunks reach 0.79 at most; the chunks of an article repeating one paragraph (F19's one-line
    scrape) are 0.925 and above, identical texts 1."""
    kept: list[int] = []
    for row in ranked:
        if kept and float(np.max(vectors[kept] @ vectors[row])) >= duplicate_cosine:
            continue
        kept.append(row)
        if len(kept) == top_k:
            break
    return kept


def _rows_then(matrix: np.ndarray, rows: list[int], more: np.ndarray) -> np.ndarray:
    """These rows of a matrix, then the rows of another (either may have none)."""
    parts = [part for part in (matrix[rows], more) if len(part)]
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def _complete(
    manifest: dict[str, LiveVersion], chunks: list[Chunk], sentences: list[Sentence]
) -> bool:
    """Whether every live document was read whole: as many chunks and sentences as its
    manifest record says."""
    counted: dict[str, list[int]] = {doc_id: [0, 0] for doc_id in manifest}
    for chunk in chunks:
        counted[chunk.doc_id][0] += 1
    for sentence in sentences:
        counted[sentence.doc_id][1] += 1
    return all(
        n_chunks == entry.info.chunks and entry.sentences in (n_sentences, -1)
        for (n_chunks, n_sentences), entry in ((counted[d], e) for d, e in manifest.items())
    )
