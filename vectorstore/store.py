"""The Chroma store: the one module that talks to chromadb.

Two collections per corpus: `<name>` holds the chunks (what `/search` returns), a
cosine-space collection that records the embedder that filled it, and `<name>-manifest` one
record per document naming its live version. Each chunk record also carries its sentences, their
spans and their vectors packed into its metadata: computed once at ingest, so that answering
needs no embedding of passages, and written with their chunk, in the same record, because a
record of its own per sentence cost Chroma a write (about 0.4 ms) and an index entry that
nothing queries.

The manifest is the commit point of a write. A document's chunks are written first (their ids
carry the version's hash, so an old version is never overwritten in place), then one manifest
record makes the new version live, then the old version is removed. Readers keep only chunks of
live versions, so a writer killed at any step leaves no half-written document visible, and the
next ingest of the same file completes it. A generation record changes with every commit, so
that other processes know when to reload.
"""

from __future__ import annotations

import base64
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
from vectorstore.lexical import IndexedVersion, LexicalIndex
from vectorstore.records import (
    Chunk,
    ChunkHit,
    DocumentInfo,
    DocumentMeta,
    Sentence,
    chunk_id,
)

_WRITE_BATCH = 1_000
# A Chroma server refuses a request over 40 MB: a write stays under this many bytes (estimated
# high), so that a batch of 500 chunks of about a dozen sentences each still goes in one write.
_WRITE_BYTES = 30_000_000
_READ_ATTEMPTS = 4
# Chunk records carry their sentences' vectors (about 24 KB each): read a page at a time.
_READ_PAGE = 1_000
T = TypeVar("T")
# The manifest's records carry no meaning in their vectors; Chroma needs one all the same.
_NO_VECTOR = [1.0]
# The id of the generation record: "#" never appears in a doc_id.
_GENERATION = "#generation"
# A chunk record's sentences: "start:end:whole" of each, space-separated, and their vectors in
# base64, in the same order: one signed byte per dimension, each vector scaled so that its
# largest component is 127 (unit length again once read). Chroma indexes every string metadata
# value, so a chunk record's sentence vectors are stored twice: 684 base64 characters a
# sentence instead of float32's 2,732. Measured on the question set (`python -m
# bench.sentence_precision`): cosines move by 0.0011 at most, 107 of 108 answers cite the same
# sentences. Records written as float32 (`sentence_vectors`) are still read.
_SPANS = "sentence_spans"
_VECTORS = "sentence_vectors_i8"
_VECTORS_F32 = "sentence_vectors"
# Written by ingesters before sentences moved into their chunks' records.
_LEGACY_SENTENCES = "-sentences"
# The chunks' HNSW index, fixed when the collection is created (ef_search can be changed later
# with `modify()`; Chroma applies it after a restart). Dense recall@50 against exact search at
# 1,000,000 synthetic chunks (`python -m bench.archive --again`), question set's vectors / vectors
# drawn like the chunks: ef_search 200: 0.625 / 0.857; 500: 0.811 / 0.936 (ef_construction 200).
# On the sample and the French man pages (17,968 real chunks, 1,451 of them with a twin of the
# same text: licences, boilerplate), three builds of each, the question set's 85 answerable
# questions, recall@50 counting ties: ef_construction 200 gave 0.950-0.978, and in two builds
# of three missed the exact nearest chunk for 2-4 questions and all of one question's top 50;
# 800 gave 0.988-0.990 and found every question's nearest chunk, for 2.5x the build time
# (max_neighbors 48 with 400: 0.973-0.986, all of a question's top 50 missed once; 64 with
# 400: 0.981-0.986, more links per chunk). `python -m bench.hnsw_recall` measures it.
HNSW = {"space": "cosine", "ef_construction": 800, "ef_search": 500, "max_neighbors": 32}
# A manifest entry is synced into a host's lexical index if written this many seconds before
# the newest one it synced, or later: room for hosts whose clocks differ by up to this much
# (an entry written by a host further behind waits for a full sync: the next ingester run).
# Each sync re-reads the entries of this window, so it stays short.
_SYNC_MARGIN = 10.0
_MANIFEST_PAGE = 10_000
_VECTOR_PAGE = 5_000
# A full sync leaves alone what was indexed this recently (seconds): a writer's version between
# its indexing and its commit.
_WRITE_SECONDS = 60.0


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


