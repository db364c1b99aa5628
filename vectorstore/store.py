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
from functools import partial
from typing import Any, TypeVar

import chromadb
import httpx
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import InternalError as ChromaInternalError

from config import Settings
from vectorstore.errors import (
    DocumentNotFound,
    EmbedderMismatch,
    OutdatedStore,
    StoreUnavailable,
)
from vectorstore.records import Chunk, ChunkHit, DocumentInfo, DocumentMeta, Sentence

_WRITE_BATCH = 1_000
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
    except (DocumentNotFound, EmbedderMismatch, OutdatedStore):
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


def _stale(live: dict[str, str]) -> dict[str, Any]:
    """Chroma's filter for the records of these documents that belong to no live version.

    (A version's hash is of its bytes: two documents with the same bytes share one, and the
    older version of one of them could be left behind, unseen, since readers keep only live
    versions.)
    """
    return {
        "$and": [
            {"doc_id": {"$in": list(live)}},
            {"content_hash": {"$nin": list(live.values())}},
        ]
    }


@dataclass(frozen=True)
class NewVersion:
    """A document's version to write: its chunks and sentences with their vectors."""

    chunks: Sequence[Chunk]
    chunk_vectors: np.ndarray
    sentences: Sequence[Sentence]
    sentence_vectors: np.ndarray
    replaces: bool = True  # False when the document had no live version: nothing to remove

    def __post_init__(self) -> None:
        if not self.chunks:
            raise ValueError("a document needs at least one chunk")

    @property
    def doc(self) -> DocumentMeta:
        return self.chunks[0].doc


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
        version = NewVersion(chunks, chunk_vectors, sentences, sentence_vectors)
        self.replace_documents([version])

    def replace_documents(self, versions: Sequence[NewVersion]) -> None:
        """Write new versions of several documents (one version per document), make them live
        in one manifest write, then remove their older versions.

        Chroma's cost is mostly per call, so a batch of documents costs about what one does.
        """
        if not versions:
            return
        doc_ids = [v.doc.doc_id for v in versions]
        if len(set(doc_ids)) != len(doc_ids):
            raise ValueError("one version per document in a batch")
        with _unavailable_as_503("write"):
            self._add(
                self._cols.chunks,
                [c for v in versions for c in v.chunks],
                np.concatenate([v.chunk_vectors for v in versions]),
            )
            self._add(
                self._cols.sentences,
                [s for v in versions for s in v.sentences],
                np.concatenate([v.sentence_vectors for v in versions]),
                text=False,  # a sentence's text is in its chunk's
            )
            now = time.time()
            live = [
                {
                    **v.doc.metadata(),
                    "chunks": len(v.chunks),
                    "sentences": len(v.sentences),
                    "ingested_at": now,
                }
                for v in versions
            ]
            # The commit: the versions and a new generation, in one write.
            self._cols.manifest.upsert(
                ids=[*doc_ids, _GENERATION],
                embeddings=[_NO_VECTOR] * (len(doc_ids) + 1),
                metadatas=[*live, {"value": uuid.uuid4().hex}],
            )
            replaced = {v.doc.doc_id: v.doc.content_hash for v in versions if v.replaces}
            if replaced:
                self._delete_stale(replaced)

    def remove_stale(self, live: dict[str, str]) -> None:
        """Remove what writers stopped after their commit left of older versions of these
        documents (doc_id -> live content hash)."""
        items = list(live.items())
        for i in range(0, len(items), _WRITE_BATCH):
            part = dict(items[i : i + _WRITE_BATCH])
            with _unavailable_as_503("write"):
                # Sentences go last when a version is removed: none left means nothing is left.
                if self._cols.sentences.get(where=_stale(part), limit=1, include=[])["ids"]:
                    self._delete_stale(part)

    def _delete_stale(self, live: dict[str, str]) -> None:
        self._cols.chunks.delete(where=_stale(live))
        self._cols.sentences.delete(where=_stale(live))

    @staticmethod
    def _add(
        collection: Any,
        records: Sequence[Chunk | Sentence],
        vectors: np.ndarray,
        text: bool = True,
    ) -> None:
        for i in range(0, len(records), _WRITE_BATCH):
            part = records[i : i + _WRITE_BATCH]
            collection.upsert(
                ids=[r.id for r in part],
                embeddings=vectors[i : i + _WRITE_BATCH],
                documents=[r.text for r in part] if text else None,
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

    def live_sentences(self, chunks: dict[str, Chunk]) -> tuple[list[Sentence], np.ndarray]:
        """The sentences of these (live) chunks and their vectors."""
        records = []
        for rid, _, meta, vector in self._scan(self._cols.sentences, text=False):
            chunk = chunks.get(Sentence.chunk_id_of(rid))
            if chunk is None:
                continue
            if "span" not in meta:
                raise OutdatedStore(
                    f"collection {self.name!r} was written by an older ingester: run "
                    "`python -m ingest` (or `make run`) to bring it up to date"
                )
            records.append((Sentence.from_record(rid, meta, chunk), vector))
        return [s for s, _ in records], _matrix([v for _, v in records])

    def _scan(
        self, collection: Any, text: bool = True
    ) -> Iterator[tuple[str, str, dict[str, Any], Any]]:
        """Every record of a collection with its vector (and text), a page at a time."""
        include = ["metadatas", "embeddings", *(["documents"] if text else [])]
        offset = 0
        while True:
            with _unavailable_as_503("get"):
                got = _reading(
                    partial(collection.get, include=include, limit=_READ_PAGE, offset=offset)
                )
            texts = got["documents"] if text else [""] * len(got["ids"])
            # Chroma hands vectors back as float64: halve them at once, page by page.
            vectors = np.asarray(got["embeddings"], dtype=np.float32)
            yield from zip(got["ids"], texts, got["metadatas"], vectors, strict=True)
            if len(got["ids"]) < _READ_PAGE:
                return
            offset += _READ_PAGE

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
