"""What a run prints and writes: a Markdown table with the issue's targets, JSON and a plot."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stats import ratio


@dataclass(frozen=True)
class Target:
    """One of the issue's targets, and the figure measured for it."""

    name: str
    value: float | None
    op: str  # "<=" or ">="
    limit: float
    unit: str = ""
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None or math.isnan(self.value):
            return None
        return self.value <= self.limit if self.op == "<=" else self.value >= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "op": self.op,
            "limit": self.limit,
            "unit": self.unit,
            "note": self.note,
            "met": self.met,
        }


def find_load(
    runs: list[dict[str, Any]],
    target: str,
    endpoint: str,
    concurrency: int,
    questions: str = "distinct",
) -> dict[str, Any] | None:
    """The run of one target, endpoint and level, if it was measured."""
    for run in runs:
        key = (run["target"], run["endpoint"], run["concurrency"], run["questions"])
        if key == (target, endpoint, concurrency, questions):
            return run
    return None


def _field(run: dict[str, Any] | None, name: str) -> float | None:
    return None if run is None else run.get(name)


def targets(results: dict[str, Any]) -> list[Target]:
    """The issue's targets, evaluated on this run's figures."""
    sample = results["sample"]
    runs = sample["load"]
    by_c = results["ratios"]["by_concurrency"]
    largest = max(in_mode(results, "memory"), key=lambda s: s["ingest"]["chunks"], default=None)
    largest_p50 = None
    note = "no scale run"
    if largest is not None:
        largest_p50 = _field(find_load(largest["load"], "service", "/search", 1), "p50_ms")
        note = f"{largest['ingest']['chunks']} chunks (scale {largest['scale']})"
        if largest["scale"] != "full":
            note += "; the target names the full man-page corpus (--scales ...,full)"
    return [
        Target(
            "ingest / raw encoder throughput",
            results["ratios"]["ingest_over_raw"],
            ">=",
            0.8,
            "x",
            "sample",
        ),
        Target(
            "/search p50, c=1, sample",
            _field(find_load(runs, "service", "/search", 1), "p50_ms"),
            "<=",
            6,
            "ms",
        ),
        Target("/search p50, c=1, largest corpus", largest_p50, "<=", 12, "ms", note),
        Target(
            "/ask p50 (extractive), c=1, sample",
            _field(find_load(runs, "service", "/ask", 1), "p50_ms"),
            "<=",
            25,
            "ms",
        ),
        Target(
            "/search RPS service / peer, c=8",
            by_c.get("8", {}).get("rps_service_over_peer"),
            ">=",
            2.5,
            "x",
            "same embedder, same run",
        ),
        Target(
            "service RSS after the load, sample",
            sample["service"].get("rss_after_mb"),
            "<=",
            500,
            "MB",
        ),
        *store_targets(results),
    ]


def store_targets(results: dict[str, Any]) -> list[Target]:
    """The store-backed mode's targets: a worker's memory and start-up on the largest corpus
    against the sample, and answers ranked first in both modes there."""
    store = {row["scale"]: row for row in in_mode(results, "store")}
    sample, largest = store.get("1"), max(store.values(), key=_chunks, default=None)
    if sample is None or largest is None or largest is sample:
        return []
    note = f"{largest['ingest']['chunks']} chunks against the sample"
    found = [
        Target(
            "store mode: worker RSS, largest corpus / sample",
            ratio(largest["rss_after_mb"], sample["rss_after_mb"]),
            "<=",
            1.2,
            "x",
            note,
        ),
        Target(
            "store mode: start-up, largest corpus / sample",
            ratio(largest["startup_seconds"], sample["startup_seconds"]),
            "<=",
            2.0,
            "x",
            note,
        ),
    ]
    for row in (r for r in measured_scales(results) if r["scale"] == largest["scale"]):
        found.append(
            Target(f"hit@1, {row['mode']} mode", row["hits"]["hit_at_1"], ">=", 0.906, "", note)
        )
    return found