def _pack(sentences: Sequence[Sentence], vectors: np.ndarray) -> dict[str, str]:
    """A chunk's sentences as two metadata values: their spans, and their vectors in base64."""
    return {
        _SPANS: " ".join(f"{s.start}:{s.end}:{int(s.whole)}" for s in sentences),
        _VECTORS: base64.b64encode(quantise(vectors).tobytes()).decode(),
    }


def quantise(vectors: np.ndarray) -> np.ndarray:
    """Vectors (n, d) as signed bytes, each row scaled so that its largest component is 127."""
    vectors = np.asarray(vectors, np.float32)
    if not vectors.size:
        return np.zeros(vectors.shape, np.int8)
    scale = 127.0 / np.maximum(np.abs(vectors).max(axis=1, keepdims=True), 1e-12)
    return np.round(vectors * scale).astype(np.int8)


def dequantise(packed: np.ndarray) -> np.ndarray:
    """Signed-byte vectors (n, d) back to float32 rows of unit length."""
    vectors = packed.astype(np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _unpack(
    chunk: Chunk, meta: dict[str, Any], dimension: int
) -> tuple[list[Sentence], np.ndarray]:
    """The sentences a chunk record carries, and their vectors (float32 rows)."""
    if _SPANS not in meta:
        raise OutdatedStore(
            "the collection was written by an older ingester: run "
            "`python -m ingest` (or `make run`) to bring it up to date"
        )
    spans = [tuple(int(n) for n in span.split(":")) for span in str(meta[_SPANS]).split()]
    sentences = [
        Sentence(
            id=f"{chunk.id}:{k}",
            doc_id=chunk.doc_id,
            chunk_id=chunk.id,
            text=chunk.text[start - chunk.start : end - chunk.start],
            start=start,
            end=end,
            content_hash=chunk.content_hash,
            whole=bool(whole),
        )
        for k, (start, end, whole) in enumerate(spans)
    ]
    if _VECTORS in meta:
        packed = np.frombuffer(base64.b64decode(str(meta[_VECTORS])), np.int8)
        return sentences, dequantise(packed.reshape(len(sentences), dimension))
    vectors = np.frombuffer(base64.b64decode(str(meta[_VECTORS_F32])), "<f4")
    return sentences, vectors.astype(np.float32).reshape(len(sentences), dimension)


def _dimension(meta: dict[str, Any]) -> int:
    """The dimension of the sentence vectors a chunk record carries (0 if it has none)."""
    count = len(str(meta.get(_SPANS, "")).split())
    if not count:
        return 0
    packed = str(meta[_VECTORS] if _VECTORS in meta else meta[_VECTORS_F32])
    size = len(packed) * 3 // 4 - packed[-2:].count("=")  # the bytes base64 holds
    return size // count if _VECTORS in meta else size // (4 * count)


def _record_bytes(record: dict[str, Any]) -> int:
    """At most what a record weighs in a write: its strings in UTF-8, its vector as JSON
    numbers (at most 24 characters each)."""
    strings = sum(len(v) for v in record["metadata"].values() if isinstance(v, str))
    return strings + 4 * len(record["document"]) + 24 * len(record["embedding"])


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
    feed_stamp: str = ""  # see DocumentMeta.feed_stamp


def _chunk_records(version: NewVersion) -> Iterator[dict[str, Any]]:
    """A version's chunk records, each carrying its sentences (spans and vectors)."""
    rows: dict[str, list[int]] = {c.id: [] for c in version.chunks}
    for row, sentence in enumerate(version.sentences):
        rows[sentence.chunk_id].append(row)
    for chunk, vector in zip(version.chunks, version.chunk_vectors, strict=True):
        mine = rows[chunk.id]
        yield {
            "id": chunk.id,
            "embedding": vector,
            "document": chunk.text,
            "metadata": {
                **chunk.metadata(),
                **_pack([version.sentences[r] for r in mine], version.sentence_vectors[mine]),
            },
        }


@dataclass
class _Collections:
    chunks: Any
    manifest: Any


class ChromaStore:
    """Chunks and sentences of the corpus, with their vectors, in Chroma; and a lexical index
    of the chunks on this host's disk, written with them (see `vectorstore.lexical`)."""

    def __init__(
        self,
        client: Any,
        name: str,
        embedder_fingerprint: str,
        lexical: LexicalIndex | None = None,
    ) -> None:
        self._client = client
        self.name = name
        self.embedder_fingerprint = embedder_fingerprint
        self.lexical = lexical
        # The sentences the last `live_chunks` read with their chunks, for `live_sentences`.
        self._sentences_read: dict[str, tuple[list[Sentence], np.ndarray]] = {}
        with _unavailable_as_503("open collections"):
            self._cols = _Collections(
                chunks=self._open(name),
                manifest=client.get_or_create_collection(
                    f"{name}-manifest", embedding_function=None
                ),
            )

    @classmethod
    def from_settings(cls, settings: Settings, embedder_fingerprint: str) -> ChromaStore:
        """The store the settings name, with this host's lexical index of it."""
        store = cls(
            open_client(settings),
            settings.collection,
            embedder_fingerprint,
            LexicalIndex(settings.lexical_file),
        )
        store.adopt_lexical()
        return store

    def _open(self, name: str) -> Any:
        collection = self._client.get_or_create_collection(
            name,
            configuration={"hnsw": HNSW},
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
        """Delete the corpus's collections, whichever embedder filled them."""
        client = open_client(settings)
        with _unavailable_as_503("drop"):
            existing = {c.name for c in client.list_collections()}
            for suffix in ("", _LEGACY_SENTENCES, "-manifest"):
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
            self._add_chunks(versions)
            if self.lexical is not None:
                self.lexical.add(IndexedVersion(v.doc, v.chunks) for v in versions)
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
                if self._cols.chunks.get(where=_stale(part), limit=1, include=[])["ids"]:
                    self._delete_stale(part)

    def remove_legacy(self) -> None:
        """Delete the sentence collection that older ingesters wrote beside the chunks."""
        with _unavailable_as_503("drop"):
            existing = {c.name for c in self._client.list_collections()}
            if self.name + _LEGACY_SENTENCES in existing:
                self._client.delete_collection(self.name + _LEGACY_SENTENCES)

    def _delete_stale(self, live: dict[str, str]) -> None:
        # The lexical index first: a writer stopped between the two leaves stale records in
        # Chroma, which `remove_stale` finds, and so removes from both.
        if self.lexical is not None:
            self.lexical.remove_stale(live)
        self._cols.chunks.delete(where=_stale(live))

    def _add_chunks(self, versions: Sequence[NewVersion]) -> None:
        """Upsert the versions' chunks, each with its sentences, in writes of bounded size."""
        batch: list[dict[str, Any]] = []
        size = 0
        for record in (r for v in versions for r in _chunk_records(v)):
            batch.append(record)
            size += _record_bytes(record)
            if len(batch) >= _WRITE_BATCH or size >= _WRITE_BYTES:
                self._upsert(batch)
                batch, size = [], 0
        if batch:
            self._upsert(batch)

    def _upsert(self, records: list[dict[str, Any]]) -> None:
        self._cols.chunks.upsert(
            ids=[r["id"] for r in records],
            embeddings=np.stack([r["embedding"] for r in records]),
            documents=[r["document"] for r in records],
            metadatas=[r["metadata"] for r in records],
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
        if self.lexical is not None:
            self.lexical.remove([doc_id])

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

    def nearest_ids(
        self, vector: np.ndarray, n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """The ids of the n chunk records nearest to a query vector by Chroma's HNSW index,
        with their cosine, best first; only records matching `where` (a Chroma metadata
        filter) if given. Records of versions no longer live may be among them."""
        try:
            with _unavailable_as_503("query"):
                got = _reading(
                    lambda: self._cols.chunks.query(
                        query_embeddings=[vector], n_results=n, where=where, include=["distances"]
                    )
                )
        except ChromaInternalError:
            if self.count() == 0:
                return []  # an embedded Chroma with no records has no index to search yet
            raise
        return [
            (str(rid), 1.0 - float(distance))
            for rid, distance in zip(got["ids"][0], got["distances"][0], strict=True)
        ]

    def live_of(self, doc_ids: Sequence[str]) -> dict[str, LiveVersion]:
        """The live versions of these documents (those that have one), by doc_id."""
        if not doc_ids:
            return {}
        return {entry.info.doc_id: entry for entry in self._manifest(list(doc_ids))}

    def chunk_records(
        self, ids: Sequence[str]
    ) -> dict[str, tuple[Chunk, list[Sentence], np.ndarray]]:
        """These chunks by id, each with its sentences and their vectors (float32 rows, unit
        length); an id no record has is left out. The chunk vectors are not fetched: they
        would double what crosses the wire, and the sentences' give them back (see
        `ingest.pipeline.pooled_chunk_vectors`)."""
        if not ids:
            return {}
        with _unavailable_as_503("get"):
            got = _reading(
                lambda: self._cols.chunks.get(ids=list(ids), include=["documents", "metadatas"])
            )
        found = {}
        for rid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
            chunk = Chunk.from_record(rid, text, meta)
            found[rid] = (chunk, *_unpack(chunk, meta, _dimension(meta)))
        return found

    def chunk_vectors(self) -> Iterator[tuple[str, np.ndarray]]:
        """Every chunk record's id and vector (float32), a page at a time (for benchmarks
        that compare the vector index with exact search)."""
        offset = 0
        while True:
            with _unavailable_as_503("get"):
                got = _reading(
                    partial(
                        self._cols.chunks.get,
                        include=["embeddings"],
                        limit=_VECTOR_PAGE,
                        offset=offset,
                    )
                )
            vectors = np.asarray(got["embeddings"], dtype=np.float32)
            yield from zip(got["ids"], vectors, strict=True)
            if len(got["ids"]) < _VECTOR_PAGE:
                return
            offset += _VECTOR_PAGE

    def chunk_texts(self, ids: Sequence[str]) -> list[str]:
        """The texts of these chunks (those found), in no set order."""
        with _unavailable_as_503("get"):
            got = _reading(lambda: self._cols.chunks.get(ids=list(ids), include=["documents"]))
        return [str(text) for text in got["documents"]]

    # -- the lexical index ---------------------------------------------------------------------

    def adopt_lexical(self) -> None:
        """Make sure the lexical index is of this collection: an index built for another
        (a collection dropped and made again, another server) is emptied, to be rebuilt."""
        if self.lexical is None:
            return
        collection = f"{self._cols.chunks.id}"
        if self.lexical.get_meta("collection") != collection:
            self.lexical.clear()
            self.lexical.set_meta("collection", collection)

    def sync_lexical(self, full: bool = False) -> int:
        """Bring the lexical index up to date with the manifest; the number of versions it
        indexed.

        Incremental by default: the manifest entries written since the last sync (minus a
        margin for clocks), which is what another host's ingester or upload wrote. `full`
        (and the first sync of an index) compares every entry, indexes what is missing and
        removes what is no longer live: a rebuild from Chroma, which stays the source of
        truth."""
        if self.lexical is None:
            return 0
        with self.lexical.syncing():  # one process of the host at a time: the others wait
            return self._sync_lexical(self.lexical, full)

    def _sync_lexical(self, lexical: LexicalIndex, full: bool) -> int:
        # What a writer indexed in the last minute may be a version it has yet to commit.
        settled = time.time() - _WRITE_SECONDS
        since = lexical.get_meta("synced_until")
        full = full or since is None
        where = None if full else {"ingested_at": {"$gte": float(since or 0) - _SYNC_MARGIN}}
        entries = [
            (LiveVersion(DocumentInfo.from_manifest(meta), str(meta["content_hash"]), -1), meta)
            for rid, meta in self._manifest_pages(where)
            if rid != _GENERATION
        ]
        missing = [
            entry
            for entry, _ in entries
            if not lexical.has_version(entry.info.doc_id, entry.content_hash)
        ]
        for i in range(0, len(missing), _WRITE_BATCH // 10):
            lexical.add(self._indexed(missing[i : i + _WRITE_BATCH // 10]))
        if full:
            live = {entry.info.doc_id: entry.content_hash for entry, _ in entries}
            indexed = lexical.versions()
            lexical.remove([d for d in indexed if d not in live], before=settled)
            lexical.remove_stale(
                {d: live[d] for d, hashes in indexed.items() if d in live and len(hashes) > 1},
                before=settled,
            )
        newest = max((float(meta.get("ingested_at", 0)) for _, meta in entries), default=0.0)
        lexical.set_meta("synced_until", str(max(newest, float(since or 0))))
        return len(missing)

    def _pages_by_id(self, ids: Sequence[str], include: list[str]) -> Iterator[dict[str, Any]]:
        """Chroma's `get` of these chunk records, `_READ_PAGE` ids at a time."""
        for i in range(0, len(ids), _READ_PAGE):
            with _unavailable_as_503("get"):
                yield _reading(
                    partial(
                        self._cols.chunks.get, ids=list(ids[i : i + _READ_PAGE]), include=include
                    )
                )

    def _manifest_pages(self, where: dict[str, Any] | None) -> Iterator[tuple[str, dict[str, Any]]]:
        """The manifest's records (matching `where`) with their metadata, a page at a time."""
        offset = 0
        while True:
            with _unavailable_as_503("get"):
                got = self._cols.manifest.get(
                    where=where, include=["metadatas"], limit=_MANIFEST_PAGE, offset=offset
                )
            yield from zip(got["ids"], got["metadatas"], strict=True)
            if len(got["ids"]) < _MANIFEST_PAGE:
                return
            offset += _MANIFEST_PAGE

    def _indexed(self, entries: Sequence[LiveVersion]) -> list[IndexedVersion]:
        """These live versions as the lexical index takes them, their chunks read from
        Chroma by id (a version's chunk ids follow from its hash and chunk count)."""
        ids_of = [
            [chunk_id(e.info.doc_id, e.content_hash, i) for i in range(e.info.chunks)]
            for e in entries
        ]
        ids = [c for mine in ids_of for c in mine]
        found: dict[str, Chunk] = {}
        for got in self._pages_by_id(ids, ["documents", "metadatas"]):
            for rid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                found[rid] = Chunk.from_record(rid, text, meta)
        versions = [[found[c] for c in mine if c in found] for mine in ids_of]
        return [IndexedVersion(chunks[0].doc, chunks) for chunks in versions if chunks]

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

    def _manifest(self, doc_ids: list[str] | None = None) -> list[LiveVersion]:
        with _unavailable_as_503("get"):
            got = self._cols.manifest.get(ids=doc_ids, include=["metadatas"])
        return [
            LiveVersion(
                DocumentInfo.from_manifest(meta),
                str(meta["content_hash"]),
                int(meta.get("sentences", -1)),
                str(meta.get("feed_stamp") or ""),
            )
            for rid, meta in zip(got["ids"], got["metadatas"], strict=True)
            if rid != _GENERATION
        ]

    def all_chunks(self, live: dict[str, str] | None = None) -> list[Chunk]:
        """Every chunk of a live version (of `live`, read from the manifest when not given)."""
        return self._live_chunks(live, keep_sentences=False)[0]

    def live_chunks(
        self, live: dict[str, str] | None = None, only: Sequence[str] | None = None
    ) -> tuple[list[Chunk], np.ndarray]:
        """The chunks of live versions and their vectors, in one pass over the collection, or
        over the records of the documents `only` names.

        The sentences their records carry are kept for the `live_sentences` call that follows,
        so that a snapshot reads the collection once."""
        return self._live_chunks(live, keep_sentences=True, only=only)

    def _live_chunks(
        self, live: dict[str, str] | None, keep_sentences: bool, only: Sequence[str] | None = None
    ) -> tuple[list[Chunk], np.ndarray]:
        live = self.live_versions() if live is None else live
        chunks: list[Chunk] = []
        vectors: list[np.ndarray] = []
        sentences: dict[str, tuple[list[Sentence], np.ndarray]] = {}
        where = None if only is None else {"doc_id": {"$in": list(only)}}
        records = self._scan(self._cols.chunks, where) if only is None or only else iter(())
        for rid, text, meta, vector in records:
            if live.get(str(meta["doc_id"])) != meta["content_hash"]:
                continue
            chunk = Chunk.from_record(rid, text, meta)
            chunks.append(chunk)
            vectors.append(vector)
            if keep_sentences:
                sentences[rid] = _unpack(chunk, meta, len(vector))
        self._sentences_read = sentences
        return chunks, _matrix(vectors)

    def live_sentences(self, chunks: dict[str, Chunk]) -> tuple[list[Sentence], np.ndarray]:
        """The sentences of these (live) chunks and their vectors, in the order of `chunks`."""
        read, self._sentences_read = self._sentences_read, {}
        missing = [chunk_id for chunk_id in chunks if chunk_id not in read]
        for got in self._pages_by_id(missing, ["metadatas", "embeddings"]):
            for rid, meta, vector in zip(
                got["ids"], got["metadatas"], got["embeddings"], strict=True
            ):
                read[rid] = _unpack(chunks[rid], meta, len(vector))
        parts = [read[chunk_id] for chunk_id in chunks if chunk_id in read]
        sentences = [s for mine, _ in parts for s in mine]
        if not sentences:
            return [], _matrix([])
        return sentences, np.concatenate([vectors for _, vectors in parts])

    @staticmethod
    def _scan(
        collection: Any, where: dict[str, Any] | None = None
    ) -> Iterator[tuple[str, str, dict[str, Any], Any]]:
        """Every record of a collection (matching `where`, a Chroma metadata filter) with its
        text and vector, a page at a time."""
        include = ["metadatas", "embeddings", "documents"]
        offset = 0
        while True:
            with _unavailable_as_503("get"):
                got = _reading(
                    partial(
                        collection.get,
                        where=where,
                        include=include,
                        limit=_READ_PAGE,
                        offset=offset,
                    )
                )
            # Chroma hands vectors back as float64: halve them at once, page by page.
            vectors = np.asarray(got["embeddings"], dtype=np.float32)
            yield from zip(got["ids"], got["documents"], got["metadatas"], vectors, strict=True)
            if len(got["ids"]) < _READ_PAGE:
                return
            offset += _READ_PAGE

    def documents(self) -> list[DocumentInfo]:
        """What is indexed: one entry per live document with its chunk count."""
        return sorted((entry.info for entry in self._manifest()), key=lambda d: d.source)

    def document(self, doc_id: str) -> DocumentInfo:
        """One document's entry; DocumentNotFound if it is not indexed."""
        found = self._manifest([doc_id])
        if not found:
            raise DocumentNotFound(f"no document with doc_id {doc_id!r}")
        return found[0].info

    def document_count(self) -> int:
        """How many documents have a live version."""
        with _unavailable_as_503("count"):
            records = int(self._cols.manifest.count())
        return records - 1 if records else 0  # the generation record is not a document

    def hnsw(self) -> dict[str, Any]:
        """The HNSW parameters the chunks' collection was created with (`ef_construction`,
        `max_neighbors`, ...): a collection keeps those of its creation, whatever `HNSW` says
        now. {} when Chroma does not report them."""
        configuration = self._cols.chunks.configuration or {}
        return dict(configuration.get("hnsw") or {})

    def count(self) -> int:
        with _unavailable_as_503("count"):
            return int(self._cols.chunks.count())
