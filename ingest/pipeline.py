"""The ingest pipeline: read, clean, chunk, embed and write each document.

A document is identified by its file name (`doc_id`), and its version by a hash of its bytes and of
the settings that shape its chunks: the same file twice is skipped, a changed file replaces its
old chunks, and changing CHUNK_SIZE re-ingests everything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import numpy as np

from app.services.language import detect_language
from config import Settings
from ingest.chunking import chunk_document
from ingest.cleaning import clean
from ingest.readers import RawDocument, UnreadableFile, discover, read_document
from vectorstore import ChromaStore, Chunk, DocumentMeta, Embedder, Sentence
from vectorstore.store import NewVersion
from vectorstore.tokens import canonical

# Bump when cleaning or chunking changes, so that stored documents are re-ingested.
PIPELINE_VERSION = "8"
# Documents are written to the store in batches of about this many chunks: Chroma's cost is
# mostly per call, so a batch of documents costs about what one does.
_WRITE_CHUNKS = 500
# Sentence vectors an ingest run remembers (2 KB each), for sentences that recur across documents.
_REMEMBERED_SENTENCES = 10_000


@dataclass
class IngestReport:
    """What one ingest run did."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def documents(self) -> int:
        return len(self.added) + len(self.replaced) + len(self.unchanged)

    def summary(self) -> str:
        return (
            f"{self.documents} documents ({len(self.added)} added, {len(self.replaced)} replaced, "
            f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped), "
            f"{self.chunks} chunks written in {self.seconds:.1f} s"
        )


def doc_id_for(path: PurePath) -> str:
    """A stable id from the file name (without its extension): a new version keeps its id.

    Names that do not fit in [a-z0-9_-] ("中文.txt", "Été 2025.txt") keep a readable part and a
    hash of the whole name, so two of them never share an id. The name is compared `canonical`
    and with ' for ’: "L’été.txt" and "L'été.txt", in NFC or NFD, are one document.
    """
    stem = canonical(path.stem).replace("\u2019", "'")
    slug = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-")
    if slug == stem.lower():
        return slug
    digest = hashlib.sha1(stem.encode("utf-8")).hexdigest()[:10]
    return f"{slug}-{digest}" if slug else f"document-{digest}"


def version_hash(raw: RawDocument, settings: Settings) -> str:
    shape = f"{PIPELINE_VERSION}:{settings.chunk_size}:{settings.chunk_overlap}:{raw.raw_hash}"
    return hashlib.sha256(shape.encode()).hexdigest()[:16]


def prepare_version(raw: RawDocument, embedder: Embedder, settings: Settings) -> NewVersion | str:
    """Clean, chunk and embed a document: the version to write, or why there is none."""
    cleaned = clean(raw.text, scraped=raw.meta.scraped)
    if not cleaned.text:
        return "no article text left after cleaning"
    found = raw.meta  # what the page's metadata or front matter says wins over guesses
    meta = DocumentMeta(
        doc_id=doc_id_for(raw.path),
        title=found.title or cleaned.title,
        source=found.url or raw.path.name,
        date=found.date or cleaned.date,
        sources=tuple(cleaned.sources),
        content_hash=version_hash(raw, settings),
        author=found.author,
        site=found.site,
        tags=found.tags,
        feed_stamp=found.stamp,
    )
    text = with_byline(cleaned.text, found.author)
    chunks, sentences = chunk_document(text, meta, settings.chunk_size, settings.chunk_overlap)
    # Overlapping chunks share sentences: embed each distinct sentence once.
    distinct = sorted({(s.start, s.end) for s in sentences})
    position = {span: i for i, span in enumerate(distinct)}
    unique_vectors = embedder.embed([text[s:e] for s, e in distinct])
    sentence_vectors = unique_vectors[[position[(s.start, s.end)] for s in sentences]]
    chunk_vectors = pooled_chunk_vectors(chunks, sentences, sentence_vectors)
    return NewVersion(chunks, chunk_vectors, sentences, sentence_vectors)


def with_byline(text: str, author: str) -> str:
    """The text with "Auteur : <author>." ("Author:" in English) after its headline when the
    page's metadata or front matter names an author the text does not: a byline is then a
    sentence that a question about the author ("Qui a écrit ...") can find and cite."""
    if not author or author in text:
        return text
    label = "Author:" if detect_language(text[:2000]) == "en" else "Auteur :"
    headline, _, body = text.partition("\n")
    return f"{headline}\n{label} {author}.\n{body}".rstrip("\n")


