"""`python -m bench.reader`: `/ask` with the bundled reader, for one person and for a crowd.

Over real HTTP on 127.0.0.1, one uvicorn worker with LLM_BACKEND=local over the sample:

1. one client: distinct questions from the eval sets (French and English), streamed; seconds to
   the first text and to the verified answer, p50/p95; how many were the model's answers,
   fallbacks and abstentions; the service's own per-stage times (its `reader stages` log lines:
   candidates to first text, writing, verifying, prompt and generated tokens);
2. the first ten of those questions asked again, one at a time: answered from the reader's
   memory of its answers (`app/services/answering/memo.py`), without a turn of the model;
3. `--clients` (8) clients asking without pause for `--seconds` (60) questions that step 1 did
   not ask: every response's status and whether it is the model's answer or a flagged
   extractive fallback; errors are counted;
4. the worker's resident memory after the load, and its peak.

Prints a table and writes bench/results/reader.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.servers import Server, spawn_service, wait_all_ready
from config import PROJECT_ROOT
from eval.dataset import load_questions

RESULTS = PROJECT_ROOT / "bench" / "results"
WARM_UP_TRIES = 6
_STAGES = re.compile(r"reader stages (.*?) prompt_tokens=(\d+) generated_tokens=(\d+)")


def questions(limit: int) -> list[str]:
    """Alternately French and English questions of both eval sets, distinct."""
    found = [
        q.question
        for path in ("questions.jsonl", "heldout.jsonl")
        for q in load_questions(PROJECT_ROOT / "eval" / path)
    ]
    return found[:limit]


def ask_streamed(client: httpx.Client, question: str) -> dict[str, Any]:
    """Seconds to the first `delta` and to the `answer` event, and the final body."""
    started = time.perf_counter()
    first = None
    final: dict[str, Any] = {}
    with client.stream("POST", "/ask", json={"question": question, "stream": True}) as response:
        event = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                if event == "delta" and first is None:
                    first = time.perf_counter() - started
                if event == "answer":
                    final = json.loads(line.removeprefix("data: "))
    total = time.perf_counter() - started
    return {"first": first if first is not None else total, "total": total, "body": final}


def outcome(body: dict[str, Any]) -> str:
    if not body:
        return "error"
    if body.get("fallback"):
        return "fallback"
    return "abstained" if body.get("abstained") else "model"


def one_client(url: str, asked: list[str]) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=120) as client:
        runs = [ask_streamed(client, q) for q in asked]
    firsts = [r["first"] for r in runs if outcome(r["body"]) == "model"]
    totals = [r["total"] for r in runs]
    return {
        "questions": len(runs),
        "outcomes": dict(Counter(outcome(r["body"]) for r in runs)),
        "total_p50": statistics.median(totals),
        "total_p95": _p95(totals),
        "first_text_p50": statistics.median(firsts) if firsts else None,
        "first_text_p95": _p95(firsts) if firsts else None,
        "runs": [
            {
                "question": q,
                "outcome": outcome(r["body"]),
                "notice": r["body"].get("notice", ""),
                "seconds": round(r["total"], 3),
            }
            for q, r in zip(asked, runs, strict=True)
        ],
    }


def crowd(url: str, asked: list[str], clients: int, seconds: float) -> dict[str, Any]:
    """`clients` threads asking (plain JSON) until `seconds` pass; outcomes and statuses."""
    results: list[tuple[int, str, float]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            n = offset
            while time.monotonic() < deadline:
                question = asked[n % len(asked)]
                n += clients
                started = time.perf_counter()
                try:
                    response = client.post("/ask", json={"question": question})
                    status = response.status_code
                    kind = outcome(response.json()) if status == 200 else "error"
                except httpx.HTTPError:
                    status, kind = 0, "error"
                with lock:
                    results.append((status, kind, time.perf_counter() - started))

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = [r[2] for r in results]
    return {
        "clients": clients,
        "seconds": seconds,
        "responses": len(results),
        "statuses": dict(Counter(str(r[0]) for r in results)),
        "outcomes": dict(Counter(r[1] for r in results)),
        "latency_p50": statistics.median(latencies) if latencies else None,
        "latency_max": max(latencies) if latencies else None,
    }


def stages(log: Path) -> dict[str, Any]:
    """Means of the service's `reader stages` lines: seconds per stage and token counts."""
    rows: list[dict[str, float]] = []
    for line in log.read_text(errors="replace").splitlines():
        found = _STAGES.search(line)
        if found:
            row = {k: float(v) for k, v in (p.split("=") for p in found.group(1).split())}
            row |= {
                "prompt_tokens": float(found.group(2)),
                "generated_tokens": float(found.group(3)),
            }
            rows.append(row)
    keys = sorted({k for row in rows for k in row})
    return {"answers": len(rows)} | {
        k: round(statistics.mean(r[k] for r in rows if k in r), 3) for k in keys
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(count: int, clients: int, seconds: float, work: Path) -> dict[str, Any]:
    chroma = work / "chroma"
    env_ingest = {"CHROMA_PATH": str(chroma), "LLM_BACKEND": "extractive"}
    subprocess.run(
        [sys.executable, "-m", "ingest", "--quiet"],
        env={**os.environ, **env_ingest},
        check=True,
    )
    log = work / "service.log"
    service: Server = spawn_service(chroma, "articles", log, llm_backend="local")
    wait_all_ready([service])
    try:
        every = questions(10_000)
        asked, unasked = every[:count], every[count:] or every
        with httpx.Client(base_url=service.url, timeout=120) as client:
            # The first question waits behind the model's warm-up (about 15 s on an idle
            # machine, longer on a slow one): asked until the model, not the fallback, answers.
            started = time.perf_counter()
            for _ in range(WARM_UP_TRIES):
                warm = ask_streamed(client, asked[0])
                if not warm["body"].get("notice", "").startswith("the model is busy"):
                    break
            warm["total"] = time.perf_counter() - started
        result: dict[str, Any] = {
            "startup_seconds": round(service.startup_seconds, 2),
            "first_answer_after_ready_seconds": round(warm["total"], 2),
            "one_client": one_client(service.url, asked[1:]),
            "asked_again": one_client(service.url, asked[1:11]),
            "rss_mb_after_one_client": round(service.rss_mb()),
        }
        result["crowd"] = crowd(service.url, unasked, clients, seconds)
        result["rss_mb_after_crowd"] = round(service.rss_mb())
        result["peak_rss_mb"] = round(service.peak_rss_mb())
    finally:
        service.stop()
    result["stages"] = stages(log)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reader", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--questions", type=int, default=41, help="one client: how many")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=RESULTS / "reader.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-reader-") as tmp:
        result = run(args.questions, args.clients, args.seconds, Path(tmp))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
