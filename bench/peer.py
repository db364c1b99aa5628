"""The peer: plain LlamaIndex over the same embedder, behind a minimal FastAPI route.

`python -m bench.peer --chroma-path DIR --port N --stats FILE PATH...` reads the files with
`SimpleDirectoryReader`, builds a `VectorStoreIndex` over a `ChromaVectorStore` with LlamaIndex's
default settings (default `SentenceSplitter`, default batch sizes, Chroma's default collection),
records how long that took, then serves `POST /search {"query", "top_k"}` from
`index.as_retriever(similarity_top_k=top_k).retrieve(query)` and `GET /health` with uvicorn.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from pydantic import BaseModel, Field, PrivateAttr

from config import Settings
from vectorstore import Embedder, make_embedder

COLLECTION = "peer"


class ProjectEmbedding(BaseEmbedding):
    """The project's embedder as a LlamaIndex embedding model (no cache, default batch size)."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
        super().__init__(model_name=embedder.fingerprint, **kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "ProjectEmbedding"

    @staticmethod
    def _rows(vectors: np.ndarray) -> list[Embedding]:
        return [row.tolist() for row in vectors]

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._rows(self._embedder.embed_query([query]))[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._rows(self._embedder.embed([text]))[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embedding(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._rows(self._embedder.embed(texts))

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._get_text_embeddings(texts)


class SearchBody(BaseModel):
    query: str = Field(min_length=1, max_length=1000)
    top_k: int = Field(5, ge=1, le=20)


def build_index(
    paths: list[Path], chroma_path: Path, embed_model: BaseEmbedding
) -> tuple[Any, int]:
    """`VectorStoreIndex.from_documents` into a fresh Chroma collection, default settings;
    returns the index and the number of nodes stored."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chromadb.PersistentClient(
        path=str(chroma_path), settings=ChromaSettings(anonymized_telemetry=False)
    )
    if COLLECTION in {c.name for c in client.list_collections()}:
        client.delete_collection(COLLECTION)
    collection = client.create_collection(COLLECTION)
    vector_store = ChromaVectorStore(chroma_collection=collection)
    storage_context = StorageContext.from_defaults(vector_store=vector_store)
    documents = SimpleDirectoryReader(input_files=[str(p) for p in paths]).load_data()
    index = VectorStoreIndex.from_documents(
        documents, storage_context=storage_context, embed_model=embed_model
    )
    return index, int(collection.count())


def create_app(index: Any, nodes: int) -> FastAPI:
    """The minimal service: one retrieval route and a health check."""
    app = FastAPI(title="plain LlamaIndex peer")

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ready", "nodes": nodes}

    @app.post("/search")
    def search(body: SearchBody) -> dict[str, Any]:
        retriever = index.as_retriever(similarity_top_k=body.top_k)
        hits = retriever.retrieve(body.query)
        return {
            "results": [
                {
                    "doc_id": Path(str(hit.node.metadata.get("file_name", ""))).stem,
                    "text": hit.node.get_content(),
                    "score": hit.score,
                }
                for hit in hits
            ]
        }

    return app


def expand(paths: list[Path]) -> list[Path]:
    """Folders to their .txt files, sorted; files as given."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.txt")) if path.is_dir() else [path])
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer")
    parser.add_argument("--chroma-path", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stats", type=Path, required=True, help="JSON file: build figures")
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    embed_model = ProjectEmbedding(make_embedder(Settings()))
    loaded = time.perf_counter()
    index, nodes = build_index(expand(args.paths), args.chroma_path, embed_model)
    built = time.perf_counter()
    stats = {"embedder_load_seconds": loaded - started, "build_seconds": built - loaded}
    args.stats.write_text(json.dumps({**stats, "nodes": nodes}), encoding="utf-8")

    import uvicorn

    uvicorn.run(create_app(index, nodes), host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
