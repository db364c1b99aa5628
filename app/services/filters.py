"""Which documents a question may be answered from: a period, publications, documents.

A filter is applied inside retrieval, before the top k is taken, so that a filtered question
gets its best passages among the documents allowed rather than what is left of an unfiltered
top k. Its parts are combined with AND; a part left out allows every document.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from ingest.cleaning import canonical
from vectorstore.records import DocumentMeta


@dataclass(frozen=True)
class DocumentFilter:
    """The documents allowed for one question.

    - `date_from`, `date_to`: inclusive bounds. A document without a date is excluded by
      either bound; one dated by its month only ("2025-04") or year only is allowed when any
      day of that month or year falls within the bounds.
    - `sources`: publications, compared without case: a document matches one when it is its
      site name, a source the article names ("Source : AFP"), its source (file name or URL),
      or the host of its source URL with or without "www." (`lemonde.fr`).
    - `doc_ids`: documents by id (`GET /documents`).
    """

    date_from: date | None = None
    date_to: date | None = None
    sources: frozenset[str] = frozenset()  # folded by `_fold`
    doc_ids: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        date_from: date | None = None,
        date_to: date | None = None,
        sources: list[str] | None = None,
        doc_ids: list[str] | None = None,
    ) -> DocumentFilter | None:
        """The filter, or None when it allows every document (nothing to apply)."""
        found = cls(
            date_from,
            date_to,
            frozenset(_fold(s) for s in sources or ()),
            frozenset(canonical(d).replace("’", "'") for d in doc_ids or ()),
        )
        return None if found == cls() else found

    def allows(self, doc: DocumentMeta) -> bool:
        """Whether a document may be cited under this filter."""
        if self.doc_ids and doc.doc_id not in self.doc_ids:
            return False
        if self.sources and not (self.sources & _names_of(doc)):
            return False
        if self.date_from is None and self.date_to is None:
            return True
        span = _span(doc.date)
        if span is None:
            return False
        first, last = span
        return (self.date_from is None or last >= self.date_from) and (
            self.date_to is None or first <= self.date_to
        )


def _fold(name: str) -> str:
    return canonical(name).strip().casefold()


def _names_of(doc: DocumentMeta) -> set[str]:
    """Every name a `sources` filter may give for the publication of a document."""
    names = {doc.site, doc.source, *doc.sources}
    host = urlsplit(doc.source).hostname if "://" in doc.source else None
    if host:
        names |= {host, host.removeprefix("www.")}
    return {_fold(n) for n in names if n}


def _span(iso: str) -> tuple[date, date] | None:
    """The first and last day an ISO date (YYYY-MM-DD, YYYY-MM or YYYY) covers; None if it
    is empty or not one."""
    try:
        parts = [int(p) for p in iso.split("-")]
        if len(parts) == 3:
            day = date(*parts)
            return day, day
        if len(parts) == 2:
            year, month = parts
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        if len(parts) == 1:
            return date(parts[0], 1, 1), date(parts[0], 12, 31)
    except ValueError:
        return None
    return None
