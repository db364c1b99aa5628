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
from config import Settings
from vectorstore import ChromaStore, Chunk, ChunkHit, Embedder


@dataclass(frozen=True)
class Snapshot:
    """The chunks of the corpus at one moment, with their lexical index."""

    chunks: list[Chunk]
    by_id: dict[str, Chunk]
    bm25: BM25Index

    @classmethod
    def of(cls, chunks: list[Chunk]) -> Snapshot:
        return cls(chunks, {c.id: c for c in chunks}, BM25Index([c.text for c in chunks]))


@dataclass(frozen=True)
class Retrieval:
    """What a query found: the fused hits and the query's vector, reused to score sentences."""

    hits: list[ChunkHit]
    query_vector: np.ndarray


class HybridRetriever:
    """Finds the chunks that best answer a query."""

    def __init__(self, store: ChromaStore, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._lock = threading.Lock()
        self._snapshot = Snapshot.of(store.all_chunks())

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def refresh(self) -> None:
        """Rebuild the lexical index after the store changed."""
        snapshot = Snapshot.of(self.store.all_chunks())
        with self._lock:
            self._snapshot = snapshot

    def retrieve(self, query: str, top_k: int) -> Retrieval:
        """The top_k chunks for a query, best first, scored by weighted reciprocal rank fusion."""
        snapshot = self._snapshot
        vector = self.embedder.embed([query])[0]
        pool = max(4 * top_k, 20)
        dense = self.store.query(vector, pool)
        lexical = snapshot.bm25.top(query, pool)
        k = self.settings.rrf_k
        fused: dict[str, float] = {}
        for rank, hit in enumerate(dense):
            fused[hit.chunk.id] = self.settings.dense_weight / (k + rank + 1)
        for rank, (index, _) in enumerate(lexical):
            chunk_id = snapshot.chunks[index].id
            fused[chunk_id] = fused.get(chunk_id, 0.0) + self.settings.bm25_weight / (k + rank + 1)
        chunks = {hit.chunk.id: hit.chunk for hit in dense}
        best = sorted(fused, key=fused.__getitem__, reverse=True)[:top_k]
        hits = [
            ChunkHit(chunk=chunks.get(cid) or snapshot.by_id[cid], score=round(fused[cid], 6))
            for cid in best
            if cid in chunks or cid in snapshot.by_id
        ]
        return Retrieval(hits=hits, query_vector=vector)
