"""`python -m bench.filters`: what a filter costs `/search` on the full man-page corpus.

The sample and every French man page (about 18,000 chunks), each page given a date of 2024 in
turn (a first line "date 2024-MM-DD", which ingest reads as the page's date), ingested once
into `--work-dir` (a later run reuses it: ingest skips what is unchanged). Then one service,
one client (c=1): the question set's 108 questions as queries, `--rounds` times, with no
filter, then with filters that each allow about 5 % of the documents: a date range, a list of
`doc_ids`, a list of `sources`. It prints p50 and p95 per variant, checks that every result of
a filtered query is an allowed document, and writes `bench/results/filters.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from app.schemas import Filters
from bench import manpages
from bench.servers import spawn_service, wait_all_ready
from config import PROJECT_ROOT, Settings
from eval.dataset import load_questions
from vectorstore.records import DocumentMeta

RESULTS = PROJECT_ROOT / "bench" / "results"
SAMPLE = PROJECT_ROOT / "data" / "articles"
COLLECTION = "articles"
SHARE = 0.05  # of the documents each filter allows
FIRST_DAY = date(2024, 1, 1)


def dated_corpus(work: Path, settings: Settings) -> list[tuple[str, str]]:
    """Every man page as text under work/corpus with a date line, spread over 2024; returns
    (file name, ISO date) per page, in date order."""
    manpages.install()
    pages = manpages.convert(work / "manpages", settings.chunk_size, settings.chunk_overlap)
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    dated = []
    for i, page in enumerate(sorted(pages, key=lambda p: p.name)):
        day = (FIRST_DAY + timedelta(days=i * 366 // len(pages))).isoformat()
        target = corpus / f"{page.name}.txt"
        text = f"date {day}\n" + Path(page.path).read_text(encoding="utf-8")
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        dated.append((target.name, day))
    return dated


def ingest(chroma: Path, folders: list[Path]) -> None:
    env = {**os.environ, "CHROMA_PATH": str(chroma), "COLLECTION": COLLECTION}
    env.pop("CHROMA_HOST", None)
    argv = [sys.executable, "-m", "ingest", "--quiet", *map(str, folders)]
    subprocess.run(argv, env=env, check=True)


def variants(dated: list[tuple[str, str]], doc_ids: list[str]) -> dict[str, dict[str, Any] | None]:
    """No filter, and three filters that each allow about SHARE of the documents."""
    n = max(1, round(SHARE * len(dated)))
    middle = len(dated) // 2
    window = dated[middle : middle + n]
    every = max(1, len(doc_ids) // n)
    return {
        "no filter": None,
        "date range": {"date_from": window[0][1], "date_to": window[-1][1]},
        "doc_ids": {"doc_ids": doc_ids[::every][:n]},
        "sources": {"sources": [name for name, _ in dated[1::every][:n]]},
    }


def measure(
    url: str, queries: list[str], filters: dict[str, Any] | None, rounds: int
) -> dict[str, Any]:
    """Latencies of /search at c=1, and the documents the results came from."""
    seconds: list[float] = []
    found: set[str] = set()
    with httpx.Client(base_url=url, timeout=60) as client:
        for r in range(rounds + 1):
            for i, query in enumerate(queries):
                body: dict[str, Any] = {"query": f"{query} ({r}-{i})", "top_k": 5}
                if filters:
                    body["filters"] = filters
                started = time.perf_counter()
                response = client.post("/search", json=body)
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                if r:  # the first round warms the caches up
                    seconds.append(elapsed)
                found |= {hit["doc_id"] for hit in response.json()["results"]}
    cuts = statistics.quantiles(seconds, n=100)
    return {
        "requests": len(seconds),
        "p50 ms": round(cuts[49] * 1000, 1),
        "p95 ms": round(cuts[94] * 1000, 1),
        "documents in results": len(found),
        "found": found,
    }


def document_meta(listed: dict[str, Any]) -> DocumentMeta:
    """A `GET /documents` entry as the filters read a document."""
    return DocumentMeta(
        doc_id=listed["doc_id"],
        title=listed["title"],
        source=listed["source"],
        date=listed["date"],
        sources=tuple(listed["sources"]),
        site=listed["site"],
    )


def _shown(filters: dict[str, Any] | None) -> dict[str, str] | None:
    """A filter for the report: lists by their length."""
    if filters is None:
        return None
    return {k: v if isinstance(v, str) else f"{len(v)} values" for k, v in filters.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.filters", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "--work-dir", type=Path, default=PROJECT_ROOT / "bench" / ".work" / "filters"
    )
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds of 108 queries")
    parser.add_argument("--out", type=Path, default=RESULTS / "filters.json")
    args = parser.parse_args(argv)
    settings = Settings(chroma_host=None)  # type: ignore[call-arg]
    work: Path = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    print("man pages, dated ...", file=sys.stderr, flush=True)
    dated = dated_corpus(work, settings)
    chroma = work / "chroma"
    print(f"ingest of {len(dated)} pages and the sample ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    ingest(chroma, [SAMPLE, work / "corpus"])
    print(f"  {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    service = spawn_service(chroma, COLLECTION, work / "service.log")
    wait_all_ready([service])
    try:
        health = httpx.get(f"{service.url}/health").json()
        listed = httpx.get(f"{service.url}/documents").json()["documents"]
        documents = {d["doc_id"]: document_meta(d) for d in listed}
        queries = [q.question for q in load_questions()]
        results: dict[str, Any] = {"chunks": health["chunks"], "documents": health["documents"]}
        for name, filters in variants(dated, sorted(documents)).items():
            figures = measure(service.url, queries, filters, args.rounds)
            found = figures.pop("found")
            check = Filters.model_validate(filters).document_filter() if filters else None
            allowed = [d for d, meta in documents.items() if check is None or check.allows(meta)]
            figures["documents allowed"] = len(allowed)
            figures["results outside the filter"] = len(found - set(allowed))
            results[name] = {"filters": _shown(filters), **figures}
            print(
                f"{name:>10}: p50 {figures['p50 ms']} ms, p95 {figures['p95 ms']} ms, "
                f"{len(allowed)} documents allowed",
                flush=True,
            )
    finally:
        service.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
