"""`python -m bench.archive`: a synthetic newsroom archive on a Chroma server, both modes.

Embedding a million chunks takes hours here, so the archive is written straight to the store,
through the same write path as the ingester (`ChromaStore.replace_documents`: Chroma, then the
host's lexical index, then the manifest): documents of 8 chunks of 6 sentences, each document
about one topic. A topic is a sentence of the sample articles: its USE vector is the centre of
the topic's sentence vectors (the centre plus Gaussian noise, cosine about 0.75 to it), and its
words make up a third of each of the topic's sentences, the rest drawn from the sample's
vocabulary by Zipf's law. The questions of the question set then land near topics, as real
questions would.

The archive grows through the scales asked (10,000 -> 100,000 -> 1,000,000 chunks); at each,
the benchmark measures:
- the write: seconds and chunks per second for the step, Chroma's and the lexical index's size;
- dense recall@50 of Chroma's HNSW index against exact search (over every chunk vector, kept
  in this process), for the question set's vectors and for vectors drawn like the chunks';
- a worker in each retrieval mode (the in-memory one only up to `--memory-max` chunks):
  start-up, resident memory after the load, `/search` p50/p95 at c=1 (distinct questions);
- an upload to one host (its own lexical index) until it is found by `/search` on another
  host (a copy of the index, as a host provisioned from a backup, kept current by its watcher).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.load import post_json, search_body
from bench.questions import DistinctQuestions, base_questions, vocabulary
from bench.servers import HOST, ChromaServer, Server, spawn_service, start_chroma, wait_all_ready
from bench.stats import percentile
from config import PROJECT_ROOT, Settings
from vectorstore import ChromaStore, Chunk, DocumentMeta, Embedder, Sentence, make_embedder
from vectorstore.records import chunk_id
from vectorstore.store import NewVersion, open_client

SAMPLE = PROJECT_ROOT / "data" / "articles"
COLLECTION = "archive"
CHUNKS_PER_DOCUMENT = 8
SENTENCES_PER_CHUNK = 6
WORDS_PER_SENTENCE = 15
BATCH_DOCUMENTS = 125  # 1,000 chunks a write
NOISE = 0.9  # the norm of the noise added to a unit topic centre: cosine about 0.75
SITES = [f"Le Journal {n}" for n in "ABCDEFGHIJKLMNOPQRST"]
UPLOAD = (
    "Le conseil municipal de Sainte-Aude a voté mardi la rénovation du pont de la Loue, "
    "fermé depuis janvier. Les travaux coûteront 2,4 millions d'euros, selon la mairie."
)


@dataclass
class Topics:
    """The archive's topics: their centre vectors (unit length) and their words."""

    centres: np.ndarray
    words: list[np.ndarray]

    @classmethod
    def of_sample(cls, embedder: Embedder) -> Topics:
        text = " ".join(p.read_text(encoding="utf-8") for p in sorted(SAMPLE.glob("*.txt")))
        sentences = [s.strip() for s in text.replace("\n", " ").split(". ") if len(s) > 60]
        words = [np.array(s.split()) for s in sentences]
        return cls(embedder.embed(sentences), words)