class RememberingEmbedder:
    """An embedder that embeds a text it embedded recently only once: documents of one source
    repeat sentences (a licence notice, a standard heading), and each text is embedded
    independently of the others, so its vector does not depend on the batch it came in."""

    def __init__(self, embedder: Embedder, size: int = _REMEMBERED_SENTENCES) -> None:
        self._embedder = embedder
        self._size = size
        self._known: OrderedDict[str, np.ndarray] = OrderedDict()
        self.fingerprint = embedder.fingerprint
        self.dimension = embedder.dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        known = {t: self._known[t] for t in texts if t in self._known}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        fresh = dict(zip(missing, self._embedder.embed(missing), strict=True)) if missing else {}
        vectors = [known[t] if t in known else fresh[t] for t in texts]
        for text in known:
            self._known.move_to_end(text)
        self._known.update(fresh)
        while len(self._known) > self._size:
            self._known.popitem(last=False)
        return np.stack(vectors) if vectors else np.zeros((0, self.dimension), np.float32)

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self._embedder.embed_query(texts)


class BatchWriter:
    """Collects prepared versions and writes them to the store a batch at a time: `add` a
    read document (skipped when its version is live already), `close` at the end."""

    def __init__(self, store: ChromaStore, live: dict[str, str], report: IngestReport) -> None:
        self.store = store
        self.live = live  # doc_id -> live content hash, kept current as batches land
        self.report = report
        self.pending: list[NewVersion] = []
        self.unchanged: dict[str, str] = {}

    def add(self, raw: RawDocument, embedder: Embedder, settings: Settings) -> None:
        doc_id = doc_id_for(raw.path)
        if any(v.doc.doc_id == doc_id for v in self.pending):
            self.flush()  # a.txt then a.html: two versions of one document, in order
        content_hash = version_hash(raw, settings)
        if self.live.get(doc_id) == content_hash:
            self.unchanged[doc_id] = content_hash
            self.report.unchanged.append(doc_id)
            return
        version = prepare_version(raw, embedder, settings)
        if isinstance(version, str):
            self.report.skipped.append((str(raw.path), version))
            return
        # A new document has no older version to remove. (A run killed before its commit may
        # have left records of another version: no reader sees them, and the same bytes
        # ingested again overwrite them.)
        self.pending.append(dataclasses.replace(version, replaces=doc_id in self.live))
        if sum(len(v.chunks) for v in self.pending) >= _WRITE_CHUNKS:
            self.flush()

    def flush(self) -> None:
        self.store.replace_documents(self.pending)
        for version in self.pending:
            doc = version.doc
            (self.report.replaced if doc.doc_id in self.live else self.report.added).append(
                doc.doc_id
            )
            self.report.chunks += len(version.chunks)
            self.live[doc.doc_id] = doc.content_hash
        self.pending = []

    def close(self) -> None:
        self.flush()
        # In case a run was killed after its commit but before it removed the old versions.
        self.store.remove_stale(self.unchanged)


def ingest_document(
    raw: RawDocument,
    store: ChromaStore,
    embedder: Embedder,
    settings: Settings,
    report: IngestReport,
) -> None:
    """Ingest one read document into the store, recording the outcome in the report."""
    doc_id = doc_id_for(raw.path)
    stored = store.content_hash(doc_id)
    writer = BatchWriter(store, {doc_id: stored} if stored else {}, report)
    writer.add(raw, embedder, settings)
    writer.close()


def pooled_chunk_vectors(
    chunks: Sequence[Chunk], sentences: Sequence[Sentence], sentence_vectors: np.ndarray
) -> np.ndarray:
    """Each chunk's vector: the mean of its sentences' vectors, weighted by the square root of
    their length, normalised. Ingest then embeds the text once, sentence by sentence, instead
    of twice; on the question set this retrieves as well as embedding the chunks whole (hit@1
    0.965 against 0.953, `python -m eval`)."""
    pooled = np.zeros((len(chunks), sentence_vectors.shape[1]), dtype=np.float32)
    row = {chunk.id: i for i, chunk in enumerate(chunks)}
    for sentence, vector in zip(sentences, sentence_vectors, strict=True):
        pooled[row[sentence.chunk_id]] += vector * np.sqrt(sentence.end - sentence.start)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def ingest_paths(
    paths: Iterable[Path],
    store: ChromaStore,
    embedder: Embedder,
    settings: Settings,
    on_progress: Callable[[list[Path]], Iterable[Path]] = lambda files: files,
) -> IngestReport:
    """Ingest files and folders; unreadable files are reported and skipped, the rest goes on."""
    started = time.perf_counter()
    files, skipped = discover(paths)
    report = IngestReport(skipped=[(str(p), why) for p, why in skipped])
    writer = BatchWriter(store, store.live_versions(), report)
    embedder = RememberingEmbedder(embedder)
    for path in on_progress(files):
        try:
            raw = read_document(path)
        except UnreadableFile as exc:
            report.skipped.append((str(path), str(exc)))
            continue
        writer.add(raw, embedder, settings)
    writer.close()
    store.remove_legacy()
    # What a run stopped before its end left out of (or stale in) the lexical index.
    store.sync_lexical(full=True)
    if store.lexical is not None:
        store.lexical.word_vectors(embedder)  # embedded once here, not by each worker
    report.seconds = time.perf_counter() - started
    return report
