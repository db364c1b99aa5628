"""The records kept in the store: chunks, their sentences, and a document summary.

Offsets (`start`, `end`) are character positions in the document's clean text, so a client can
highlight exactly what a citation rests on.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from vectorstore.tokens import canonical

_LIST_SEPARATOR = " | "


@dataclass(frozen=True)
class DocumentMeta:
    """What is known of a whole document."""

    doc_id: str
    title: str
    source: str
    date: str = ""  # ISO, YYYY-MM-DD (or YYYY-MM), or empty
    sources: tuple[str, ...] = ()
    content_hash: str = ""
    author: str = ""
    site: str = ""
    tags: tuple[str, ...] = ()
    feed_stamp: str = ""  # the feed's updated/published time for the page it came from

    def metadata(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "date": self.date,
            "sources": _LIST_SEPARATOR.join(self.sources),
            "content_hash": self.content_hash,
            "author": self.author,
            "site": self.site,
            "tags": _LIST_SEPARATOR.join(self.tags),
            "feed_stamp": self.feed_stamp,
        }

    def publication_names(self) -> set[str]:
        """Every name a question's `sources` filter may give for the publication of this
        document, folded by `fold_name`: its site name, the sources it names, its source (file
        name or URL), and the host of its source URL with and without "www."."""
        names = {self.site, self.source, *self.sources}
        host = urlsplit(self.source).hostname if "://" in self.source else None
        if host:
            names |= {host, host.removeprefix("www.")}
        return {fold_name(n) for n in names if n}

    def date_span(self) -> tuple[dt.date, dt.date] | None:
        """The first and last day the document's date covers (YYYY-MM-DD: one day; YYYY-MM:
        the month; YYYY: the year); None when it has no date or not a valid one."""
        try:
            parts = [int(p) for p in self.date.split("-")]
            if len(parts) == 3:
                day = dt.date(*parts)
                return day, day
            if len(parts) == 2:
                year, month = parts
                last = calendar.monthrange(year, month)[1]
                return dt.date(year, month, 1), dt.date(year, month, last)
            if len(parts) == 1:
                return dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)
        except ValueError:
            return None
        return None

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> DocumentMeta:
        return cls(
            doc_id=str(meta["doc_id"]),
            title=str(meta.get("title", "")),
            source=str(meta.get("source", "")),
            date=str(meta.get("date") or ""),
            sources=_listed(meta.get("sources")),
            content_hash=str(meta.get("content_hash", "")),
            author=str(meta.get("author") or ""),
            site=str(meta.get("site") or ""),
            tags=_listed(meta.get("tags")),
            feed_stamp=str(meta.get("feed_stamp") or ""),
        )


def fold_name(name: str) -> str:
    """A publication's name as filters compare it: canonical, trimmed, without case."""
    return canonical(name).strip().casefold()


def _listed(value: object) -> tuple[str, ...]:
    return tuple(str(value).split(_LIST_SEPARATOR)) if value else ()


@dataclass(frozen=True)
class Chunk:
    """A passage of a document, as chunked by the node parser."""

    id: str
    doc: DocumentMeta
    text: str
    start: int
    end: int
    index: int

    @property
    def doc_id(self) -> str:
        return self.doc.doc_id

    @property
    def content_hash(self) -> str:
        return self.doc.content_hash

    def metadata(self) -> dict[str, Any]:
        return {**self.doc.metadata(), "start": self.start, "end": self.end, "index": self.index}

    @classmethod
    def from_record(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
        return cls(
            id=chunk_id,
            doc=DocumentMeta.from_metadata(meta),
            text=text,
            start=int(meta["start"]),
            end=int(meta["end"]),
            index=int(meta.get("index", 0)),
        )


def chunk_id(doc_id: str, content_hash: str, index: int) -> str:
    """The id of a version's chunk: its document, its version's hash, its place in it."""
    return f"{doc_id}:{content_hash[:12]}:{index}"


def version_of(chunk_id: str) -> tuple[str, str]:
    """(doc id, the first 12 characters of the version's hash) of a chunk id."""
    doc_id, short_hash, _ = chunk_id.rsplit(":", 2)
    return doc_id, short_hash


@dataclass(frozen=True)
class Sentence:
    """One sentence of a chunk, the unit an extractive answer quotes and cites."""

    id: str
    doc_id: str
    chunk_id: str
    text: str
    start: int
    end: int
    content_hash: str = ""
    whole: bool = True  # False for a piece of a sentence cut by its chunk's boundary


@dataclass(frozen=True)
class ChunkHit:
    """A chunk found for a query, with the score that ranked it (higher is better)."""

    chunk: Chunk
    score: float


@dataclass
class DocumentInfo:
    """A document as listed by `GET /documents`."""

    doc_id: str
    title: str
    source: str
    date: str
    sources: list[str] = field(default_factory=list)
    chunks: int = 1
    author: str = ""
    site: str = ""
    tags: list[str] = field(default_factory=list)

    @classmethod
    def from_manifest(cls, meta: dict[str, Any]) -> DocumentInfo:
        doc = DocumentMeta.from_metadata(meta)
        return cls(
            doc.doc_id,
            doc.title,
            doc.source,
            doc.date,
            list(doc.sources),
            int(meta["chunks"]),
            doc.author,
            doc.site,
            list(doc.tags),
        )
