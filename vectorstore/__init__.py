"""Vector storage and embedding: the only package that imports chromadb."""

from vectorstore.embedders import Embedder, make_embedder
from vectorstore.errors import (
    DocumentNotFound,
    DocumentTooLarge,
    EmbedderMismatch,
    EmbedderUnavailable,
    ServiceError,
    StoreUnavailable,
    UnsupportedDocument,
)
from vectorstore.records import Chunk, ChunkHit, DocumentInfo, DocumentMeta, Sentence
from vectorstore.store import ChromaStore

__all__ = [
    "ChromaStore",
    "Chunk",
    "ChunkHit",
    "DocumentInfo",
    "DocumentMeta",
    "DocumentNotFound",
    "DocumentTooLarge",
    "Embedder",
    "EmbedderMismatch",
    "EmbedderUnavailable",
    "Sentence",
    "ServiceError",
    "StoreUnavailable",
    "UnsupportedDocument",
    "make_embedder",
]
