"""The Chroma store: the one module that talks to chromadb.

Three collections per corpus: `<name>` holds the chunks (what `/search` returns),
`<name>-sentences` the sentences of each chunk with their own vectors, computed once at ingest so
that answering needs no embedding of passages at query time, and `<name>-manifest` one record per
document naming its live version. The first two are cosine-space collections that record the
embedder that filled them.

The manifest is the commit point of a write. A document's chunks and sentences are written first
(their ids carry the version's hash, so an old version is never overwritten in place), then one
manifest record makes the new version live, then the old version is removed. Readers keep only
chunks of live versions, so a writer killed at any step leaves no half-written document visible,
and the next ingest of the same file completes it. A generation record changes with every commit,
so that other processes know when to reload.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import chromadb
import httpx
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import InternalError as ChromaInternalError

from config import Settings
from vectorstore.errors import DocumentNotFound, EmbedderMismatch, StoreUnavailable
from vectorstore.records import Chunk, ChunkHit, DocumentInfo, Sentence

_WRITE_BATCH = 256
_READ_ATTEMPTS = 4
_READ_PAGE = 5_000
T = TypeVar("T")
# The manifest's records carry no meaning in their vectors; Chroma needs one all the same.
_NO_VECTOR = [1.0]
# The id of the generation record: "#" never appears in a doc_id.
_GENERATION = "#generation"


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
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
            _bound_waits(client, settings.chroma_timeout)
            return client
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def _bound_waits(client: Any, seconds: float) -> None:
    """Give the Chroma client's HTTP session a time limit: chromadb sets none, so a server that
    accepts connections but never answers would hold a request (and the watcher) for ever."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        raise RuntimeError("chromadb changed: its HTTP client has no session to time-limit")
    session.timeout = httpx.Timeout(seconds)


def _reading(read: Callable[[], T]) -> T:
    """A read, tried again when a Chroma server trips over records deleted while it reads (an
    older version removed by another process: "Error finding id")."""
    for attempt in range(_READ_ATTEMPTS):
        try:
            return read()
        except ChromaInternalError as exc:
            if "Error finding id" not in str(exc) or attempt == _READ_ATTEMPTS - 1:
                raise
            time.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable")


def _matrix(vectors: list[Any]) -> np.ndarray:
    return np.asarray(vectors, dtype=np.float32) if vectors else np.zeros((0, 0), np.float32)


def _stale(doc_id: str, content_hash: str) -> dict[str, Any]:
    """Chroma's filter for the records of a document's versions other than `content_hash`."""
    return {"$and": [{"doc_id": doc_id}, {"content_hash": {"$ne": content_hash}}]}


@dataclass(frozen=True)
class LiveVersion:
    """A document's manifest record: what it is, which version is live, and how many chunks
    (in `info`) and sentences that version has."""

    info: DocumentInfo
    content_hash: str
    sentences: int


@dataclass
class _Collections:
    chunks: Any
    sentences: Any
    manifest: Any


