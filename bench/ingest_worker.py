"""`python -m bench.ingest_worker`: a timed ingest, and the raw encoder on the same chunks.

Run as a child process so that the embedded Chroma it writes is closed before the service opens
it. Rounds alternate a fresh ingest and a raw encode of the chunks that ingest wrote, so machine
noise hits both; the last round's collection stays for the service. It writes one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from config import Settings
from ingest.pipeline import ingest_paths
from vectorstore import ChromaStore, Embedder, make_embedder
from vectorstore.store import open_client

RAW_BATCH = 32


class TimedEmbedder:
    """An embedder that counts the texts it embeds and the seconds it takes."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.fingerprint = inner.fingerprint
        self.dimension = inner.dimension
        self.seconds = 0.0
        self.texts = 0

    def _timed(self, call: Callable[[list[str]], np.ndarray], texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return call(texts)
        finally:
            self.seconds += time.perf_counter() - started
            self.texts += len(texts)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._timed(self.inner.embed, texts)

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self._timed(self.inner.embed_query, texts)


class TimedStore:
    """A store whose every method call adds to `seconds`."""

    def __init__(self, inner: ChromaStore) -> None:
        self._inner = inner
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed


@dataclass
class IngestRound:
    """One fresh ingest: its chunks and seconds, and where the seconds went."""

    chunks: int
    documents: int
    seconds: float
    embed_seconds: float
    texts_embedded: int
    store_seconds: float

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0


@dataclass
class WorkerResult:
    """What the worker measured; medians over rounds."""

    embedder: str
    embedder_load_seconds: float
    rounds: list[IngestRound] = field(default_factory=list)
    raw_seconds: list[float] = field(default_factory=list)
    raw_chunks: int = 0
    peak_rss_mb: float = 0.0

    def summary(self) -> dict[str, Any]:
        best = self.rounds[-1]
        ingest_rate = statistics.median(r.chunks_per_s for r in self.rounds)
        raw_rate = (
            statistics.median(self.raw_chunks / s for s in self.raw_seconds)
            if self.raw_seconds
            else None
        )
        return {
            "embedder": self.embedder,
            "embedder_load_seconds": self.embedder_load_seconds,
            "chunks": best.chunks,
            "documents": best.documents,
            "ingest_seconds": statistics.median(r.seconds for r in self.rounds),
            "ingest_chunks_per_s": ingest_rate,
            "embed_share": statistics.median(r.embed_seconds / r.seconds for r in self.rounds),
            "store_share": statistics.median(r.store_seconds / r.seconds for r in self.rounds),
            "texts_embedded_per_chunk": best.texts_embedded / max(1, best.chunks),
            "raw_chunks": self.raw_chunks,
            "raw_encode_chunks_per_s": raw_rate,
            "ingest_over_raw": ingest_rate / raw_rate if raw_rate else None,
            "peak_rss_mb": self.peak_rss_mb,
            "rounds": [asdict(r) for r in self.rounds],
            "raw_seconds": self.raw_seconds,
        }


def timed_ingest(paths: Sequence[Path], embedder: Embedder, settings: Settings) -> IngestRound:
    """Empty the collection and ingest `paths` into it, timing embedding and store calls."""
    ChromaStore.drop(settings)
    timed_embedder = TimedEmbedder(embedder)
    store = TimedStore(ChromaStore.from_settings(settings, embedder.fingerprint))
    report = ingest_paths(paths, cast(ChromaStore, store), timed_embedder, settings)
    return IngestRound(
        chunks=report.chunks,
        documents=report.documents,
        seconds=report.seconds,
        embed_seconds=timed_embedder.seconds,
        texts_embedded=timed_embedder.texts,
        store_seconds=store.seconds,
    )


def stored_chunk_texts(settings: Settings, limit: int | None) -> list[str]:
    """The texts of the chunks in the collection, evenly thinned to at most `limit`."""
    collection = open_client(settings).get_collection(settings.collection)
    texts = [t for t in collection.get(include=["documents"])["documents"] or [] if t]
    if limit and len(texts) > limit:
        step = len(texts) / limit
        texts = [texts[int(i * step)] for i in range(limit)]
    return texts


def raw_encode(embedder: Embedder, texts: list[str], batch: int = RAW_BATCH) -> float:
    """Seconds the bare embedder takes over `texts` in batches."""
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        embedder.embed(texts[i : i + batch])
    return time.perf_counter() - started


def run(
    paths: Sequence[Path], settings: Settings, rounds: int, raw_limit: int | None
) -> WorkerResult:
    """Alternate `rounds` fresh ingests with raw encodes of the same chunks (0: no raw)."""
    started = time.perf_counter()
    embedder = make_embedder(settings)
    result = WorkerResult(embedder.fingerprint, time.perf_counter() - started)
    texts: list[str] = []
    for _ in range(max(1, rounds)):
        result.rounds.append(timed_ingest(paths, embedder, settings))
        if raw_limit == 0:
            continue
        texts = texts or stored_chunk_texts(settings, raw_limit)
        result.raw_chunks = len(texts)
        result.raw_seconds.append(raw_encode(embedder, texts))
    result.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_worker")
    parser.add_argument("--chroma-path", type=Path, required=True)
    parser.add_argument("--collection", default="articles")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--raw-limit", type=int, default=None, help="0: no raw encode")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--paths-file", type=Path, help="more paths, one a line")
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = list(args.paths)
    if args.paths_file:
        paths += [Path(line) for line in args.paths_file.read_text().splitlines() if line]
    settings = Settings(chroma_path=args.chroma_path, chroma_host=None, collection=args.collection)  # type: ignore[call-arg]
    result = run(paths, settings, args.rounds, args.raw_limit)
    args.out.write_text(json.dumps(result.summary(), indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
