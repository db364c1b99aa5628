"""The lexical index of the store-backed retrieval mode: BM25 over the chunks, on disk, in SQLite.

A full-text index (SQLite FTS5, in the standard library) of every chunk's terms, as
`vectorstore.tokens.tokenize` analyses them for French and English (accents and case folded,
elisions split off, stop words dropped, plurals folded): the same terms the in-memory BM25 of
the snapshot mode ranks by, so both modes rank alike. FTS5's `bm25()` is Okapi BM25 with
k1 = 1.2 and b = 0.75, as there.

One file per Chroma collection and host, shared by the processes of the host: SQLite's locks
let the ingester and every worker write and read it at once, and a reader sees each write
whole. Chroma stays the source of truth: the index is written before a version's commit in the
manifest, and a question keeps only the chunks of live versions (the manifest says which), so a
writer killed at any step leaves nothing half visible; `sync` brings the index up to date with
the manifest (what another host wrote, what a killed writer left out), and a new file is built
from Chroma whole.

Besides the terms, the index keeps what filters need per document (its date span and folded
publication names), so that a filtered question is ranked among the allowed documents in one
query, and the corpus vocabulary with a vector per frequent word, for the vocabulary bridge.
"""

from __future__ import annotations

import fcntl
import math
import sqlite3
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vectorstore.embedders import Embedder
from vectorstore.records import Chunk, DocumentMeta
from vectorstore.tokens import surface_words, tokenize

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    first_day TEXT,  -- ISO; NULL when the document has no date
    last_day TEXT,
    indexed_at REAL NOT NULL,  -- time.time() when the version was indexed
    PRIMARY KEY (doc_id, content_hash)
);
CREATE INDEX IF NOT EXISTS documents_days ON documents (first_day, last_day);
CREATE TABLE IF NOT EXISTS publications (
    name TEXT NOT NULL, doc_id TEXT NOT NULL, content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS publications_name ON publications (name);
CREATE INDEX IF NOT EXISTS publications_doc ON publications (doc_id);
CREATE TABLE IF NOT EXISTS chunks (
    row INTEGER PRIMARY KEY,  -- the rowid of the chunk's terms in `chunk_terms`
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5 (
    terms, tokenize = "unicode61 remove_diacritics 0 tokenchars '.,'"
);
CREATE VIRTUAL TABLE IF NOT EXISTS known_terms USING fts5vocab (chunk_terms, 'row');
CREATE TABLE IF NOT EXISTS words (
    word TEXT PRIMARY KEY, count INTEGER NOT NULL, vector BLOB
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS words_count ON words (count DESC);
"""
# Seconds a writer waits for another's transaction before giving up (an ingest batch of
# a thousand chunks holds the lock well under a second).
_BUSY_SECONDS = 30.0
_VECTOR = np.dtype("<f4")
# The corpus words the vocabulary bridge carries foreign words to: the most frequent carry the
# corpus; past a point, embedding and scanning the rare ones (identifiers, typos, one-off
# names) costs more than it brings.
VOCABULARY_SIZE = 20_000
# A query term found in more than this share of the chunks (and in more than COMMON_FLOOR of
# them) is left out of the lexical ranking; measured on 100,000 synthetic chunks, a term in 7 %
# of them took 9-14 ms of a ranking that takes under 1 ms without it.
COMMON_SHARE = 0.05
COMMON_FLOOR = 1_000
# The most postings one query ranks: on 1,000,000 synthetic chunks, with terms in tens of
# thousands of chunks each, ranking took 173 ms at p50 before this bound.
POSTINGS_BUDGET = 10_000
_COUNT_SECONDS = 60.0
# How many chunks hold a term is read by walking the term's postings (fts5vocab), which for a
# common term costs the most: at 224,000 synthetic chunks, 4.2 ms at p50 (14 ms at p95) for a
# question's terms, asked by the ranking, the weight of the lexical ranking and the vocabulary
# bridge. The counts of known terms are kept this long (seconds), for this many terms; a count
# a little old only weighs its term a little differently, and a term not yet known is always
# read again, so that an upload's new words rank at once.
_KNOWN_SECONDS = 60.0
_KNOWN_TERMS = 50_000
_EMBED_BATCH = 512


@dataclass(frozen=True)
class IndexedVersion:
    """A document version to index: its metadata and its chunks."""

    doc: DocumentMeta
    chunks: Sequence[Chunk]


@dataclass(frozen=True)
class AllowedDocuments:
    """A filter in the index's terms: an SQL condition on `documents d` and its parameters.

    Built by `app.services.filters.DocumentFilter.condition`; kept here as plain SQL so that
    the index needs nothing of the service."""

    sql: str
    parameters: tuple[str, ...]


class LexicalIndex:
    """Chunks' terms, their documents and the corpus vocabulary, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._known: OrderedDict[str, tuple[int, float]] = OrderedDict()  # term: count, read at
        self._known_lock = threading.Lock()
        self._db().executescript(_SCHEMA)  # in a transaction of its own

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections stay in their thread)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, isolation_level=None)
            db.execute("PRAGMA journal_mode = WAL")  # readers never wait for a writer
            db.execute("PRAGMA synchronous = NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: whole or not at all, even if the process is killed."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        with self._known_lock:  # what this process wrote, it counts afresh
            self._known.clear()

    # -- writing -------------------------------------------------------------------------------

    def add(self, versions: Iterable[IndexedVersion]) -> None:
        """Index document versions, in one transaction (a version already indexed is
        skipped). Their older versions stay until `remove_stale`: readers keep live ones."""
        with self._writing() as db:
            for version in versions:
                self._add(db, version)

    @staticmethod
    def _add(db: sqlite3.Connection, version: IndexedVersion) -> None:
        doc = version.doc
        key = (doc.doc_id, doc.content_hash)
        if db.execute(
            "SELECT 1 FROM documents WHERE doc_id = ? AND content_hash = ?", key
        ).fetchone():
            return
        span = doc.date_span()
        days = (span[0].isoformat(), span[1].isoformat()) if span else (None, None)
        db.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?)", (*key, *days, time.time()))
        db.executemany(
            "INSERT INTO publications VALUES (?, ?, ?)",
            [(name, *key) for name in sorted(doc.publication_names())],
        )
        words: Counter[str] = Counter()
        for chunk in version.chunks:
            cursor = db.execute(
                "INSERT INTO chunk_terms (terms) VALUES (?)", (terms_of(chunk.text),)
            )
            db.execute("INSERT INTO chunks VALUES (?, ?, ?, ?)", (cursor.lastrowid, chunk.id, *key))
            words.update(surface_words(chunk.text))
        db.executemany(
            "INSERT INTO words (word, count) VALUES (?, ?) "
            "ON CONFLICT (word) DO UPDATE SET count = count + excluded.count",
            words.items(),
        )

    def remove_stale(self, live: dict[str, str], before: float | None = None) -> None:
        """Remove the versions of these documents (doc_id -> live content hash) that are not
        the live one; only those indexed before `before` (a time.time()) if given."""
        with self._writing() as db:
            for doc_id, content_hash in live.items():
                self._remove(db, doc_id, content_hash, before)

    def remove(self, doc_ids: Iterable[str], before: float | None = None) -> None:
        """Remove every version of these documents (indexed before `before`, if given)."""
        with self._writing() as db:
            for doc_id in doc_ids:
                self._remove(db, doc_id, None, before)

    @staticmethod
    def _remove(
        db: sqlite3.Connection, doc_id: str, keep: str | None, before: float | None
    ) -> None:
        # The corpus vocabulary keeps its counts: it ranks words by use, and a word that
        # leaves with a document weighs little among many.
        versions = db.execute(
            "SELECT content_hash FROM documents"
            " WHERE doc_id = ? AND content_hash != ? AND indexed_at < ?",
            (doc_id, keep or "", math.inf if before is None else before),
        ).fetchall()
        for (content_hash,) in versions:
            key = (doc_id, content_hash)
            db.execute(
                "DELETE FROM chunk_terms WHERE rowid IN"
                " (SELECT row FROM chunks WHERE doc_id = ? AND content_hash = ?)",
                key,
            )
            for table in ("chunks", "publications", "documents"):
                db.execute(f"DELETE FROM {table} WHERE doc_id = ? AND content_hash = ?", key)

    # -- keeping in step with the store --------------------------------------------------------

    def versions(self) -> dict[str, set[str]]:
        """doc_id -> the content hashes of its indexed versions."""
        found: dict[str, set[str]] = {}
        for doc_id, content_hash in self._db().execute(
            "SELECT doc_id, content_hash FROM documents"
        ):
            found.setdefault(doc_id, set()).add(content_hash)
        return found

    def has_version(self, doc_id: str, content_hash: str) -> bool:
        row = self._db().execute(
            "SELECT 1 FROM documents WHERE doc_id = ? AND content_hash = ?",
            (doc_id, content_hash),
        )
        return row.fetchone() is not None

    def get_meta(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._writing() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @contextmanager
    def syncing(self) -> Iterator[None]:
        """Held while a process brings the index up to date with the store: an exclusive lock
        on a file beside the index, so that the workers of a host starting together over a
        store the index lacks read it once, not once each."""
        with self.path.with_suffix(".sync-lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def clear(self) -> None:
        """Empty the index (to rebuild it from the store)."""
        with self._writing() as db:
            for table in ("chunk_terms", "chunks", "publications", "documents", "words", "meta"):
                db.execute(f"DELETE FROM {table}")

    # -- reading -------------------------------------------------------------------------------

    def top(
        self, query: str, n: int, allowed: AllowedDocuments | None = None
    ) -> list[tuple[str, float]]:
        """The n chunks that rank best by BM25 for a query, as (chunk id, score) pairs, best
        first, the score positive; only chunks of the documents `allowed` lets through. Every
        indexed version is ranked: the caller keeps the live ones."""
        frequencies = self.frequencies(tokenize(query))
        limit = max(COMMON_FLOOR, COMMON_SHARE * self._chunk_count())
        # A term in a large share of the chunks weighs little in BM25 (idf 3.0 at 5 %, 7 to 14
        # for a rare one) and costs the most to rank (its postings): the rarest terms are kept
        # while their postings stay within POSTINGS_BUDGET, the rarest one always.
        terms: list[str] = []
        postings = 0
        for term, count in sorted(frequencies.items(), key=lambda item: item[1]):
            if terms and (count > limit or postings + count > POSTINGS_BUDGET):
                break
            terms.append(term)
            postings += count
        match = match_expression(terms)
        if not match or n <= 0:
            return []
        where = ""
        parameters: tuple[str, ...] = ()
        if allowed is not None:
            where = (
                " AND rowid IN (SELECT c2.row FROM chunks c2 JOIN documents d"
                " ON d.doc_id = c2.doc_id AND d.content_hash = c2.content_hash"
                f" WHERE {allowed.sql})"
            )
            parameters = allowed.parameters
        # Ranked inside the full-text table, and only the n kept rows joined to their chunk
        # ids: joined before the ranking, every matching row was (at 224,000 synthetic chunks,
        # p50 17-22 -> 10.5 ms for the same ids of 100 questions; README, "Scaling").
        rows = self._db().execute(
            "SELECT c.chunk_id, -ranked.score FROM ("
            " SELECT rowid, bm25(chunk_terms) AS score FROM chunk_terms"
            f" WHERE chunk_terms MATCH ?{where} ORDER BY score LIMIT ?"
            ") ranked JOIN chunks c ON c.row = ranked.rowid ORDER BY ranked.score",
            (match, *parameters, n),
        )
        return [(str(chunk_id), float(score)) for chunk_id, score in rows]

    def known(self, terms: Iterable[str]) -> set[str]:
        """Those of the terms that some indexed chunk contains."""
        return set(self.frequencies(terms))

    def frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        """How many indexed chunks contain each of the terms (those that some chunk does). A
        known term's count may be up to `_KNOWN_SECONDS` old; an unknown term is always read."""
        wanted = set(terms)
        found: dict[str, int] = {}
        now = time.monotonic()
        with self._known_lock:
            for term in wanted:
                kept = self._known.get(term)
                if kept is not None and now - kept[1] <= _KNOWN_SECONDS:
                    found[term] = kept[0]
                    self._known.move_to_end(term)
        unread = sorted(wanted - found.keys())
        if not unread:
            return found
        marks = ",".join("?" * len(unread))
        rows = self._db().execute(
            f"SELECT term, doc FROM known_terms WHERE term IN ({marks})", unread
        )
        read = {str(term): int(count) for term, count in rows}
        with self._known_lock:
            for term, count in read.items():
                self._known[term] = (count, now)
                self._known.move_to_end(term)
            while len(self._known) > _KNOWN_TERMS:
                self._known.popitem(last=False)
        return found | read

    def _chunk_count(self) -> int:
        """How many chunks are indexed, counted again at most every `_COUNT_SECONDS`."""
        counted_at, count = getattr(self._local, "chunk_count", (-math.inf, 0))
        if time.monotonic() - counted_at > _COUNT_SECONDS:
            count = int(self._db().execute("SELECT count(*) FROM chunks").fetchone()[0])
            self._local.chunk_count = (time.monotonic(), count)
        return int(count)

    def allowed_doc_ids(self, allowed: AllowedDocuments, limit: int) -> list[str] | None:
        """The ids of the documents a filter allows, or None when there are more than
        `limit` (too many to name in a query to the vector store)."""
        rows = (
            self._db()
            .execute(
                f"SELECT DISTINCT d.doc_id FROM documents d WHERE {allowed.sql} LIMIT ?",
                (*allowed.parameters, limit + 1),
            )
            .fetchall()
        )
        return None if len(rows) > limit else [str(doc_id) for (doc_id,) in rows]

    def allowed_among(self, doc_ids: Iterable[str], allowed: AllowedDocuments) -> set[str]:
        """Those of these documents that a filter allows."""
        wanted = sorted(set(doc_ids))
        if not wanted:
            return set()
        rows = self._db().execute(
            f"SELECT DISTINCT d.doc_id FROM documents d WHERE d.doc_id IN"
            f" ({','.join('?' * len(wanted))}) AND {allowed.sql}",
            (*wanted, *allowed.parameters),
        )
        return {str(doc_id) for (doc_id,) in rows}

    def counts(self) -> tuple[int, int]:
        """(documents, chunks) indexed, every version counted."""
        db = self._db()
        documents = db.execute("SELECT count(DISTINCT doc_id) FROM documents").fetchone()[0]
        chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return int(documents), int(chunks)

    # -- the corpus vocabulary -----------------------------------------------------------------

    def word_vectors(
        self, embedder: Embedder, n: int = VOCABULARY_SIZE
    ) -> tuple[list[str], np.ndarray]:
        """The n most used words of the corpus, most used first, and their vectors as the rows
        of one matrix ((n, dimension) float32, unit length). Those without one are embedded
        and their vectors kept, so that the next process (the ingester fills them after each
        run) reads them instead."""
        rows = self._db().execute(
            "SELECT word, vector FROM words ORDER BY count DESC, word LIMIT ?", (n,)
        )
        found = rows.fetchall()
        matrix = np.zeros((len(found), embedder.dimension), np.float32)
        missing: list[tuple[int, str]] = []
        for row, (word, blob) in enumerate(found):
            if blob is None:
                missing.append((row, str(word)))
            else:
                matrix[row] = np.frombuffer(blob, _VECTOR)
        for i in range(0, len(missing), _EMBED_BATCH):
            batch = missing[i : i + _EMBED_BATCH]
            matrix[[row for row, _ in batch]] = embedder.embed_query([w for _, w in batch])
            with self._writing() as db:
                db.executemany(
                    "UPDATE words SET vector = ? WHERE word = ?",
                    [(matrix[row].tobytes(), word) for row, word in batch],
                )
        return [str(word) for word, _ in found], matrix


def terms_of(text: str) -> str:
    """A text's terms as the index stores them: `tokenize`'s, space-separated."""
    return " ".join(tokenize(text))


def match_expression(terms: Sequence[str]) -> str:
    """An FTS5 query matching any of the terms (each quoted: a term is never an operator)."""
    return " OR ".join(f'"{term}"' for term in dict.fromkeys(terms))