def in_mode(results: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    """The measured scales served in one retrieval mode (runs before the store mode existed
    were all in memory)."""
    return [row for row in measured_scales(results) if row.get("mode", "memory") == mode]


def _chunks(row: dict[str, Any]) -> int:
    return int(row["ingest"]["chunks"])


# -- Markdown ------------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def targets_table(found: list[Target]) -> list[str]:
    status = {True: "met", False: "**MISSED**", None: "not measured"}
    rows = [
        [
            t.name,
            f"{_num(t.value, 2)} {t.unit}",
            f"{t.op} {_num(t.limit, 1)} {t.unit}",
            status[t.met],
            t.note,
        ]
        for t in found
    ]
    return _table(["target", "measured", "wanted", "status", "note"], rows)


def load_table(results: dict[str, Any]) -> list[str]:
    runs = results["sample"]["load"]
    rows = []
    for run in runs:
        if run["questions"] != "distinct":
            continue
        vs_peer = ""
        if run["target"] == "service" and run["endpoint"] == "/search":
            by_c = results["ratios"]["by_concurrency"].get(str(run["concurrency"]), {})
            vs_peer = (
                f"RPS x{_num(by_c.get('rps_service_over_peer'), 2)}, "
                f"p50 x{_num(by_c.get('p50_peer_over_service'), 2)}"
            )
        rows.append(
            [
                run["target"],
                run["endpoint"],
                str(run["concurrency"]),
                str(run["requests"]),
                str(run["errors"]),
                _num(run["p50_ms"]),
                _num(run["p95_ms"]),
                _num(run["p99_ms"]),
                _num(run["rps"]),
                _num(run.get("cpu_ms_per_request")),
                _num(run.get("load_average")),
                vs_peer,
            ]
        )
    header = [
        "server",
        "endpoint",
        "c",
        "requests",
        "errors",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "req/s",
        "server CPU ms/req",
        "load avg",
        "service vs peer",
    ]
    return _table(header, rows)


def ingest_table(results: dict[str, Any]) -> list[str]:
    sample = results["sample"]
    ingest = sample["ingest"]
    build = sample["peer"]["build"]
    rows = [
        [
            "service pipeline",
            str(ingest["chunks"]),
            _num(ingest["ingest_seconds"], 2),
            _num(ingest["ingest_chunks_per_s"]),
            f"embedding {ingest['embed_share']:.0%}, Chroma {ingest['store_share']:.0%}, "
            f"{ingest['texts_embedded_per_chunk']:.1f} texts embedded per chunk",
        ],
        [
            "raw encoder, same chunks",
            str(ingest["raw_chunks"]),
            _num(ratio(ingest["raw_chunks"], ingest["raw_encode_chunks_per_s"]), 2),
            _num(ingest["raw_encode_chunks_per_s"]),
            f"ingest / raw = {_num(ingest['ingest_over_raw'], 2)}",
        ],
        [
            "peer (LlamaIndex defaults)",
            f"{build['nodes']} nodes",
            _num(build["build_seconds"], 2),
            _num(ratio(build["nodes"], build["build_seconds"])),
            "1024-token chunks; nodes are not the service's chunks",
        ],
    ]
    return _table(["ingest of the sample", "chunks", "seconds", "chunks/s", "note"], rows)


def memory_table(results: dict[str, Any]) -> list[str]:
    sample = results["sample"]
    rows = [
        [
            name,
            _num(sample[name]["startup_seconds"], 1),
            _num(sample[name]["rss_idle_mb"], 0),
            _num(sample[name].get("rss_after_mb"), 0),
            _num(sample[name].get("rss_peak_mb"), 0),
            _num(sample[name]["hits"]["hit_at_1"], 3),
            _num(sample[name]["hits"]["hit_at_5"], 3),
        ]
        for name in ("service", "peer")
    ]
    header = [
        "sample",
        "start-up s",
        "RSS idle MB",
        "RSS after load MB",
        "peak MB",
        "hit@1",
        "hit@5",
    ]
    return _table(header, rows)


def cache_table(results: dict[str, Any]) -> list[str]:
    rows = [
        [
            name,
            _num(row["distinct_p50_ms"]),
            _num(row["repeated_p50_ms"]),
            _num(row["speed_up"], 2),
        ]
        for name, row in results["ratios"]["cache"].items()
    ]
    header = ["c=1", "distinct p50 ms", "repeated p50 ms", "what repeats gain (x)"]
    return _table(header, rows)


def measured_scales(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The scales that ran (a scale without man pages to hand is recorded as skipped)."""
    return [row for row in results["scales"] if "skipped" not in row]


def scale_table(results: dict[str, Any]) -> list[str]:
    rows = []
    for row in measured_scales(results):
        ingest = row["ingest"]
        search1 = find_load(row["load"], "service", "/search", 1)
        search8 = find_load(row["load"], "service", "/search", 8)
        ask1 = find_load(row["load"], "service", "/ask", 1)
        rows.append(
            [
                row["scale"] + "x" if row["scale"] != "full" else "full",
                row.get("mode", "memory"),
                str(ingest["documents"]),
                str(ingest["chunks"]),
                _num(ingest["ingest_seconds"]),
                _num(ingest["ingest_chunks_per_s"]),
                _num(ingest["ingest_over_raw"], 2),
                _num(row["startup_seconds"]),
                _num(_field(search1, "p50_ms")),
                _num(_field(search1, "p95_ms")),
                _num(_field(search1, "cpu_ms_per_request")),
                _num(_field(search8, "rps")),
                _num(_field(ask1, "p50_ms")),
                _num(row["rss_idle_mb"], 0),
                _num(row["rss_after_mb"], 0),
                _num(row.get("chroma_server_rss_mb"), 0),
                _num(row["hits"]["hit_at_1"], 3),
            ]
        )
    header = [
        "corpus",
        "retrieval",
        "docs",
        "chunks",
        "ingest s",
        "chunks/s",
        "ingest/raw",
        "start-up s",
        "/search p50 c=1",
        "p95",
        "CPU ms/req",
        "/search req/s c=8",
        "/ask p50 c=1",
        "RSS idle MB",
        "RSS after MB",
        "Chroma server RSS MB",
        "hit@1",
    ]
    return _table(header, rows)


def _all_runs(results: dict[str, Any]) -> list[dict[str, Any]]:
    runs = list(results["sample"]["load"])
    for row in measured_scales(results):
        runs += row["load"]
    return runs


def markdown(results: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    meta = results["meta"]
    found = [Target(**{k: v for k, v in t.items() if k != "met"}) for t in results["targets"]]
    loads = [r["load_average"] for r in _all_runs(results) if r.get("load_average") is not None]
    parts = [
        f"# Benchmark ({meta['date']}, commit {meta['commit']}, {meta['cpus']} CPUs, "
        f"{meta['embedder']}, {meta['seconds']:.0f} s{', quick' if meta['quick'] else ''})",
        "",
        f"Machine load average (1 min) as levels began: {_num(min(loads, default=None))} to "
        f"{_num(max(loads, default=None))}. Service and peer were loaded alternately, each level "
        "in slices, so their ratios hold better than absolute times; server CPU ms per request "
        "is the least noisy figure.",
        "",
        "## Targets",
        *targets_table(found),
        "",
        "## /search and /ask on the sample, distinct questions (service and peer alternately)",
        *load_table(results),
        "",
        "service vs peer: RPS x = service req/s / peer req/s; p50 x = peer p50 / service p50 "
        "(above 1, the service is ahead).",
        "",
        "## Ingest",
        *ingest_table(results),
        "",
        "## Start-up, memory and ranking",
        *memory_table(results),
        "",
        "## Repeated questions (what a cache of repeats adds)",
        *cache_table(results),
        "",
        "## At scale: the sample and French man pages",
        *scale_table(results),
        *[
            f"\nscale {r['scale']} skipped: {r['skipped']}"
            for r in results["scales"]
            if "skipped" in r
        ],
        "",
    ]
    return "\n".join(parts)


# -- files ---------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """NaN as null, so the JSON is valid for any reader."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(results), indent=1, ensure_ascii=False), encoding="utf-8")


def plot(results: dict[str, Any], path: Path) -> None:
    """Latency and throughput against concurrency, latency and memory against corpus size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in results["sample"]["load"] if r["questions"] == "distinct"]
    series = [("service", "/search"), ("peer", "/search"), ("service", "/ask")]
    figure, axes = plt.subplots(2, 2, figsize=(11, 8))
    panels: list[tuple[Any, str, str, Callable[[dict[str, Any]], float]]] = [
        (
            axes[0][0],
            "p50 latency (ms)",
            "latency against concurrency, sample",
            lambda r: r["p50_ms"],
        ),
        (
            axes[0][1],
            "requests per second",
            "throughput against concurrency, sample",
            lambda r: r["rps"],
        ),
    ]
    for axis, label, title, value in panels:
        for target, endpoint in series:
            points = [r for r in runs if (r["target"], r["endpoint"]) == (target, endpoint)]
            if points:
                axis.plot(
                    [p["concurrency"] for p in points],
                    [value(p) for p in points],
                    marker="o",
                    label=f"{target} {endpoint}",
                )
        levels = sorted({r["concurrency"] for r in runs})
        axis.set_xscale("log", base=2)
        axis.set_xticks(levels, [str(c) for c in levels])
        axis.set_xlabel("concurrency")
        axis.set_ylabel(label)
        axis.set_title(title)
        axis.legend()
        axis.grid(alpha=0.3)
    chunks: list[int] = []
    for mode in ("memory", "store"):
        scales = sorted(in_mode(results, mode), key=_chunks)
        chunks = [_chunks(s) for s in scales] or chunks
        for endpoint, concurrency in (("/search", 1), ("/ask", 1)):
            values = [
                _field(find_load(s["load"], "service", endpoint, concurrency), "p50_ms")
                for s in scales
            ]
            axes[1][0].plot(
                [_chunks(s) for s in scales], values, marker="o", label=f"{mode} {endpoint} c=1"
            )
        axes[1][1].plot(
            [_chunks(s) for s in scales],
            [s["rss_after_mb"] for s in scales],
            marker="o",
            label=f"{mode}: RSS after load",
        )
    axes[1][0].set_title("p50 latency against corpus size")
    axes[1][1].set_title("service memory against corpus size")
    for axis, label in ((axes[1][0], "p50 latency (ms)"), (axes[1][1], "MB")):
        if len(chunks) > 1:
            axis.set_xscale("log")
        axis.set_xlabel("chunks")
        axis.set_ylabel(label)
        axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
