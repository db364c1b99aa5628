"""Retrieval served by the store, for a corpus too large for each worker to hold.

The same three rankings as `HybridRetriever`, fused the same way, but no worker keeps a copy of
the corpus:
- dense: Chroma's HNSW index of the chunk vectors (inside the Chroma server, or in the process
  for an embedded Chroma);
- lexical: BM25 from the host's lexical index on disk (`vectorstore.lexical`), shared by its
  workers;
- sentences: the candidate chunks' records are fetched with their sentences and vectors and
  ranked by their best sentence, as the snapshot ranks its candidates.

A candidate counts only if its version is the live one in the manifest, asked for the
candidates' documents with each question: a document is seen whole in one version or not at
all, and what any process writes is seen by every other at once, whatever the corpus's size.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from app.services.bridge import VocabularyBridge
from app.services.filters import DocumentFilter
from app.services.retriever import (
    QueryVectors,
    Retrieval,
    StoreWatch,
    fuse,
    release_free_memory,
    top_rows,
)
from config import Settings
from ingest.pipeline import pooled_chunk_vectors
from vectorstore import ChromaStore, Chunk, ChunkHit, Embedder, Sentence
from vectorstore.lexical import AllowedDocuments, LexicalIndex
from vectorstore.records import chunk_id, version_of
from vectorstore.store import HNSW, LiveVersion
from vectorstore.tokens import tokenize

# A filter that allows at most this many documents goes to Chroma as their ids; a broader one
# takes this many times more dense candidates, and keeps those the filter allows.
_WHERE_IDS = 1_000
# How many times the fusion's pool the dense ranking brings, the chunks past the pool fetched
# too for the sentence ranking to reach. An index built with `ef_construction` 200 could miss a
# question's nearest chunks among twins (the man pages: `vectorstore.store.HNSW`), which three
# times the pool made up for; one built as `HNSW` says now finds them, and the pool alone keeps
# hit@1 (0.906 on the full man pages, the same at 1, 2 and 3 times; the sample's eval sets the
# same in store mode) while the candidates' records, the longest round trip, take 24-30 ms
# instead of 38-51 at 100,000 chunks (README, "Scaling").
DENSE_REACH = 1
DENSE_REACH_OLD_INDEX = 3
_OVERFETCH = 10
# The vocabulary bridge is read again at most this often (seconds) as documents come in.
_BRIDGE_SECONDS = 60.0

Record = tuple[Chunk, list[Sentence], np.ndarray]  # a chunk, its sentences and their vectors


@dataclass(frozen=True)
class FetchedCorpus:
    """What one question's retrieval fetched from the store (a `Corpus`): the candidate
    chunks' records, and the live version (hash, chunk count) of their documents."""

    bridge: VocabularyBridge
    records: dict[str, Record]
    versions: dict[str, tuple[str, int]]
    store: ChromaStore

    def sentences_of(self, chunk_ids: list[str]) -> tuple[list[Sentence], np.ndarray]:
        """The sentences of these chunks, in document order, with their vectors."""
        pairs = [
            (sentence, vector)
            for chunk in dict.fromkeys(chunk_ids)
            if chunk in self.records
            for sentence, vector in zip(self.records[chunk][1], self.records[chunk][2], strict=True)
        ]
        pairs.sort(key=lambda pair: (pair[0].doc_id, pair[0].start))
        if not pairs:
            return [], np.zeros((0, 0), np.float32)
        return [s for s, _ in pairs], np.stack([v for _, v in pairs])

    def document_texts(self, doc_ids: set[str]) -> list[str]:
        """The texts of every chunk of these documents' live versions, read by id."""
        ids = [
            chunk_id(doc_id, content_hash, i)
            for doc_id in sorted(doc_ids & self.versions.keys())
            for content_hash, chunks in [self.versions[doc_id]]
            for i in range(chunks)
        ]
        return self.store.chunk_texts(ids) if ids else []


