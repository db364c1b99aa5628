"""Hybrid retrieval: dense vectors from Chroma and BM25 over the same chunks, fused by rank.

Reciprocal rank fusion (Cormack et al., 2009) needs no score calibration between the two lists:
each chunk scores `w / (k + rank)` in each list it appears in. BM25 catches exact names and
numbers; the multilingual vectors carry an English question to French passages.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from app.services.bm25 import BM25Index
from app.services.bridge import VocabularyBridge, surface_words
from config import Settings
from vectorstore import ChromaStore, Chunk, ChunkHit, Embedder


@dataclass(frozen=True)
class Snapshot:
    """The live chunks of the corpus at one moment, with their lexical index and vocabulary
    bridge. Dense hits outside it (a version being written, or not yet seen) are ignored, so a
    question sees each document in one version only."""

    generation: str
    documents: int
    chunks: list[Chunk]
    by_id: dict[str, Chunk]
    bm25: BM25Index
    bridge: VocabularyBridge


@dataclass(frozen=True)
class Retrieval:
    """What a query found: the fused hits, and the query's vector and word vectors, reused by
    the answering backend to weigh sentences."""

    hits: list[ChunkHit]
    query_vector: np.ndarray
    word_vectors: dict[str, np.ndarray]


class HybridRetriever:
    """Finds the chunks that best answer a query."""

    def __init__(self, store: ChromaStore, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._lock = threading.Lock()
        self._word_vectors: dict[str, np.ndarray] = {}
        self._snapshot = self._build_snapshot()

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def _build_snapshot(self) -> Snapshot:
        # The generation is read first: a commit after it makes the next check reload.
        generation = self.store.generation()
        live = self.store.live_versions()
        chunks = self.store.all_chunks(live)
        texts = [c.text for c in chunks]
        bridge = VocabularyBridge(
            texts, self.embedder, self.settings.bridge_threshold, self._word_vectors
        )
        by_id = {c.id: c for c in chunks}
        return Snapshot(generation, len(live), chunks, by_id, BM25Index(texts), bridge)

    def refresh(self) -> None:
        """Rebuild the lexical index after the store changed (known words are not re-embedded)."""
        with self._lock:
            self._snapshot = self._build_snapshot()

    def refresh_if_changed(self) -> bool:
        """Reload when another process changed the store since the snapshot; True if it did."""
        if self.store.generation() == self._snapshot.generation:
            return False
        self.refresh()
        return True

    def retrieve(self, query: str, top_k: int) -> Retrieval:
        """The top_k chunks for a query, best first, scored by weighted reciprocal rank fusion."""
        snapshot = self._snapshot
        settings = self.settings
        foreign = snapshot.bridge.foreign_words(query)
        vectors = self.embedder.embed_query([query, *foreign])
        vector = vectors[0]
        lexical_query = snapshot.bridge.expand(query, foreign, vectors[1:])
        pool = max(4 * top_k, 20)
        dense = [hit for hit in self.store.query(vector, pool) if hit.chunk.id in snapshot.by_id]
        rankings = [
            ([hit.chunk.id for hit in dense], settings.dense_weight),
            (
                _chunks_by_best_sentence(
                    self.store.query_sentences(vector, 3 * pool), snapshot.by_id
                ),
                settings.sentence_weight,
            ),
            (
                [snapshot.chunks[i].id for i, _ in snapshot.bm25.top(lexical_query, pool)],
                settings.bm25_weight * snapshot.bm25.known_share(lexical_query),
            ),
        ]
        fused: dict[str, float] = {}
        for ranking, weight in rankings:
            for rank, chunk_id in enumerate(ranking):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (settings.rrf_k + rank + 1)
        best = sorted(fused, key=fused.__getitem__, reverse=True)[:top_k]
        hits = [ChunkHit(chunk=snapshot.by_id[cid], score=round(fused[cid], 6)) for cid in best]
        word_vectors = snapshot.bridge.vectors_of(surface_words(query))
        word_vectors.update(zip(foreign, vectors[1:], strict=True))
        return Retrieval(hits=hits, query_vector=vector, word_vectors=word_vectors)


def _chunks_by_best_sentence(
    sentence_hits: list[tuple[str, float]], live: dict[str, Chunk]
) -> list[str]:
    """Live chunk ids ranked by their best-matching sentence (hits arrive best first)."""
    return list(dict.fromkeys(chunk_id for chunk_id, _ in sentence_hits if chunk_id in live))