class ChromaStore:
    """Chunks and sentences of the corpus, with their vectors, in Chroma."""

    def __init__(self, client: Any, name: str, embedder_fingerprint: str) -> None:
        self._client = client
        self.name = name
        self.embedder_fingerprint = embedder_fingerprint
        with _unavailable_as_503("open collections"):
            self._cols = _Collections(
                chunks=self._open(name),
                sentences=self._open(f"{name}-sentences"),
                manifest=client.get_or_create_collection(
                    f"{name}-manifest", embedding_function=None
                ),
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
            for suffix in ("", "-sentences", "-manifest"):
                name = settings.collection + suffix
                if name in existing:
                    client.delete_collection(name)

    # -- writing -------------------------------------------------------------------------------

    def content_hash(self, doc_id: str) -> str | None:
        """The content hash of the live version of a document, or None if absent."""
        with _unavailable_as_503("get"):
            got = self._cols.manifest.get(ids=[doc_id], include=["metadatas"])
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
        """Write a document's new version, make it live, then remove older versions."""
        if not chunks:
            raise ValueError(f"{doc_id}: a document needs at least one chunk")
        doc = chunks[0].doc
        with _unavailable_as_503("write"):
            self._add(self._cols.chunks, chunks, chunk_vectors)
            self._add(self._cols.sentences, sentences, sentence_vectors)
            live = {
                **doc.metadata(),
                "chunks": len(chunks),
                "sentences": len(sentences),
                "ingested_at": time.time(),
            }
            self._cols.manifest.upsert(ids=[doc_id], embeddings=[_NO_VECTOR], metadatas=[live])
            self._bump_generation()
            self._delete_stale(doc_id, doc.content_hash)

    def remove_stale(self, doc_id: str, content_hash: str) -> None:
        """Remove what a writer stopped after its commit left of a document's older versions."""
        stale = _stale(doc_id, content_hash)
        with _unavailable_as_503("write"):
            # Sentences go last when a version is removed: none left means nothing is left.
            if self._cols.sentences.get(where=stale, limit=1, include=[])["ids"]:
                self._delete_stale(doc_id, content_hash)

    def _delete_stale(self, doc_id: str, content_hash: str) -> None:
        stale = _stale(doc_id, content_hash)
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

    def _bump_generation(self) -> None:
        self._cols.manifest.upsert(
            ids=[_GENERATION], embeddings=[_NO_VECTOR], metadatas=[{"value": uuid.uuid4().hex}]
        )

    def delete_document(self, doc_id: str) -> None:
        """Remove a document (first from the manifest, so that it vanishes at once)."""
        if self.content_hash(doc_id) is None:
            raise DocumentNotFound(f"no document with doc_id {doc_id!r}")
        with _unavailable_as_503("delete"):
            self._cols.manifest.delete(ids=[doc_id])
            self._bump_generation()
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

    @staticmethod
    def _nearest(
        collection: Any, vector: np.ndarray, top_k: int, include: list[str]
    ) -> dict[str, list[Any]]:
        """Chroma's nearest records to one vector, unwrapped from its per-query lists."""
        # Chroma 1.5 answers an empty collection, or one smaller than top_k, with what it has.
        with _unavailable_as_503("query"):
            got = _reading(
                lambda: collection.query(
                    query_embeddings=[vector],
                    n_results=top_k,
                    include=[*include, "metadatas", "distances"],
                )
            )
        # A record deleted between the vector search and the metadata fetch comes back empty.
        kept = [i for i, meta in enumerate(got["metadatas"][0]) if meta is not None]
        return {key: [got[key][0][i] for i in kept] for key in ("ids", "distances", *include)}

    def generation(self) -> str:
        """A value that changes whenever a document is added, replaced or removed."""
        with _unavailable_as_503("get"):
            got = self._cols.manifest.get(ids=[_GENERATION], include=["metadatas"])
        return str(got["metadatas"][0]["value"]) if got["ids"] else ""

    def manifest(self) -> dict[str, LiveVersion]:
        """doc_id -> its live version, for every document."""
        return {entry.info.doc_id: entry for entry in self._manifest()}

    def live_versions(self) -> dict[str, str]:
        """doc_id -> content hash of its live version, for every document."""
        return {doc_id: entry.content_hash for doc_id, entry in self.manifest().items()}

    def _manifest(self, doc_id: str | None = None) -> list[LiveVersion]:
        with _unavailable_as_503("get"):
            got = self._cols.manifest.get(ids=[doc_id] if doc_id else None, include=["metadatas"])
        return [
            LiveVersion(
                DocumentInfo.from_manifest(meta),
                str(meta["content_hash"]),
                int(meta.get("sentences", -1)),
            )
            for rid, meta in zip(got["ids"], got["metadatas"], strict=True)
            if rid != _GENERATION
        ]

    def all_chunks(self, live: dict[str, str] | None = None) -> list[Chunk]:
        """Every chunk of a live version (of `live`, read from the manifest when not given)."""
        return self.live_chunks(live)[0]

    def live_chunks(self, live: dict[str, str] | None = None) -> tuple[list[Chunk], np.ndarray]:
        """The chunks of live versions and their vectors, in one pass over the collection."""
        live = self.live_versions() if live is None else live
        records = [
            (Chunk.from_record(rid, text, meta), vector)
            for rid, text, meta, vector in self._scan(self._cols.chunks)
            if live.get(str(meta["doc_id"])) == meta["content_hash"]
        ]
        return [c for c, _ in records], _matrix([v for _, v in records])

    def live_sentences(self, live: dict[str, str]) -> tuple[list[Sentence], np.ndarray]:
        """The sentences of live versions and their vectors."""
        records = [
            (Sentence.from_record(rid, text, meta), vector)
            for rid, text, meta, vector in self._scan(self._cols.sentences)
            if live.get(str(meta["doc_id"])) == meta["content_hash"]
        ]
        return [s for s, _ in records], _matrix([v for _, v in records])

    def _scan(self, collection: Any) -> Iterator[tuple[str, str, dict[str, Any], Any]]:
        """Every record of a collection with its vector, a page at a time."""
        offset = 0
        while True:
            with _unavailable_as_503("get"):
                got = collection.get(
                    include=["documents", "metadatas", "embeddings"],
                    limit=_READ_PAGE,
                    offset=offset,
                )
            yield from zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
            if len(got["ids"]) < _READ_PAGE:
                return
            offset += _READ_PAGE

    def sentences_of(self, chunk_ids: Sequence[str]) -> tuple[list[Sentence], np.ndarray]:
        """The sentences of the given chunks, with their vectors, in document order."""
        if not chunk_ids:
            return [], np.zeros((0, 0), dtype=np.float32)  # callers test for no sentences
        with _unavailable_as_503("get"):
            got = _reading(
                lambda: self._cols.sentences.get(
                    where={"chunk_id": {"$in": list(chunk_ids)}},
                    include=["documents", "metadatas", "embeddings"],
                )
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
        """What is indexed: one entry per live document with its chunk count."""
        return sorted((entry.info for entry in self._manifest()), key=lambda d: d.source)

    def document(self, doc_id: str) -> DocumentInfo:
        """One document's entry; DocumentNotFound if it is not indexed."""
        found = self._manifest(doc_id)
        if not found:
            raise DocumentNotFound(f"no document with doc_id {doc_id!r}")
        return found[0].info

    def count(self) -> int:
        with _unavailable_as_503("count"):
            return int(self._cols.chunks.count())
