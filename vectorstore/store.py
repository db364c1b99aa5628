"""The Chroma store: the one module that talks to chromadb.

Two collections per corpus: `<name>` holds the chunks (what `/search` returns) and
`<name>-sentences` the sentences of each chunk with their own vectors, computed once at ingest so
that answering needs no embedding of passages at query time. Both are cosine-space collections that
record the embedder that filled them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from config import Settings
from vectorstore.errors import DocumentNotFound, EmbedderMismatch, StoreUnavailable
from vectorstore.records import Chunk, ChunkHit, DocumentInfo, Sentence

_WRITE_BATCH = 256


@contextmanager
def _unavailable_as_503(what: str) -> Iterator[None]:
    """Turn a lost Chroma server into StoreUnavailable; let our own errors through."""
    try:
        yield
    except (DocumentNotFound, EmbedderMismatch):
        raise
    except (ConnectionError, OSError) as exc:
        raise StoreUnavailable(f"the vector store cannot be reached ({what})") from exc
    except Exception as exc:
        if type(exc).__module__.startswith(("httpx", "httpcore")):
            raise StoreUnavailable(f"the vector store cannot be reached ({what})") from exc
        raise


def open_client(settings: Settings) -> Any:
    """A Chroma client: a server when CHROMA_HOST is set, else a database on disk."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    with _unavailable_as_503("connect"):
        if settings.chroma_host:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


@dataclass
class _Collections:
    chunks: Any
    sentences: Any