class StoreRetriever:
    """Finds the chunks that best answer a query by asking the store (see the module)."""

    mode: Literal["memory", "store"] = "store"

    def __init__(self, store: ChromaStore, embedder: Embedder, settings: Settings) -> None:
        if store.lexical is None:
            raise ValueError("the store-backed retrieval needs the store's lexical index")
        self.store = store
        self.lexical: LexicalIndex = store.lexical
        self.embedder = embedder
        self.settings = settings
        self._lock = threading.Lock()
        self._query_vectors = QueryVectors(embedder, settings.query_cache_size)
        self._pool = ThreadPoolExecutor(4, thread_name_prefix="store-retrieval")
        self._watch = StoreWatch(store)
        self._generation = store.generation()
        self.dense_reach = dense_reach(store.hnsw())
        store.sync_lexical()
        self._bridge = self._read_bridge()
        self._bridge_read = time.monotonic()
        release_free_memory()

    def _read_bridge(self) -> VocabularyBridge:
        """The vocabulary bridge over the corpus's most used words, from the lexical index."""
        words, matrix = self.lexical.word_vectors(self.embedder)
        return VocabularyBridge(
            words,
            matrix,
            dict(zip(words, matrix, strict=True)),  # views of the matrix's rows, not copies
            lambda terms: len(self.lexical.known(terms)) == len(terms),
            self.settings.bridge_threshold,
        )

    def counts(self) -> tuple[int, int]:
        return self.store.document_count(), self.store.count()

    # -- keeping up with the store -------------------------------------------------------------

    def refresh(self) -> None:
        """Take in a change of the store: the lexical index catches up with what other hosts
        wrote (this host's writers index as they write), and the vocabulary bridge is read
        again if it is older than `_BRIDGE_SECONDS`. Nothing of the corpus is re-read."""
        with self._lock:
            generation = self.store.generation()
            if generation == self._generation:
                return
            self.store.sync_lexical()
            self._generation = generation
            if time.monotonic() - self._bridge_read > _BRIDGE_SECONDS:
                self._bridge = self._read_bridge()
                self._bridge_read = time.monotonic()

    def refresh_if_changed(self) -> bool:
        """`refresh` when another process changed the store; True if it did. While the
        store cannot be reached, questions are refused with its error."""
        if self._watch.generation() == self._generation:
            return False
        self.refresh()
        return True

    # -- answering a query ---------------------------------------------------------------------

    def retrieve(
        self, query: str, top_k: int, document_filter: DocumentFilter | None = None
    ) -> Retrieval:
        """The top_k chunks for a query, best first, among the documents `document_filter`
        allows (all if None). Blocks the calling thread."""
        bridge, texts = self._query(query)
        return self._rank(
            bridge, query, top_k, texts[1:], self._query_vectors(texts), document_filter
        )

    async def search(
        self, query: str, top_k: int, document_filter: DocumentFilter | None = None
    ) -> Retrieval:
        """`retrieve` for an event loop: the ranking's round trips to the store run in a
        thread of the loop's pool."""
        bridge, texts = self._query(query)
        vectors = await asyncio.wrap_future(self._query_vectors.submit(texts, np.asarray))
        return await asyncio.to_thread(
            self._rank, bridge, query, top_k, texts[1:], vectors, document_filter
        )

    def _query(self, query: str) -> tuple[VocabularyBridge, list[str]]:
        self._watch.check()
        bridge = self._bridge
        return bridge, [query, *bridge.foreign_words(query)]

    def close(self) -> None:
        self._query_vectors.close()
        self._pool.shutdown(wait=False)

    def _rank(
        self,
        bridge: VocabularyBridge,
        query: str,
        top_k: int,
        foreign: list[str],
        vectors: np.ndarray,
        document_filter: DocumentFilter | None,
    ) -> Retrieval:
        """Weighted reciprocal rank fusion of the dense, sentence and lexical rankings of the
        live candidates the store gives."""
        settings = self.settings
        vector = vectors[0]
        lexical_query = bridge.expand(query, foreign, vectors[1:])
        pool = max(4 * top_k, 20)
        allowed = document_filter.condition() if document_filter else None
        dense, lexical, fetched, live = self._candidates(vector, lexical_query, pool, allowed)
        records = {c: r for c, r in fetched.items() if _is_live(c, live)}
        rows = list(records)  # the candidates, each a row of `matrix`
        row_of = {c: i for i, c in enumerate(rows)}
        matrix = (
            pooled_chunk_vectors(
                [records[c][0] for c in rows],
                [s for c in rows for s in records[c][1]],
                np.concatenate([records[c][2] for c in rows]),
            )
            if rows
            else np.zeros((0, self.embedder.dimension), np.float32)
        )
        dense_rows = [row_of[c] for c in dense if c in row_of]
        terms = set(tokenize(lexical_query))
        known_share = len(self.lexical.known(terms)) / len(terms) if terms else 0.0
        rankings = [
            (dense_rows[:pool], settings.dense_weight),
            (_by_best_sentence(records, rows, vector, 3 * pool), settings.sentence_weight),
            (
                [row_of[c] for c in lexical if c in row_of],
                settings.bm25_weight * known_share,
            ),
        ]
        best, scores = fuse(rankings, dense_rows, matrix, top_k, settings)
        hits = [ChunkHit(chunk=records[rows[i]][0], score=scores[i]) for i in best]
        corpus = FetchedCorpus(
            bridge,
            records,
            {doc_id: (v.content_hash, v.info.chunks) for doc_id, v in live.items()},
            self.store,
        )
        return Retrieval(hits, vector, query, dict(zip(foreign, vectors[1:], strict=True)), corpus)

    def _candidates(
        self, vector: np.ndarray, lexical_query: str, pool: int, allowed: AllowedDocuments | None
    ) -> tuple[list[str], list[str], dict[str, Record], dict[str, LiveVersion]]:
        """The dense ranking's candidates (`dense_reach` times the pool) and the lexical
        ranking's (the pool), ids best first, with the records of both and the live versions
        of their documents.

        Two chains of round trips run at once: in a thread of the pool, Chroma's index, then
        the records and live versions of what it gives; here, the lexical index, then the
        records and live versions of what only it gives. A question waits for the longer
        chain, not for each round trip in turn. In-process at 1,000,000 synthetic chunks (200
        questions, README "Scaling"): a retrieval's p50 75-85 ms before, 31-36 ms with this and
        the lexical index's cuts (the HNSW search 7-8 ms, the lexical ranking 16-17 ms)."""
        dense_ids: Future[list[str]] = Future()
        dense_chain = self._pool.submit(
            self._dense_chain, dense_ids, vector, self.dense_reach * pool, allowed
        )
        lexical = [c for c, _ in self.lexical.top(lexical_query, pool, allowed)]
        dense = dense_ids.result()
        brought = set(dense)
        own = [c for c in lexical if c not in brought]
        dense_docs = {version_of(c)[0] for c in dense}
        own_live = self._pool.submit(
            self.store.live_of, sorted({version_of(c)[0] for c in own} - dense_docs)
        )
        records = self.store.chunk_records(own)
        live = own_live.result()
        dense_records, dense_live = dense_chain.result()
        return dense, lexical, records | dense_records, live | dense_live

    def _dense_chain(
        self,
        ids: Future[list[str]],
        vector: np.ndarray,
        n: int,
        allowed: AllowedDocuments | None,
    ) -> tuple[dict[str, Record], dict[str, LiveVersion]]:
        """The dense ranking (`_dense`), given to `ids` as soon as it is known, then its
        chunks' records and their documents' live versions."""
        try:
            dense = self._dense(vector, n, allowed)
        except BaseException as exc:
            ids.set_exception(exc)
            raise
        ids.set_result(dense)
        return (
            self.store.chunk_records(dense),
            self.store.live_of(sorted({version_of(c)[0] for c in dense})),
        )

    def _dense(self, vector: np.ndarray, n: int, allowed: AllowedDocuments | None) -> list[str]:
        """The ids of the n chunk records nearest to the vector by Chroma's index, among the
        documents a filter allows: named to Chroma when they are few, else kept from a
        larger ranking."""
        if allowed is None:
            return [c for c, _ in self.store.nearest_ids(vector, n)]
        doc_ids = self.lexical.allowed_doc_ids(allowed, _WHERE_IDS)
        if doc_ids is not None:
            where = {"doc_id": {"$in": doc_ids}}
            return [c for c, _ in self.store.nearest_ids(vector, n, where)] if doc_ids else []
        found = [c for c, _ in self.store.nearest_ids(vector, n * _OVERFETCH)]
        permitted = self.lexical.allowed_among((version_of(c)[0] for c in found), allowed)
        return [c for c in found if version_of(c)[0] in permitted][:n]


