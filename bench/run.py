"""The benchmark's phases: ingest, the service against the peer, and the corpus at scale.

Every figure is measured in this one run. The service and the peer are loaded alternately, level
by level, so that whatever else the machine is doing weighs on both, and their ratios hold even
when absolute timings wander.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import manpages
from bench.load import LoadResult, merge, post_json, run_level, search_body
from bench.questions import DistinctQuestions, Probe, base_questions, probes, repeated, vocabulary
from bench.servers import (
    HOST,
    ChromaServer,
    Server,
    spawn_peer,
    spawn_service,
    start_chroma,
    wait_all_ready,
)
from bench.stats import ratio
from config import PROJECT_ROOT, Settings

SAMPLE = PROJECT_ROOT / "data" / "articles"
COLLECTION = "bench"
# What the comparison loads, in this order at each level: the peer serves /search only.
PLAN = (("service", "/search"), ("peer", "/search"), ("service", "/ask"))
# Each corpus size is served in both retrieval modes, side by side (RETRIEVAL_MODE).
MODES = ("memory", "store")


@dataclass(frozen=True)
class BenchConfig:
    """How much load, for how long, at which corpus sizes."""

    work_dir: Path = PROJECT_ROOT / "bench" / ".work"
    out_dir: Path = PROJECT_ROOT / "bench" / "results"
    concurrency: tuple[int, ...] = (1, 8, 32)
    seconds: float = 10.0  # per level, at most
    max_requests: int = 4000  # per level, at most
    repeat_seconds: float = 6.0
    scales: tuple[str, ...] = ("1", "10", "100")  # multiples of the sample's chunks, or "full"
    scale_seconds: float = 6.0
    slices: int = 5  # each level of the comparison is run in this many alternating slices
    ingest_rounds: int = 5
    raw_limit_at_scale: int = 600
    warmup: int = 20
    probe_limit: int | None = None  # answerable questions asked for hit@1 (None: all)
    quick: bool = False
    log: Callable[[str], None] = field(default=lambda message: print(message, file=sys.stderr))


def quick_config(config: BenchConfig) -> BenchConfig:
    """A run of well under a minute: two levels, a second each, the sample only."""
    return replace(
        config,
        concurrency=(1, 8),
        seconds=1.0,
        max_requests=60,
        repeat_seconds=0.5,
        scales=("1",),
        scale_seconds=0.5,
        ingest_rounds=1,
        slices=2,
        warmup=3,
        probe_limit=20,
        quick=True,
    )


# -- ingest --------------------------------------------------------------------------------------


def ingest(
    config: BenchConfig,
    name: str,
    paths: Sequence[Path],
    rounds: int,
    raw_limit: int | None,
) -> dict[str, Any]:
    """A timed ingest in a child process (see `bench.ingest_worker`) into a fresh folder."""
    folder = config.work_dir / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    paths_file = folder / "paths.txt"
    paths_file.write_text("\n".join(map(str, paths)), encoding="utf-8")
    out = folder / "ingest.json"
    argv = [sys.executable, "-m", "bench.ingest_worker", "--chroma-path", str(folder / "chroma")]
    argv += ["--collection", COLLECTION, "--rounds", str(rounds), "--out", str(out)]
    argv += ["--paths-file", str(paths_file)]
    if raw_limit is not None:
        argv += ["--raw-limit", str(raw_limit)]
    env = {k: v for k, v in os.environ.items() if k != "CHROMA_HOST"}
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ingest of {name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


# -- questions over HTTP -------------------------------------------------------------------------


def hit_rates(url: str, questions: Sequence[Probe], top_k: int = 5) -> dict[str, float]:
    """hit@1 and hit@top_k of the answerable questions through `/search`."""
    first = anywhere = 0
    for probe in questions:
        results = post_json(url, "/search", search_body(probe.text, top_k))["results"]
        ids = [r["doc_id"] for r in results]
        first += bool(ids) and ids[0] in probe.expected
        anywhere += any(i in probe.expected for i in ids)
    count = max(1, len(questions))
    return {"hit_at_1": first / count, f"hit_at_{top_k}": anywhere / count, "questions": count}


def warm_up(server: Server, texts: Iterator[str], count: int) -> None:
    """A few requests on each endpoint the server has, not measured."""
    for _ in range(count):
        post_json(server.url, "/search", search_body(next(texts)))


def _log_level(config: BenchConfig, result: LoadResult) -> None:
    s = result.summary
    config.log(
        f"  {result.target:7} {result.endpoint:7} c={result.concurrency:<3} {result.questions:8} "
        f"n={s.requests:<5} err={s.errors} p50={s.p50_ms:7.1f} ms p95={s.p95_ms:7.1f} ms "
        f"rps={s.rps:7.1f} cpu/req={result.cpu_ms_per_request or 0:5.1f} ms "
        f"load={result.load_average or 0:.1f}"
    )


def level(
    config: BenchConfig,
    server: Server,
    endpoint: str,
    texts: Iterator[str],
    concurrency: int,
    seconds: float,
    questions: str = "distinct",
    max_requests: int | None = None,
) -> LoadResult:
    """One level against one server, logged."""
    result = run_level(
        server.name,
        server.url,
        endpoint,
        texts,
        concurrency,
        max_requests or config.max_requests,
        seconds,
        questions,
        server.cpu_seconds,
    )
    _log_level(config, result)
    return result


Plan = Sequence[tuple[Server, str, Iterator[str]]]


def alternate(
    config: BenchConfig, plan: Plan, concurrency: int, seconds: float, questions: str
) -> list[LoadResult]:
    """Each (server, endpoint, questions) of `plan` in turn, in `config.slices` slices of
    `seconds / slices`, so that a burst of other work on the machine falls on all of them;
    the slices of each are then pooled."""
    slices = max(1, config.slices)
    parts: list[list[LoadResult]] = [[] for _ in plan]
    for _ in range(slices):
        for i, (server, endpoint, texts) in enumerate(plan):
            parts[i].append(
                run_level(
                    server.name,
                    server.url,
                    endpoint,
                    texts,
                    concurrency,
                    max(1, config.max_requests // slices),
                    seconds / slices,
                    questions,
                    server.cpu_seconds,
                )
            )
    merged = [merge(p) for p in parts]
    for result in merged:
        _log_level(config, result)
    return merged


# -- the service against the peer ----------------------------------------------------------------


def compare(config: BenchConfig, ingest_figures: dict[str, Any]) -> dict[str, Any]:
    """Serve the sample from the service and from the peer; load them alternately."""
    bases = base_questions()
    words = vocabulary([SAMPLE])
    logs = config.work_dir / "logs"
    peer_stats = config.work_dir / "peer" / "stats.json"
    peer_stats.parent.mkdir(parents=True, exist_ok=True)
    service = spawn_service(config.work_dir / "sample" / "chroma", COLLECTION, logs / "service.log")
    peer = spawn_peer(config.work_dir / "peer" / "chroma", [SAMPLE], peer_stats, logs / "peer.log")
    wait_all_ready([service, peer])
    try:
        servers = {"service": service, "peer": peer}
        figures: dict[str, Any] = {
            name: {"startup_seconds": s.startup_seconds, "rss_idle_mb": s.rss_mb()}
            for name, s in servers.items()
        }
        figures["peer"]["build"] = json.loads(peer_stats.read_text(encoding="utf-8"))
        config.log("hit rates (sample)")
        questions = probes()[: config.probe_limit]
        for name, server in servers.items():
            figures[name]["hits"] = hit_rates(server.url, questions)
        streams: dict[str, Iterator[str]] = {n: DistinctQuestions(bases, words) for n in servers}
        for name, server in servers.items():
            warm_up(server, streams[name], config.warmup)
        config.log(f"load, distinct questions (alternately, {config.slices} slices a level)")
        runs: list[LoadResult] = []
        for concurrency in config.concurrency:
            plan = [(servers[name], endpoint, streams[name]) for name, endpoint in PLAN]
            runs += alternate(config, plan, concurrency, config.seconds, "distinct")
        config.log("load, the same five questions again and again")
        again = [(servers[name], endpoint, repeated(bases)) for name, endpoint in PLAN]
        runs += alternate(config, again, 1, config.repeat_seconds, "repeated")
        for name, server in servers.items():
            figures[name]["rss_after_mb"] = server.rss_mb()
            figures[name]["rss_peak_mb"] = server.peak_rss_mb()
    finally:
        service.stop()
        peer.stop()
    figures["load"] = [r.as_dict() for r in runs]
    figures["ingest"] = ingest_figures
    return figures


# -- at scale ------------------------------------------------------------------------------------


def scale_corpus(config: BenchConfig, scale: str, sample_chunks: int) -> tuple[list[Path], int]:
    """The files of one corpus, the sample plus man pages, and how many chunks the pages make."""
    if scale == "1":
        return [SAMPLE], 0
    manpages.install()
    settings = Settings()
    pages = manpages.convert(
        config.work_dir / "manpages-fr", settings.chunk_size, settings.chunk_overlap
    )
    if scale != "full":
        pages = manpages.select(pages, round((float(scale) - 1) * sample_chunks))
    return [SAMPLE, *(Path(p.path) for p in pages)], sum(p.chunks for p in pages)


def serve_in_mode(chroma_path: Path, mode: str, log: Path) -> tuple[Server, ChromaServer | None]:
    """A ready service over an ingested Chroma folder in one retrieval mode. The store mode is
    served as it is deployed, by a `chroma run` server over the folder (returned too, to be
    stopped and measured), so the worker's memory is its own and not the store's: with Chroma
    embedded, the worker would also hold Chroma's HNSW index and caches."""
    if mode != "store":
        server = spawn_service(chroma_path, COLLECTION, log, RETRIEVAL_MODE=mode)
        wait_all_ready([server])
        return server, None
    chroma = start_chroma(chroma_path, log.with_suffix(".chroma.log"))
    server = spawn_service(
        chroma_path,
        COLLECTION,
        log,
        RETRIEVAL_MODE=mode,
        CHROMA_HOST=HOST,
        CHROMA_PORT=str(chroma.port),
        LEXICAL_PATH=str(chroma_path),  # the index the ingester wrote beside its Chroma
    )
    try:
        wait_all_ready([server])
    except BaseException:
        chroma.stop()
        raise
    return server, chroma


