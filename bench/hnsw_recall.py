"""`python -m bench.hnsw_recall --chroma-path DIR`: how well Chroma's HNSW index finds the exact
nearest chunks of a real ingested corpus, for HNSW parameters given at creation.

The chunk vectors are read from the ingested collection and added, in a shuffled order, to fresh
in-memory collections built with each set of parameters (`--builds` times each: a build's graph
depends on the order, and so does its recall). The question set's answerable questions are then
searched in each. Figures per set of parameters:

- recall@k: the share of the exact top k that the index returns, counting ties (a chunk as
  near as the exact k-th counts: a corpus with many chunks of the same text, such as man pages'
  licences, has many equally near ones, and which of them exact search lists is arbitrary);
- the lowest recall@k of any question;
- the questions whose nearest chunk (or one as near) the index returned;
- the build time and the query time.

It is what `vectorstore.store.HNSW`'s `ef_construction` was chosen by.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from bench.questions import probes
from config import Settings
from vectorstore import make_embedder
from vectorstore.store import HNSW

DEFAULT_PARAMETERS = ((32, 200), (32, 800), (64, 400))  # (max_neighbors, ef_construction)
_TIE = 1e-5  # cosine slack within which two chunks are as near


def _parameters(text: str) -> tuple[tuple[int, int], ...]:
    pairs = []
    for item in text.split(","):
        neighbors, construction = item.split("/")
        pairs.append((int(neighbors), int(construction)))
    return tuple(pairs)


def recall_of(
    vectors: np.ndarray,
    ids: list[str],
    queries: np.ndarray,
    neighbors: int,
    construction: int,
    ef_search: int,
    k: int,
    seed: int,
) -> dict[str, Any]:
    """One build's figures: the vectors ((n, d) float32, unit length, named by `ids`) added in
    an order drawn from `seed` to a fresh collection with these HNSW parameters (the rest as
    the project's collections, `vectorstore.store.HNSW`), then each
    query ((m, d), unit length) searched for its k nearest. Raises ValueError if k > n."""
    if k > len(ids):
        raise ValueError(f"k={k} is more than the {len(ids)} vectors")
    order = np.random.default_rng(seed).permutation(len(ids))
    client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
    name = f"hnsw-{neighbors}-{construction}-{seed}"
    hnsw = {
        **HNSW,
        "max_neighbors": neighbors,
        "ef_construction": construction,
        "ef_search": ef_search,
    }
    collection = client.create_collection(name, configuration={"hnsw": hnsw})  # type: ignore[arg-type, typeddict-item]
    started = time.perf_counter()
    for start in range(0, len(order), 2000):
        rows = order[start : start + 2000]
        collection.add(ids=[ids[i] for i in rows], embeddings=vectors[rows])
    build = time.perf_counter() - started
    recalls, nearest_found = [], 0
    started = time.perf_counter()
    for query in queries:
        exact = np.sort(vectors @ query)[::-1]
        found = collection.query(
            query_embeddings=[query.tolist()], n_results=k, include=["distances"]
        )
        cosines = 1.0 - np.asarray(found["distances"][0])  # type: ignore[index]
        recalls.append(float((cosines >= exact[k - 1] - _TIE).sum()) / k)
        nearest_found += bool((cosines >= exact[0] - _TIE).any())
    searched = time.perf_counter() - started
    client.delete_collection(name)
    return {
        "max_neighbors": neighbors,
        "ef_construction": construction,
        "seed": seed,
        "build_seconds": round(build, 1),
        f"recall_at_{k}": round(float(np.mean(recalls)), 3),
        "lowest_recall": round(min(recalls), 2),
        "nearest_found": nearest_found,
        "questions": len(queries),
        "query_ms": round(1000 * searched / len(queries), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chroma-path", type=Path, required=True, help="an ingested Chroma folder")
    parser.add_argument("--collection", default=Settings().collection)
    parser.add_argument(
        "--parameters",
        type=_parameters,
        default=DEFAULT_PARAMETERS,
        help="max_neighbors/ef_construction pairs, e.g. 32/200,32/800",
    )
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--ef-search", type=int, default=500)
    parser.add_argument("-k", type=int, default=50)
    args = parser.parse_args()
    client = chromadb.PersistentClient(
        str(args.chroma_path), settings=ChromaSettings(anonymized_telemetry=False)
    )
    stored = client.get_collection(args.collection).get(include=["embeddings"])
    ids = list(stored["ids"])
    vectors = np.asarray(stored["embeddings"], np.float32)
    twins = sum(
        int((((vectors[i : i + 2000] @ vectors.T) > 1 - _TIE).sum(axis=1) > 1).sum())
        for i in range(0, len(ids), 2000)
    )
    print(f"{len(ids)} chunks, {twins} with a twin of the same vector", flush=True)
    queries = make_embedder(Settings()).embed_query([p.text for p in probes()])
    for neighbors, construction in args.parameters:
        for seed in range(args.builds):
            row = recall_of(
                vectors, ids, queries, neighbors, construction, args.ef_search, args.k, seed
            )
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