class ChromaStore:
    """Chunks and sentences of the corpus, with their vectors, in Chroma."""

    def __init__(self, client: Any, name: str, embedder_fingerprint: str) -> None:
        self._client = client
        self.name = name
        self.embedder_fingerprint = embedder_fingerprint
        with _unavailable_as_503("open collections"):
            self._cols = _Collections(
                chunks=self._open(name), sentences=self._open(f"{name}-sentences")
            )

    @classmethod
    def from_settings(cls, settings: Settings, embedder_fingerprint: str) -> ChromaStore:
        return cls(open_client(settings), settings.collection, embedder_fingerprint)

    def _open(self, name: str) -> Any:
        collection = self._client.get_or_create_collection(
            name,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedder": self.embedder_fingerprint},
            embedding_function=None,
        )
        filled_by = (collection.metadata or {}).get("embedder")
        if filled_by != self.embedder_fingerprint:
            raise EmbedderMismatch(
                f"collection {name!r} was filled by embedder {filled_by!r} but this process uses "
                f"{self.embedder_fingerprint!r}: set EMBEDDER_BACKEND/EMBEDDER_MODEL to match, "
                "or re-ingest into a new COLLECTION (or with --reset)"
            )
        return collection

    @staticmethod
    def drop(settings: Settings) -> None:
        """Delete the chunk and sentence collections, whichever embedder filled them."""
        client = open_client(settings)
        with _unavailable_as_503("drop"):
            existing = {c.name for c in client.list_collections()}
            for name in (settings.collection, f"{settings.collection}-sentences"):
                if name in existing:
                    client.delete_collection(name)

    # -- writing -------------------------------------------------------------------------------

    def content_hash(self, doc_id: str) -> str | None:
        """The content hash of the stored version of a document, or None if absent."""
        with _unavailable_as_503("get"):
            got = self._cols.chunks.get(where={"doc_id": doc_id}, limit=1, include=["metadatas"])
        metadatas = got["metadatas"] or []
        return str(metadatas[0]["content_hash"]) if metadatas else None

    def replace_document(
        self,
        doc_id: str,
        chunks: Sequence[Chunk],
        chunk_vectors: np.ndarray,
        sentences: Sequence[Sentence],
        sentence_vectors: np.ndarray,
    ) -> None:
        """Write a document's new version, then remove what is left of older versions.

        Chunk ids carry the content hash, so the new version never overwrites the old one in
        place: until the last step, a reader sees a complete version.
        """
        with _unavailable_as_503("write"):
            for collection, records, vectors in (
                (self._cols.chunks, chunks, chunk_vectors),
                (self._cols.sentences, sentences, sentence_vectors),
            ):
                self._add(collection, records, vectors)
            new_hash = chunks[0].content_hash if chunks else ""
            stale = {"$and": [{"doc_id": doc_id}, {"content_hash": {"$ne": new_hash}}]}
            self._cols.chunks.delete(where=stale)
            self._cols.sentences.delete(where=stale)

    @staticmethod
    def _add(collection: Any, records: Sequence[Chunk | Sentence], vectors: np.ndarray) -> None:
        for i in range(0, len(records), _WRITE_BATCH):
            part = records[i : i + _WRITE_BATCH]
            collection.upsert(
                ids=[r.id for r in part],
                embeddings=vectors[i : i + _WRITE_BATCH],
                documents=[r.text for r in part],
                metadatas=[r.metadata() for r in part],
            )

    def delete_document(self, doc_id: str) -> None:
        """Remove a document's chunks and sentences; DocumentNotFound if there are none."""
        if self.content_hash(doc_id) is None:
            raise DocumentNotFound(f"no document with doc_id {doc_id!r}")
        with _unavailable_as_503("delete"):
            self._cols.chunks.delete(where={"doc_id": doc_id})
            self._cols.sentences.delete(where={"doc_id": doc_id})

    # -- reading -------------------------------------------------------------------------------

    def query(self, vector: np.ndarray, top_k: int) -> list[ChunkHit]:
        """The `top_k` chunks nearest to a query vector, best first, scored by cosine."""
        got = self._nearest(self._cols.chunks, vector, top_k, ["documents", "metadatas"])
        return [
            ChunkHit(chunk=Chunk.from_record(cid, text, meta), score=1.0 - float(dist))
            for cid, text, meta, dist in zip(
                got["ids"], got["documents"], got["metadatas"], got["distances"], strict=True
            )
        ]

    def query_sentences(self, vector: np.ndarray, top_k: int) -> list[tuple[str, float]]:
        """(chunk_id, cosine) of the `top_k` sentences nearest to a query vector, best first."""
        got = self._nearest(self._cols.sentences, vector, top_k, ["metadatas"])
        return [
            (str(meta["chunk_id"]), 1.0 - float(dist))
            for meta, dist in zip(got["metadatas"], got["distances"], strict=True)
        ]

    @staticmethod
    def _nearest(
        collection: Any, vector: np.ndarray, top_k: int, include: list[str]
    ) -> dict[str, list[Any]]:
        """Chroma's nearest records to one vector, unwrapped from its per-query lists."""
        # Chroma 1.5 answers an empty collection, or one smaller than top_k, with what it has.
        with _unavailable_as_503("query"):
            got = collection.query(
                query_embeddings=[vector], n_results=top_k, include=[*include, "distances"]
            )
        return {key: got[key][0] for key in ("ids", "distances", *include)}

    def all_chunks(self) -> list[Chunk]:
        """Every chunk, for building the lexical index."""
        with _unavailable_as_503("get"):
            got = self._cols.chunks.get(include=["documents", "metadatas"])
        return [
            Chunk.from_record(cid, text, meta)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]

    def sentences_of(self, chunk_ids: Sequence[str]) -> tuple[list[Sentence], np.ndarray]:
        """The sentences of the given chunks, with their vectors, in document order."""
        if not chunk_ids:
            return [], np.zeros((0, 0), dtype=np.float32)  # callers test for no sentences
        with _unavailable_as_503("get"):
            got = self._cols.sentences.get(
                where={"chunk_id": {"$in": list(chunk_ids)}},
                include=["documents", "metadatas", "embeddings"],
            )
        sentences = [
            Sentence.from_record(sid, text, meta)
            for sid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        order = sorted(
            range(len(sentences)), key=lambda i: (sentences[i].doc_id, sentences[i].start)
        )
        return [sentences[i] for i in order], vectors[order] if order else vectors

    def documents(self) -> list[DocumentInfo]:
        """What is indexed: one entry per document with its chunk count."""
        infos: dict[str, DocumentInfo] = {}
        for chunk in self.all_chunks():
            info = infos.get(chunk.doc_id)
            if info is None:
                infos[chunk.doc_id] = DocumentInfo.from_chunk(chunk)
            else:
                info.chunks += 1
        return sorted(infos.values(), key=lambda d: d.source)

    def document(self, doc_id: str) -> DocumentInfo:
        """One document's entry; DocumentNotFound if it is not indexed."""
        with _unavailable_as_503("get"):
            got = self._cols.chunks.get(where={"doc_id": doc_id}, include=["metadatas"])
        if not got["ids"]:
            raise DocumentNotFound(f"no document with doc_id {doc_id!r}")
        chunk = Chunk.from_record(got["ids"][0], "", got["metadatas"][0])
        info = DocumentInfo.from_chunk(chunk)
        info.chunks = len(got["ids"])
        return info

    def count(self) -> int:
        with _unavailable_as_503("count"):
            return int(self._cols.chunks.count())