def at_scale(config: BenchConfig, sample: dict[str, Any]) -> list[dict[str, Any]]:
    """For each corpus size and retrieval mode: ingest, start-up, memory, latency and whether
    answers still rank first among the man pages. Scale 1 is the sample, whose ingest was
    measured first."""
    sample_chunks = int(sample["chunks"])
    bases = base_questions()
    words = vocabulary([SAMPLE])
    questions = probes()[: config.probe_limit]
    rows: list[dict[str, Any]] = []
    for scale in config.scales:
        try:
            paths, page_chunks = scale_corpus(config, scale, sample_chunks)
        except (manpages.ManPagesUnavailable, subprocess.CalledProcessError) as exc:
            config.log(f"scale {scale} and larger skipped: {exc}")
            rows.append({"scale": scale, "skipped": str(exc)})
            break
        pages = len(paths) - 1
        config.log(f"scale {scale}: sample + {pages} man pages ({page_chunks} chunks)")
        name = "sample" if scale == "1" else f"scale-{scale}"
        if scale == "1":
            figures = sample
        else:
            figures = ingest(config, name, paths, 1, config.raw_limit_at_scale)
            if figures["documents"] != sample["documents"] + pages:
                raise RuntimeError(
                    f"scale {scale}: {figures['documents']} documents ingested, "
                    f"{sample['documents'] + pages} expected; see {config.work_dir / name}"
                )
        config.log(
            f"  ingest: {figures['chunks']} chunks in {figures['ingest_seconds']:.1f} s "
            f"({figures['ingest_chunks_per_s']:.1f} chunks/s)"
        )
        folder = config.work_dir / name
        for mode in MODES:
            log = config.work_dir / "logs" / f"scale-{scale}-{mode}.log"
            server, chroma = serve_in_mode(folder / "chroma", mode, log)
            try:
                row: dict[str, Any] = {
                    "scale": scale,
                    "mode": mode,
                    "man_pages": pages,
                    "ingest": figures,
                    "startup_seconds": server.startup_seconds,
                    "rss_idle_mb": server.rss_mb(),
                    "hits": hit_rates(server.url, questions),
                }
                texts = DistinctQuestions(bases, words)
                warm_up(server, texts, config.warmup)
                loads = [
                    level(config, server, "/search", texts, 1, config.scale_seconds),
                    level(config, server, "/search", texts, 8, config.scale_seconds),
                    level(config, server, "/ask", texts, 1, config.scale_seconds),
                ]
                row["load"] = [r.as_dict() for r in loads]
                row["rss_after_mb"] = server.rss_mb()
                row["rss_peak_mb"] = server.peak_rss_mb()
                if chroma is not None:
                    row["chroma_server_rss_mb"] = chroma.rss_mb()
            finally:
                server.stop()
                if chroma is not None:
                    chroma.stop()
            config.log(
                f"  {mode}: hit@1 {row['hits']['hit_at_1']:.3f}, "
                f"start-up {row['startup_seconds']:.1f} s, RSS {row['rss_after_mb']:.0f} MB"
            )
            rows.append(row)
        if scale != "1":
            shutil.rmtree(folder / "chroma", ignore_errors=True)
    return rows