class Archive:
    """Writes synthetic documents to the store and keeps every chunk vector for exact search."""

    def __init__(self, store: ChromaStore, topics: Topics, seed: int = 0) -> None:
        self.store = store
        self.topics = topics
        self.rng = np.random.default_rng(seed)
        words = np.array(vocabulary([SAMPLE]))
        self.background = words
        zipf = 1.0 / np.arange(1, len(words) + 1) ** 1.05
        self.zipf = zipf / zipf.sum()
        self.documents = 0
        self.chunk_vectors: list[np.ndarray] = []

    @property
    def chunks(self) -> int:
        return self.documents * CHUNKS_PER_DOCUMENT

    def catch_up(self) -> None:
        """Take up an archive an earlier run wrote: its documents are counted and its chunk
        vectors read back from the store, in the rows `row_of` gives them."""
        self.documents = self.store.document_count()
        matrix = np.zeros((self.chunks, self.topics.centres.shape[1]), np.float32)
        for chunk, vector in self.store.chunk_vectors():
            if chunk.startswith("archive"):
                matrix[row_of(chunk)] = vector
        self.chunk_vectors = [matrix]

    def grow_to(self, chunks: int) -> float:
        """Write documents until the archive holds `chunks` chunks; the seconds it took."""
        started = time.perf_counter()
        while self.chunks < chunks:
            count = min(BATCH_DOCUMENTS, (chunks - self.chunks) // CHUNKS_PER_DOCUMENT)
            self.store.replace_documents([self._document(self.documents + i) for i in range(count)])
            self.documents += count
        return time.perf_counter() - started

    def _document(self, number: int) -> NewVersion:
        rng = self.rng
        topic = int(rng.integers(len(self.topics.centres)))
        year, month, day = 2015 + number % 11, 1 + number % 12, 1 + number % 28
        doc = DocumentMeta(
            doc_id=f"archive{number:07d}",
            title=f"Article {number}",
            source=f"https://archive.example/{number}.html",
            date=f"{year}-{month:02d}-{day:02d}",
            content_hash=f"{number:016x}",
            site=SITES[number % len(SITES)],
        )
        n = CHUNKS_PER_DOCUMENT * SENTENCES_PER_CHUNK
        noise = rng.standard_normal((n, self.topics.centres.shape[1])).astype(np.float32)
        noise *= NOISE / np.linalg.norm(noise, axis=1, keepdims=True)
        vectors = self.topics.centres[topic] + noise
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        own = self.topics.words[topic]
        picked = rng.choice(len(self.background), size=(n, WORDS_PER_SENTENCE), p=self.zipf)
        chunks, sentences = [], []
        for c in range(CHUNKS_PER_DOCUMENT):
            texts = []
            for s in range(SENTENCES_PER_CHUNK):
                row = c * SENTENCES_PER_CHUNK + s
                words = list(self.background[picked[row]])
                words[::3] = rng.choice(own, size=len(words[::3]))
                texts.append(" ".join(words).capitalize() + ".")
            text = " ".join(texts)
            start = c * 10_000
            chunk = Chunk(
                chunk_id(doc.doc_id, doc.content_hash, c), doc, text, start, start + len(text), c
            )
            chunks.append(chunk)
            offset = start
            for k, sentence in enumerate(texts):
                sentences.append(
                    Sentence(
                        f"{chunk.id}:{k}",
                        doc.doc_id,
                        chunk.id,
                        sentence,
                        offset,
                        offset + len(sentence),
                        doc.content_hash,
                    )
                )
                offset += len(sentence) + 1
        per_chunk = vectors.reshape(CHUNKS_PER_DOCUMENT, SENTENCES_PER_CHUNK, -1).mean(axis=1)
        per_chunk /= np.linalg.norm(per_chunk, axis=1, keepdims=True)
        self.chunk_vectors.append(per_chunk.astype(np.float32))
        return NewVersion(chunks, per_chunk, sentences, vectors, replaces=False)

    def exact_top(self, vector: np.ndarray, n: int) -> set[int]:
        matrix = np.concatenate(self.chunk_vectors)
        self.chunk_vectors = [matrix]
        scores = matrix @ vector
        return set(np.argpartition(-scores, n)[:n].tolist())

    def drawn_like_chunks(self, count: int) -> np.ndarray:
        """Query vectors drawn as the chunks are (a topic centre plus noise)."""
        topics = self.rng.integers(len(self.topics.centres), size=count)
        noise = self.rng.standard_normal((count, self.topics.centres.shape[1])).astype(np.float32)
        noise *= NOISE / np.linalg.norm(noise, axis=1, keepdims=True)
        vectors = self.topics.centres[topics] + noise
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def row_of(chunk: str) -> int:
    """The row of a chunk's vector in the archive: its document's number times 8, plus its place."""
    doc_id, _, index = chunk.rsplit(":", 2)
    return int(doc_id.removeprefix("archive")) * CHUNKS_PER_DOCUMENT + int(index)


def dense_recall(store: ChromaStore, archive: Archive, vectors: np.ndarray, k: int = 50) -> float:
    """Mean share of the exact top k that Chroma's HNSW index returns in its top k."""
    found = []
    for vector in vectors:
        exact = archive.exact_top(vector, k)
        approximate = {row_of(c) for c, _ in store.nearest_ids(vector, k)}
        found.append(len(exact & approximate) / k)
    return float(np.mean(found))


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def latencies(server: Server, texts: Iterator[str], count: int) -> dict[str, float]:
    """`/search` at c=1 for `count` distinct questions, over one kept-alive connection: p50
    and p95 in milliseconds."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for _ in range(5):
            client.post("/search", json=search_body(next(texts), 5)).raise_for_status()
        times = []
        for _ in range(count):
            started = time.perf_counter()
            client.post("/search", json=search_body(next(texts), 5)).raise_for_status()
            times.append(1000 * (time.perf_counter() - started))
    return {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95)}


def serve(
    work: Path, chroma: ChromaServer, mode: str, lexical: Path, name: str, **settings: str
) -> Server:
    env = {
        "CHROMA_HOST": HOST,
        "CHROMA_PORT": str(chroma.port),
        "RETRIEVAL_MODE": mode,
        "LEXICAL_PATH": str(lexical),
        "REFRESH_SECONDS": "0.5",
        **settings,
    }
    server = spawn_service(work / "unused", COLLECTION, work / "logs" / f"{name}.log", **env)
    wait_all_ready([server], seconds=3600)
    return server


def upload_seen_elsewhere(first: Server, second: Server, number: int) -> float:
    """Seconds from an upload to the first host until `/search` on the second ranks it first."""
    name = f"pont-{number}.txt"
    started = time.perf_counter()
    response = httpx.post(
        f"{first.url}/documents", files={"file": (name, UPLOAD.encode(), "text/plain")}, timeout=60
    )
    response.raise_for_status()
    doc_id = response.json()["doc_id"]
    body = search_body("Combien coûtera la rénovation du pont de la Loue à Sainte-Aude ?", 3)
    try:
        while time.perf_counter() - started < 60:
            results = post_json(second.url, "/search", body)["results"]
            if results and results[0]["doc_id"] == doc_id:
                return time.perf_counter() - started
            time.sleep(0.05)
        return float("nan")
    finally:  # the archive stays as written, for the next scale
        httpx.delete(f"{first.url}/documents/{doc_id}", timeout=60).raise_for_status()


def measure_workers(
    row: dict[str, Any], work: Path, chroma: ChromaServer, memory_max: int, queries: int
) -> None:
    """Into `row`: each mode's worker (start-up, latency, memory), and an upload's way to
    another host."""
    scale = row["chunks"]
    texts = DistinctQuestions(base_questions(), vocabulary([SAMPLE]))
    for mode in ("store", "memory"):
        if mode == "memory" and scale > memory_max:
            row[mode] = {"skipped": f"over --memory-max ({memory_max:,} chunks)"}
            continue
        server = serve(work, chroma, mode, work / "host-a", f"{mode}-{scale}")
        try:
            figures = {"startup_seconds": server.startup_seconds}
            figures |= latencies(server, texts, queries)
            figures["rss_mb"] = server.rss_mb()
        finally:
            server.stop()
        row[mode] = figures
    shutil.rmtree(work / "host-b", ignore_errors=True)
    shutil.copytree(work / "host-a", work / "host-b")
    first = serve(work, chroma, "store", work / "host-a", f"upload-a-{scale}")
    second = serve(work, chroma, "store", work / "host-b", f"upload-b-{scale}")
    try:
        row["upload_seen_elsewhere_s"] = upload_seen_elsewhere(first, second, scale)
    finally:
        first.stop()
        second.stop()


def remeasure(
    work: Path, memory_max: int, queries: int, ef_search: int | None = None
) -> dict[str, Any]:
    """The figures again over the archive a run left in `work` (on a quieter machine, say),
    without writing it again: dense recall (its vectors drawn again from the seed) and the
    workers. `ef_search` first changes the HNSW index's search breadth (Chroma applies it
    once the server starts again)."""
    log = work / "logs" / "chroma-again.log"
    settings = Settings(collection=COLLECTION, chroma_host=HOST, chroma_timeout=300)
    embedder = make_embedder(settings)
    if ef_search is not None:
        chroma = start_chroma(work / "chroma", log)
        try:
            client = open_client(settings.model_copy(update={"chroma_port": chroma.port}))
            client.get_collection(COLLECTION).modify(
                configuration={"hnsw": {"ef_search": ef_search}}
            )
        finally:
            chroma.stop()
    chroma = start_chroma(work / "chroma", log)
    try:
        settings = settings.model_copy(update={"chroma_port": chroma.port})
        store = ChromaStore(open_client(settings), COLLECTION, embedder.fingerprint)
        archive = Archive(store, Topics.of_sample(embedder))
        archive.catch_up()
        row: dict[str, Any] = {
            "chunks": archive.chunks,
            "ef_search": ef_search,
            "recall_at_50_questions": dense_recall(
                store, archive, embedder.embed_query(base_questions()[:50])
            ),
            "recall_at_50_drawn": dense_recall(store, archive, archive.drawn_like_chunks(50)),
        }
        measure_workers(row, work, chroma, memory_max, queries)
    finally:
        chroma.stop()
    return row


def run(
    scales: Sequence[int], work: Path, memory_max: int, queries: int, resume: bool = False
) -> list[dict[str, Any]]:
    if not resume:
        shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    chroma = start_chroma(work / "chroma", work / "logs" / "chroma.log")
    rows: list[dict[str, Any]] = []
    try:
        settings = Settings(
            chroma_host=HOST,
            chroma_port=chroma.port,
            collection=COLLECTION,
            lexical_path=work / "host-a",
            # A Chroma server compacting a large collection can take longer than the default
            # 10 s to take a write.
            chroma_timeout=300,
        )
        embedder = make_embedder(settings)
        store = ChromaStore.from_settings(settings, embedder.fingerprint)  # host A's index
        archive = Archive(store, Topics.of_sample(embedder))
        if resume:
            archive.catch_up()
        question_vectors = embedder.embed_query(base_questions()[:50])
        for scale in (s for s in scales if s > archive.chunks):
            print(f"archive: writing up to {scale:,} chunks", file=sys.stderr)
            before = archive.chunks
            seconds = archive.grow_to(scale)
            assert store.lexical is not None
            store.lexical.word_vectors(embedder)  # as the ingester does after a run
            row: dict[str, Any] = {
                "chunks": archive.chunks,
                "write_seconds": seconds,
                "write_chunks_per_s": (archive.chunks - before) / max(seconds, 1e-9),
                "chroma_mb": folder_mb(work / "chroma"),
                "lexical_mb": folder_mb(work / "host-a"),
                "recall_at_50_questions": dense_recall(store, archive, question_vectors),
                "recall_at_50_drawn": dense_recall(store, archive, archive.drawn_like_chunks(50)),
            }
            measure_workers(row, work, chroma, memory_max, queries)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    finally:
        chroma.stop()
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    header = (
        "| chunks | mode | start-up s | /search p50 ms | p95 ms | worker RSS MB | write chunks/s "
        "| Chroma MB | lexical MB | recall@50 (questions / drawn) | upload seen on another host s |"
    )
    lines = [header, "|" + "---|" * 11]
    for row in rows:
        for mode in ("store", "memory"):
            figures = row[mode]
            if "skipped" in figures:
                cells = ["not run", "", "", ""]
            else:
                cells = [
                    f"{figures['startup_seconds']:.1f}",
                    f"{figures['p50_ms']:.1f}",
                    f"{figures['p95_ms']:.1f}",
                    f"{figures['rss_mb']:.0f}",
                ]
            shared = (
                [
                    f"{row['write_chunks_per_s']:,.0f}",
                    f"{row['chroma_mb']:,.0f}",
                    f"{row['lexical_mb']:,.0f}",
                    f"{row['recall_at_50_questions']:.3f} / {row['recall_at_50_drawn']:.3f}",
                    f"{row['upload_seen_elsewhere_s']:.2f}",
                ]
                if mode == "store"
                else ["", "", "", "", ""]
            )
            lines.append(f"| {row['chunks']:,} | {mode} | " + " | ".join(cells + shared) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.archive", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--scales", default="10000,100000", help="chunks, comma-separated, growing")
    parser.add_argument(
        "--memory-max", type=int, default=100_000, help="largest corpus served from memory"
    )
    parser.add_argument("--queries", type=int, default=100, help="/search requests per worker")
    parser.add_argument(
        "--work-dir", type=Path, default=PROJECT_ROOT / "bench" / ".work" / "archive"
    )
    parser.add_argument("--out-dir", type=Path, default=PROJECT_ROOT / "bench" / "results")
    parser.add_argument(
        "--ef-search", type=int, help="with --again: the HNSW search breadth to set first"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="go on growing the archive a stopped run left in --work-dir",
    )
    parser.add_argument(
        "--again",
        action="store_true",
        help="measure the workers again over the archive left in --work-dir; print JSON",
    )
    args = parser.parse_args(argv)
    if args.again:
        row = remeasure(args.work_dir, args.memory_max, args.queries, args.ef_search)
        print(json.dumps(row, indent=2))
        return
    scales = sorted(int(s) for s in args.scales.split(","))
    rows = run(scales, args.work_dir, args.memory_max, args.queries, args.resume)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "archive.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    text = table(rows)
    (args.out_dir / "archive.md").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
