"""The ingest pipeline: read, clean, chunk, embed and write each document.

A document is identified by its file name (`doc_id`), and its version by a hash of its bytes and of
the settings that shape its chunks: the same file twice is skipped, a changed file replaces its
old chunks, and changing CHUNK_SIZE re-ingests everything.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import numpy as np

from config import Settings
from ingest.chunking import chunk_document
from ingest.cleaning import clean
from ingest.readers import RawDocument, UnreadableFile, discover, read_document
from vectorstore import ChromaStore, Chunk, DocumentMeta, Embedder, Sentence

# Bump when cleaning or chunking changes, so that stored documents are re-ingested.
PIPELINE_VERSION = "4"


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
    hash of the whole name, so two of them never share an id.
    """
    slug = re.sub(r"[^a-z0-9_-]+", "-", path.stem.lower()).strip("-")
    if slug == path.stem.lower():
        return slug
    digest = hashlib.sha1(path.stem.encode("utf-8")).hexdigest()[:10]
    return f"{slug}-{digest}" if slug else f"document-{digest}"


def version_hash(raw: RawDocument, settings: Settings) -> str:
    shape = f"{PIPELINE_VERSION}:{settings.chunk_size}:{settings.chunk_overlap}:{raw.raw_hash}"
    return hashlib.sha256(shape.encode()).hexdigest()[:16]


def ingest_document(
    raw: RawDocument,
    store: ChromaStore,
    embedder: Embedder,
    settings: Settings,
    report: IngestReport,
) -> None:
    """Ingest one read document into the store, recording the outcome in the report."""
    doc_id = doc_id_for(raw.path)
    content_hash = version_hash(raw, settings)
    stored_hash = store.content_hash(doc_id)
    if stored_hash == content_hash:
        store.remove_stale(doc_id, content_hash)  # in case a run was killed before it did
        report.unchanged.append(doc_id)
        return
    cleaned = clean(raw.text)
    if not cleaned.text:
        report.skipped.append((str(raw.path), "no article text left after cleaning"))
        return
    meta = DocumentMeta(
        doc_id=doc_id,
        title=cleaned.title,
        source=raw.path.name,
        date=cleaned.date,
        sources=tuple(cleaned.sources),
        content_hash=content_hash,
    )
    chunks, sentences = chunk_document(
        cleaned.text, meta, settings.chunk_size, settings.chunk_overlap
    )
    # Overlapping chunks share sentences: embed each distinct sentence once.
    distinct = sorted({(s.start, s.end) for s in sentences})
    position = {span: i for i, span in enumerate(distinct)}
    unique_vectors = embedder.embed([cleaned.text[s:e] for s, e in distinct])
    sentence_vectors = unique_vectors[[position[(s.start, s.end)] for s in sentences]]
    chunk_vectors = pooled_chunk_vectors(chunks, sentences, sentence_vectors)
    store.replace_document(doc_id, chunks, chunk_vectors, sentences, sentence_vectors)
    (report.replaced if stored_hash else report.added).append(doc_id)
    report.chunks += len(chunks)


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
    for path in on_progress(files):
        try:
            raw = read_document(path)
        except UnreadableFile as exc:
            report.skipped.append((str(path), str(exc)))
            continue
        ingest_document(raw, store, embedder, settings, report)
    report.seconds = time.perf_counter() - started
    return report
