"""Which documents a question may be answered from: a period, publications, documents.

A filter is applied inside retrieval, before the top k is taken, so that a filtered question
gets its best passages among the documents allowed rather than what is left of an unfiltered
top k. Its parts are combined with AND; a part left out allows every document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from vectorstore.lexical import AllowedDocuments
from vectorstore.records import DocumentMeta, fold_name
from vectorstore.tokens import canonical


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
    sources: frozenset[str] = frozenset()  # folded by `fold_name`
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
            frozenset(fold_name(s) for s in sources or ()),
            frozenset(canonical(d).replace("’", "'") for d in doc_ids or ()),
        )
        return None if found == cls() else found

    def allows(self, doc: DocumentMeta) -> bool:
        """Whether a document may be cited under this filter."""
        if self.doc_ids and doc.doc_id not in self.doc_ids:
            return False
        if self.sources and not (self.sources & doc.publication_names()):
            return False
        if self.date_from is None and self.date_to is None:
            return True
        span = doc.date_span()
        if span is None:
            return False
        first, last = span
        return (self.date_from is None or last >= self.date_from) and (
            self.date_to is None or first <= self.date_to
        )

    def condition(self) -> AllowedDocuments:
        """This filter as an SQL condition on the lexical index's `documents d`, with the
        same meaning as `allows` (a document without a date fails a date bound: its days are
        NULL)."""
        parts: list[str] = []
        values: list[str] = []
        if self.doc_ids:
            parts.append(f"d.doc_id IN ({_marks(self.doc_ids)})")
            values += sorted(self.doc_ids)
        if self.sources:
            parts.append(
                "EXISTS (SELECT 1 FROM publications p WHERE p.doc_id = d.doc_id"
                f" AND p.content_hash = d.content_hash AND p.name IN ({_marks(self.sources)}))"
            )
            values += sorted(self.sources)
        if self.date_from is not None:
            parts.append("d.last_day >= ?")
            values.append(self.date_from.isoformat())
        if self.date_to is not None:
            parts.append("d.first_day <= ?")
            values.append(self.date_to.isoformat())
        return AllowedDocuments(" AND ".join(parts) or "1", tuple(values))


def _marks(values: frozenset[str]) -> str:
    return ", ".join("?" * len(values))
