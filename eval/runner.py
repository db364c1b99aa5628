"""Running a question set against a target and summarising the figures."""

from __future__ import annotations

from typing import Any

from app.services.answering.support import Embed
from eval.client import Target
from eval.dataset import Question
from eval.metrics import (
    QuestionResult,
    by_language,
    overall,
    percentile,
    score_answer,
    score_retrieval,
)


def run(
    questions: list[Question],
    target: Target,
    embed: Embed,
    top_k: int,
    thresholds: dict[str, float],
    target_name: str,
) -> tuple[dict[str, Any], list[QuestionResult]]:
    """Ask every question over `/search` and `/ask`; score each and summarise."""
    results: list[QuestionResult] = []
    latencies: dict[str, list[float]] = {"/search": [], "/ask": []}
    for q in questions:
        result = QuestionResult(q.id, q.question, q.language, q.kind)
        found, seconds = target.post("/search", {"query": q.question, "top_k": top_k})
        latencies["/search"].append(seconds)
        score_retrieval(q, found["results"], result)
        answer, seconds = target.post("/ask", {"question": q.question, "top_k": top_k})
        latencies["/ask"].append(seconds)
        score_answer(q, answer, embed, result)
        results.append(result)
    means = overall(results)
    failures = [m for m, floor in thresholds.items() if (means.get(m) or 0.0) < floor]
    summary = {
        "target": target_name,
        "questions": len(questions),
        "answerable": sum(q.answerable for q in questions),
        "top_k": top_k,
        "overall": means,
        "by_language": by_language(results),
        "latency_ms": {
            endpoint: {"p50": 1000 * percentile(v, 50), "p95": 1000 * percentile(v, 95)}
            for endpoint, v in latencies.items()
        },
        "thresholds": thresholds,
        "failures": failures,
    }
    return summary, results