def dense_reach(hnsw: dict[str, Any]) -> int:
    """How many times the fusion's pool the dense ranking brings over an index built with
    these HNSW parameters (`ChromaStore.hnsw`): DENSE_REACH when its `ef_construction` is at
    least `HNSW`'s, else DENSE_REACH_OLD_INDEX (an index Chroma does not describe is taken as
    an old one)."""
    built = hnsw.get("ef_construction")
    return (
        DENSE_REACH
        if built is not None and built >= HNSW["ef_construction"]
        else DENSE_REACH_OLD_INDEX
    )


def _is_live(chunk: str, live: dict[str, LiveVersion]) -> bool:
    """Whether a chunk id belongs to its document's live version."""
    doc_id, short_hash = version_of(chunk)
    version = live.get(doc_id)
    return version is not None and version.content_hash[:12] == short_hash


def _by_best_sentence(
    records: dict[str, Record], rows: list[str], vector: np.ndarray, n: int
) -> list[int]:
    """The rows (indices into `rows`) of the chunks holding the n sentences nearest to a
    vector, ranked by their best sentence."""
    parts = [records[c][2] for c in rows]
    if not sum(len(p) for p in parts):
        return []
    owner = np.concatenate([np.full(len(p), i, np.int64) for i, p in enumerate(parts)])
    best = top_rows(np.concatenate(parts), vector, n)
    return list(dict.fromkeys(owner[best].tolist()))
