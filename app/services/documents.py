"""Adding, reading and removing documents while the service answers.

An upload goes through the ingest pipeline in memory (its file name is only a label: nothing is
written to the file system), then the lexical index is rebuilt so that the next question sees it.
Writes are serialised; a question asked meanwhile sees the old version or the new one, since a
new version is written in full before the old one is removed.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import PurePath

from app.services.retriever import Retriever
from config import Settings
from ingest.pipeline import IngestReport, doc_id_for, ingest_document
from ingest.readers import SUPPORTED_SUFFIXES, UnreadableFile, parse_document
from vectorstore import ChromaStore, DocumentInfo, DocumentTooLarge, Embedder, UnsupportedDocument
from vectorstore.tokens import canonical


@dataclass(frozen=True)
class Upload:
    doc_id: str
    status: str  # added, replaced or unchanged
    chunks: int


def safe_name(filename: str | None) -> str:
    """The file's own name (`canonical`), without any folder, with only harmless characters."""
    base = PurePath(canonical(filename or "").replace("\\", "/")).name
    return re.sub(r"[^\w.\- ]+", "_", base).strip(" .") or "upload.txt"


class DocumentService:
    def __init__(
        self, store: ChromaStore, retriever: Retriever, embedder: Embedder, settings: Settings
    ) -> None:
        self.retriever = retriever
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._writing = threading.Lock()

    def upload(self, filename: str | None, data: bytes) -> Upload:
        """Ingest an uploaded file; the same bytes twice add nothing, new bytes replace."""
        name = safe_name(filename)
        suffix = PurePath(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise UnsupportedDocument(
                f"{name}: unsupported type; send one of {', '.join(sorted(SUPPORTED_SUFFIXES))}"
            )
        if len(data) > self.settings.max_upload_bytes:
            raise DocumentTooLarge(
                f"{name}: {len(data)} bytes, over the limit of {self.settings.max_upload_bytes}"
            )
        try:
            raw = parse_document(data, PurePath(name), name)
        except UnreadableFile as exc:
            raise UnsupportedDocument(str(exc)) from exc
        report = IngestReport()
        with self._writing:
            ingest_document(raw, self.store, self.embedder, self.settings, report)
            if report.skipped:
                raise UnsupportedDocument(f"{name}: {report.skipped[0][1]}")
            if report.chunks:
                self.retriever.refresh()
        status = "added" if report.added else "replaced" if report.replaced else "unchanged"
        doc_id = doc_id_for(PurePath(name))
        return Upload(doc_id, status, self.store.document(doc_id).chunks)

    def get(self, doc_id: str) -> DocumentInfo:
        return self.store.document(doc_id)

    def delete(self, doc_id: str) -> None:
        with self._writing:
            self.store.delete_document(doc_id)
            self.retriever.refresh()
