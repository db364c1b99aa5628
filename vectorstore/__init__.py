"""Vector storage and embedding: the only package that imports chromadb."""

from vectorstore.embedders import Embedder, make_embedder
from vectorstore.errors import (
    DocumentNotFound,
    EmbedderMismatch,
    EmbedderUnavailable,
    ServiceError,
    StoreUnavailable,
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
    "Embedder",
    "EmbedderMismatch",
    "EmbedderUnavailable",
    "Sentence",
    "ServiceError",
    "StoreUnavailable",
    "make_embedder",
]
