"""The evaluation's outputs: a table on the terminal, a JSON file and a Markdown report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.metrics import METRICS

LABELS = {
    "hit_at_1": "hit@1",
    "hit_at_k": "hit@k",
    "mrr_at_k": "MRR@k",
    "answered": "answered (answerable)",
    "abstained_when_not": "abstained (unanswerable)",
    "fact_recall": "fact recall",
    "language_match": "language match",
    "markers_valid": "markers valid",
    "citation_precision": "citation precision",
    "citation_support": "citation support",
    "citation_recall": "citation recall",
}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table(summary: dict[str, Any]) -> str:
    """Overall, French and English figures side by side, then latencies."""
    rows = [f"{'metric':<26} {'all':>7} {'fr':>7} {'en':>7} {'min':>7}"]
    for name in METRICS:
        floor = summary["thresholds"].get(name)
        mark = " FAIL" if name in summary["failures"] else ""
        rows.append(
            f"{LABELS[name]:<26} {_fmt(summary['overall'][name]):>7} "
            f"{_fmt(summary['by_language']['fr'][name]):>7} "
            f"{_fmt(summary['by_language']['en'][name]):>7} {_fmt(floor):>7}{mark}"
        )
    for endpoint, figures in summary["latency_ms"].items():
        rows.append(
            f"latency {endpoint:<18} p50 {figures['p50']:.1f} ms, p95 {figures['p95']:.1f} ms"
        )
    rows.append(
        f"{summary['questions']} questions ({summary['answerable']} answerable), "
        f"top_k={summary['top_k']}, target: {summary['target']}"
    )
    return "\n".join(rows)


def markdown(summary: dict[str, Any], results: list[dict[str, Any]]) -> str:
    lines = [
        "# Evaluation report",
        "",
        f"Target: {summary['target']}, {summary['questions']} questions, top_k={summary['top_k']}.",
        "",
        "| metric | all | fr | en | threshold |",
        "|---|---|---|---|---|",
    ]
    for name in METRICS:
        lines.append(
            f"| {LABELS[name]} | {_fmt(summary['overall'][name])} | "
            f"{_fmt(summary['by_language']['fr'][name])} | "
            f"{_fmt(summary['by_language']['en'][name])} | "
            f"{_fmt(summary['thresholds'].get(name))} |"
        )
    lines += ["", "| endpoint | p50 ms | p95 ms |", "|---|---|---|"]
    lines += [
        f"| {e} | {f['p50']:.1f} | {f['p95']:.1f} |" for e, f in summary["latency_ms"].items()
    ]
    misses = [r for r in results if _missed(r)]
    lines += ["", f"## Questions with a miss ({len(misses)})", ""]
    for r in misses:
        failed = [LABELS[m] for m in METRICS if r[m] is not None and r[m] < 1]
        lines.append(f"- **{r['id']}** ({r['language']}, {r['kind']}) {r['question']}  ")
        lines.append(f"  missed: {', '.join(failed)}; answer: {r['answer'][:240]}")
    return "\n".join(lines) + "\n"


def _missed(result: dict[str, Any]) -> bool:
    return any(result[m] is not None and result[m] < 1 for m in METRICS)


def write(out_dir: Path, summary: dict[str, Any], results: list[dict[str, Any]]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {"summary": summary, "questions": results}
    (out_dir / "eval.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1))
    (out_dir / "eval.md").write_text(markdown(summary, results), encoding="utf-8")