# -- the whole run -------------------------------------------------------------------------------


def _git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    return done.stdout.strip()


def ratios(compared: dict[str, Any]) -> dict[str, Any]:
    """Service against peer, and repeats against distinct questions."""

    def find(target: str, endpoint: str, concurrency: int, questions: str = "distinct") -> Any:
        for run in compared["load"]:
            if (run["target"], run["endpoint"], run["concurrency"], run["questions"]) == (
                target,
                endpoint,
                concurrency,
                questions,
            ):
                return run
        return None

    by_level: dict[str, Any] = {}
    for run in compared["load"]:
        if (
            run["target"] != "service"
            or run["endpoint"] != "/search"
            or run["questions"] != "distinct"
        ):
            continue
        peer = find("peer", "/search", run["concurrency"])
        if peer:
            by_level[str(run["concurrency"])] = {
                "rps_service_over_peer": ratio(run["rps"], peer["rps"]),
                "p50_peer_over_service": ratio(peer["p50_ms"], run["p50_ms"]),
                "p95_peer_over_service": ratio(peer["p95_ms"], run["p95_ms"]),
            }
    cache: dict[str, Any] = {}
    for target, endpoint in (("service", "/search"), ("peer", "/search"), ("service", "/ask")):
        fresh, again = find(target, endpoint, 1), find(target, endpoint, 1, "repeated")
        if fresh and again:
            cache[f"{target} {endpoint}"] = {
                "distinct_p50_ms": fresh["p50_ms"],
                "repeated_p50_ms": again["p50_ms"],
                "speed_up": ratio(fresh["p50_ms"], again["p50_ms"]),
            }
    ingest_figures = compared["ingest"]
    build = compared["peer"]["build"]
    return {
        "by_concurrency": by_level,
        "cache": cache,
        "ingest_over_raw": ingest_figures.get("ingest_over_raw"),
        "peer_build_over_service_ingest_seconds": ratio(
            build["build_seconds"], ingest_figures["ingest_seconds"]
        ),
    }


def run(config: BenchConfig) -> dict[str, Any]:
    """Every phase; returns what `bench.json` holds."""
    started = time.perf_counter()
    config.work_dir.mkdir(parents=True, exist_ok=True)
    config.log("ingest of the sample, alternating with the raw encoder")
    sample = ingest(config, "sample", [SAMPLE], config.ingest_rounds, None)
    config.log(
        f"  {sample['chunks']} chunks: ingest {sample['ingest_chunks_per_s']:.1f} chunks/s, "
        f"raw encoder {sample['raw_encode_chunks_per_s']:.1f} chunks/s"
    )
    compared = compare(config, sample)
    scales = at_scale(config, sample)
    settings = Settings()
    return {
        "meta": {
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "commit": _git_commit(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "embedder": sample["embedder"],
            "embedder_threads": settings.embedder_threads,
            "chunk_size": settings.chunk_size,
            "quick": config.quick,
            "config": {
                k: v for k, v in asdict(config).items() if k not in ("log", "work_dir", "out_dir")
            },
            "seconds": time.perf_counter() - started,
        },
        "sample": compared,
        "ratios": ratios(compared),
        "scales": scales,
    }
