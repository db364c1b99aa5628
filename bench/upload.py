"""`python -m bench.upload`: a 1.9 MB upload through `POST /documents`, and questions meanwhile.

For each of two generated .txt files of about 1.9 MB (below MAX_UPLOAD_BYTES), made the same way
every run from `random.Random(seed)`:

- `prose`: varied French sentences with punctuation, in paragraphs, built from fragments (subject,
  verb, object, figures, place, date), with one fact in the middle ("le péage du pont de Kerlouan
  coûte 3 euros");
- `one_line`: a title, then one enormous line of comma-separated keywords without sentence
  punctuation, as `tests/field/make_one_line.py` writes (there 1.7 MB), ending with that fact;

it measures, over real HTTP on 127.0.0.1 against one uvicorn worker (`bench.servers`, the
extractive backend) serving the sample `data/articles` ingested into a fresh Chroma folder:

1. ingest speed: the chunks the upload made, the seconds `POST /documents` took (no other load),
   chunks/s; and the raw encoder on the same texts, before the service starts: the embedder's
   `embed` over the distinct sentences `ingest.pipeline.prepare_version` embeds (chunk vectors
   are pooled from sentence vectors), in batches of 32 as `bench.ingest_worker` encodes, and in
   one call as `prepare_version` makes it. The issue's target is ingest/raw >= 0.8;
2. questions during an upload: one client sends `/search` back to back and another `/ask`
   (distinct question texts, so that no answer comes from the query-vector cache), first for
   `--idle-seconds` with nothing else going on, then while the same file is uploaded again (it was
   deleted after step 1); p50/p95/max latency idle and during the upload, and how many requests
   were answered during it (at most `--max-load-seconds` of load).

When the ratio is under 0.8, or questions stalled during the upload (p95 over ten times the idle
p95, or one request over a second and over ten times the idle maximum; `--profile auto`, the
default), the upload is repeated in this process with the service stopped:
its stages timed (parse, prepare_version with its embedding, the store write, retriever.refresh)
and then profiled with cProfile; the top costs are printed and kept in the JSON.

Run: `.venv/bin/python -m bench.upload` (several minutes on two cores). Prints a table and writes
`bench/results/upload.json` (git-ignored; `--out` elsewhere).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, cast

import httpx
import numpy as np

from bench.ingest_worker import RAW_BATCH, TimedEmbedder, TimedStore, raw_encode
from bench.questions import DistinctQuestions, base_questions, vocabulary
from bench.servers import Server, spawn_service, wait_all_ready
from bench.stats import percentile
from config import PROJECT_ROOT, Settings

RESULTS = PROJECT_ROOT / "bench" / "results"
SAMPLE = PROJECT_ROOT / "data" / "articles"
COLLECTION = "articles"
TARGET_BYTES = 1_900_000  # about 1.9 MB ...
CEILING_BYTES = 1_950_000  # ... and always below this (MAX_UPLOAD_BYTES is 2,000,000 by default)
TARGET_RATIO = 0.8
STALL_FACTOR = 10.0  # a question stalled: its p95 during the upload over 10x idle, or ...
STALL_SECONDS = 1.0  # ... one request waited over this long (and over 10x the idle maximum)
FACT = "le péage du pont de Kerlouan coûte 3 euros"
SEARCH_QUERY = "Combien coûte le péage du pont de Kerlouan ?"
KINDS = ("prose", "one_line")

# -- the files -----------------------------------------------------------------------------------

_TOWNS = (
    "Valbrune Corvenne Morlanges Sarvieux Lunel Vauclerc Estavel Ardelis Kerbihan Hérouville "
    "Plouzané Saint-Aubin Montferrand Bellegarde Rochefort Villeneuve Castelnau Beaumont"
).split()
_SUBJECTS = (
    "Le maire de {town}",
    "La préfecture",
    "Le conseil municipal de {town}",
    "Les habitants de {town}",
    "La région",
    "Une association locale",
    "Le département",
    "La société des transports de {town}",
    "Le syndicat des commerçants",
    "L'opposition municipale",
    "Un collectif de riverains",
    "La direction de l'hôpital de {town}",
    "Le club de football de {town}",
    "Les agriculteurs du canton",
    "La chambre de commerce",
    "Le rectorat",
)
_VERBS = (
    "a annoncé",
    "prévoit",
    "a voté",
    "conteste",
    "a présenté",
    "réclame",
    "a financé",
    "étudie",
    "a reporté",
    "défend",
    "a inauguré",
    "dénonce",
    "soutient",
    "a chiffré",
)
_OBJECTS = (
    "la rénovation du pont",
    "un nouveau plan de circulation",
    "la fermeture de la piscine",
    "l'extension de la ligne de tramway",
    "un budget de {n} euros",
    "la construction de {k} logements sociaux",
    "la hausse des tarifs du stationnement",
    "un marché de producteurs",
    "le projet de parc éolien",
    "la réouverture de la gare",
    "une aide de {n} euros aux commerçants",
    "la création de {k} places en crèche",
    "le déplacement du marché de Noël",
    "un festival de musique",
    "la réfection de la voirie",
    "l'installation de {k} bornes de recharge",
)
_TAILS = (
    "pour {year}",
    "d'ici {k} mois",
    "après {k} semaines de débat",
    "selon un communiqué publié {day}",
    "malgré l'avis défavorable de {k} élus",
    "lors de la séance du {date}",
    "à la demande de {k} habitants",
    "avec le soutien de l'État",
    "sans consulter les riverains",
    "en raison de la sécheresse",
    "pour un coût estimé à {n} euros",
    "dans le quartier de la gare",
)
_ASIDES = (
    "Selon nos informations, {k} personnes ont assisté à la réunion.",
    "Les travaux doivent commencer en {month}.",
    "« Nous n'avons pas le choix », a déclaré un adjoint.",
    "Le chantier devrait durer {k} mois !",
    "Qui paiera la facture ?",
    "La décision sera examinée le {date}.",
    "Le projet avait déjà été repoussé en {year}.",
    "Environ {p} % des sondés s'y disent favorables.",
)
_MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
)
_DAYS = "lundi mardi mercredi jeudi vendredi samedi dimanche".split()


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        town=rng.choice(_TOWNS),
        n=f"{rng.randint(2, 900) * 1000:,}".replace(",", " "),
        k=rng.randint(2, 400),
        p=rng.randint(5, 95),
        year=rng.randint(2018, 2031),
        month=rng.choice(_MONTHS),
        day=rng.choice(_DAYS),
        date=f"{rng.randint(1, 28)} {rng.choice(_MONTHS)} {rng.randint(2019, 2030)}",
    )


def _prose_sentence(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return _fill(rng.choice(_ASIDES), rng)
    parts = [_fill(rng.choice(t), rng) for t in (_SUBJECTS, _VERBS, _OBJECTS)]
    for _ in range(rng.randint(0, 2)):
        parts.append(("," if rng.random() < 0.4 else "") + " " + _fill(rng.choice(_TAILS), rng))
    sentence = parts[0] + " " + parts[1] + " " + parts[2] + "".join(parts[3:])
    return sentence.replace(" ,", ",") + "."


def make_prose(seed: int = 11, size: int = TARGET_BYTES) -> bytes:
    """About `size` bytes (UTF-8) of French news prose: a title line, then paragraphs of 3 to 8
    varied sentences with punctuation; the fact about the Kerlouan toll is stated once, midway."""
    rng = random.Random(seed)
    out = ["Conseil municipal : les projets de l'année dans le canton\n\n"]
    total = len(out[0].encode())
    fact_told = False
    while total < size:
        paragraph = " ".join(_prose_sentence(rng) for _ in range(rng.randint(3, 8)))
        if not fact_told and total > size // 2:
            since = _fill("{date}", rng)
            paragraph += f" Le péage du pont de Kerlouan coûte 3 euros depuis le {since}."
            fact_told = True
        piece = paragraph + "\n\n"
        total += len(piece.encode())
        out.append(piece)
    data = "".join(out).encode()
    assert data.count(b"Kerlouan") == 1
    return _bounded(data)


def make_one_line(seed: int = 7, size: int = TARGET_BYTES) -> bytes:
    """About `size` bytes: a title line, then one line of comma-separated keywords with no
    sentence punctuation whose last words state the fact (`tests/field/make_one_line.py`,
    longer)."""
    rng = random.Random(seed)
    towns = _TOWNS[:8]
    head = "Le pont de Kerlouan\nMots-clés associés à cet article : "
    tail = f" et enfin {FACT}\n"
    room = size - len(head.encode()) - len(tail.encode())
    words: list[str] = []
    used = 0
    i = 0
    while used < room:
        word = f"{rng.choice(towns)}-{i}"
        used += len(word.encode()) + (2 if words else 0)
        words.append(word)
        i += 1
    return _bounded((head + ", ".join(words) + tail).encode())


def _bounded(data: bytes) -> bytes:
    if not TARGET_BYTES * 0.97 <= len(data) < CEILING_BYTES:
        raise AssertionError(f"{len(data)} bytes, not about {TARGET_BYTES}")
    return data


MAKERS: dict[str, Callable[[], bytes]] = {"prose": make_prose, "one_line": make_one_line}


# -- the raw encoder on what ingest embeds ------------------------------------------------------


@dataclass
class Prepared:
    """What `prepare_version` makes of a file: its chunks, and the distinct sentence texts it
    embeds."""

    chunks: int
    sentences: int  # sentence records (a sentence in two overlapping chunks counts twice)
    texts: list[str]  # distinct sentences, as embedded
    seconds: float  # parse, clean and chunk


class _RecordingEmbedder:
    """Records the texts it is asked to embed and returns zero vectors (no model)."""

    fingerprint = "recording"

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.texts: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return np.zeros((len(texts), self.dimension), dtype=np.float32)

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts)


def sentence_texts(name: str, data: bytes, settings: Settings, dimension: int = 512) -> Prepared:
    """The chunks of an uploaded file and the texts ingest embeds for it: whatever
    `ingest.pipeline.prepare_version` passes to the embedder (its distinct sentences), taken
    by running it with an embedder that only records them."""
    from ingest.pipeline import prepare_version
    from ingest.readers import parse_document

    started = time.perf_counter()
    raw = parse_document(data, PurePath(name), name)
    recorder = _RecordingEmbedder(dimension)
    version = prepare_version(raw, cast(Any, recorder), settings)
    if isinstance(version, str):
        raise ValueError(f"{name}: {version}")
    seconds = time.perf_counter() - started
    return Prepared(len(version.chunks), len(version.sentences), recorder.texts, seconds)


def raw_figures(embedder: Any, prepared: Prepared, rounds: int) -> dict[str, Any]:
    """The bare embedder over the distinct sentence texts: in batches of RAW_BATCH (as
    `bench.ingest_worker`) and in one call (as `prepare_version`); medians of `rounds`."""
    batched = [raw_encode(embedder, prepared.texts, RAW_BATCH) for _ in range(rounds)]
    one_call = []
    for _ in range(rounds):
        started = time.perf_counter()
        embedder.embed(prepared.texts)
        one_call.append(time.perf_counter() - started)
    seconds = statistics.median(batched)
    return {
        "texts": len(prepared.texts),
        "seconds": seconds,
        "seconds_rounds": batched,
        "chunks_per_s": prepared.chunks / seconds,
        "texts_per_s": len(prepared.texts) / seconds,
        "one_call_seconds": statistics.median(one_call),
        "one_call_chunks_per_s": prepared.chunks / statistics.median(one_call),
    }


# -- questions while uploading -------------------------------------------------------------------


@dataclass
class Sample:
    endpoint: str
    started: float  # perf_counter
    seconds: float
    status: int


@dataclass
class QuestionLoad:
    """Two clients, one on /search and one on /ask, each sending its next request as soon as
    the previous one is answered, until `stop` is set or `deadline` passes."""

    url: str
    questions: Iterator[str]
    deadline: float  # perf_counter
    samples: list[Sample] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _next_question(self) -> str:
        with self._lock:
            return next(self.questions)

    def _loop(self, endpoint: str) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as client:
            while not self.stop.is_set() and time.perf_counter() < self.deadline:
                text = self._next_question()
                body = {"query": text, "top_k": 5} if endpoint == "/search" else {"question": text}
                started = time.perf_counter()
                try:
                    status = client.post(endpoint, json=body).status_code
                except httpx.HTTPError:
                    status = 0
                sample = Sample(endpoint, started, time.perf_counter() - started, status)
                with self._lock:
                    self.samples.append(sample)

    def start(self) -> QuestionLoad:
        for endpoint in ("/search", "/ask"):
            thread = threading.Thread(target=self._loop, args=(endpoint,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def finish(self) -> list[Sample]:
        """Stop the clients, wait for the requests in flight, and return every sample."""
        self.stop.set()
        for thread in self._threads:
            thread.join()
        return self.samples


def latency_figures(
    samples: list[Sample], endpoint: str, seconds: float, since: float | None = None
) -> dict[str, Any]:
    """Count, errors, p50/p95/max in ms of one endpoint's answered samples, answers per second,
    and (given `since`, a perf_counter) when the slowest one started, in seconds after it."""
    mine = [s for s in samples if s.endpoint == endpoint and s.status == 200]
    ok = [s.seconds * 1000 for s in mine]
    errors = sum(1 for s in samples if s.endpoint == endpoint and s.status != 200)
    figures = {
        "answered": len(ok),
        "errors": errors,
        "p50_ms": percentile(ok, 50),
        "p95_ms": percentile(ok, 95),
        "max_ms": max(ok) if ok else float("nan"),
        "per_s": len(ok) / seconds if seconds else float("nan"),
    }
    if since is not None and mine:
        slowest = max(mine, key=lambda s: s.seconds)
        figures["slowest_started_after_s"] = slowest.started - since
    return figures


def stalled(figures: dict[str, Any]) -> bool:
    """Whether an endpoint's questions stalled during the upload (`under_load`'s figures of
    one endpoint): p95 over STALL_FACTOR x idle, or a request over STALL_SECONDS and over
    STALL_FACTOR x the idle maximum."""
    idle, during = figures["idle"], figures["during_upload"]
    worst = during["max_ms"]
    return bool(
        during["p95_ms"] > STALL_FACTOR * idle["p95_ms"]
        or (worst > STALL_SECONDS * 1000 and worst > STALL_FACTOR * idle["max_ms"])
    )


def upload(url: str, name: str, data: bytes) -> tuple[float, dict[str, Any]]:
    """`POST /documents` of the file; its seconds and its response body."""
    with httpx.Client(base_url=url, timeout=900) as client:
        started = time.perf_counter()
        response = client.post("/documents", files={"file": (name, data, "text/plain")})
        seconds = time.perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"upload of {name}: {response.status_code} {response.text[:500]}")
    return seconds, cast(dict[str, Any], response.json())


def delete(url: str, doc_id: str) -> None:
    """`DELETE /documents/{doc_id}`."""
    response = httpx.delete(f"{url}/documents/{doc_id}", timeout=300)
    if response.status_code != 204:
        raise RuntimeError(f"delete of {doc_id}: {response.status_code} {response.text[:300]}")


def search_hits_fact(url: str, doc_id: str) -> bool:
    """Whether `/search` for the Kerlouan toll returns a passage of the uploaded file."""
    body = {"query": SEARCH_QUERY, "top_k": 5}
    results = httpx.post(f"{url}/search", json=body, timeout=60).json()["results"]
    return any(r["doc_id"] == doc_id and "Kerlouan" in r["text"] for r in results)


def under_load(
    url: str, name: str, data: bytes, questions: Iterator[str], idle_s: float, max_s: float
) -> dict[str, Any]:
    """Questions idle for `idle_s`, then while `data` is uploaded (at most `max_s` of load)."""
    idle = QuestionLoad(url, questions, time.perf_counter() + idle_s).start()
    idle_samples = idle.finish() if idle_s <= 0 else _wait_then_finish(idle, idle_s)
    load = QuestionLoad(url, questions, time.perf_counter() + max_s).start()
    time.sleep(0.2)  # both clients under way
    began = time.perf_counter()
    result: dict[str, Any] = {}
    failure: list[BaseException] = []

    def post() -> None:
        try:
            result["seconds"], result["response"] = upload(url, name, data)
        except BaseException as exc:  # reported below, after the clients stop
            failure.append(exc)

    poster = threading.Thread(target=post, daemon=True)
    poster.start()
    poster.join(timeout=max_s)
    ended = time.perf_counter()
    samples = load.finish()
    poster.join()
    if failure:
        raise failure[0]
    during = [s for s in samples if began <= s.started < ended]
    window = ended - began
    figures: dict[str, Any] = {
        "upload_seconds": result["seconds"],
        "chunks": result["response"]["chunks"],
        "load_seconds": window,
        "load_cut_short": result["seconds"] > window + 0.5,
    }
    for endpoint in ("/search", "/ask"):
        key = endpoint.strip("/")
        figures[key] = {
            "idle": latency_figures(idle_samples, endpoint, idle_s),
            "during_upload": latency_figures(during, endpoint, window, since=began),
        }
        idle, busy = figures[key]["idle"], figures[key]["during_upload"]
        figures[key]["p95_over_idle"] = busy["p95_ms"] / idle["p95_ms"]
        figures[key]["max_over_idle"] = busy["max_ms"] / idle["max_ms"]
        figures[key]["stalled"] = stalled(figures[key])
    return figures


def _wait_then_finish(load: QuestionLoad, seconds: float) -> list[Sample]:
    time.sleep(seconds)
    return load.finish()


# -- where an upload's time goes -----------------------------------------------------------------


def profile_upload(name: str, data: bytes, work: Path, top: int = 25) -> dict[str, Any]:
    """The upload's stages in this process, over a fresh copy of the sample's Chroma folder:
    timed once (parse, prepare_version with its embedding, the store write, retriever.refresh)
    and then, the document deleted, profiled with cProfile (top costs by own and cumulative
    time). The service must be stopped: this measures the same code on the same cores."""
    from app.services.retriever import HybridRetriever
    from ingest.pipeline import IngestReport, doc_id_for, ingest_document
    from ingest.readers import parse_document
    from vectorstore import ChromaStore, make_embedder

    chroma = work / f"profile-{PurePath(name).stem}"
    shutil.rmtree(chroma, ignore_errors=True)
    shutil.copytree(work / "chroma", chroma)
    settings = Settings(chroma_path=chroma, chroma_host=None, collection=COLLECTION)  # type: ignore[call-arg]
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # as the service's build_components does
    embedder = make_embedder(settings)
    store = ChromaStore.from_settings(settings, embedder.fingerprint)
    retriever = HybridRetriever(store, embedder, settings)
    doc_id = doc_id_for(PurePath(name))

    def one_upload() -> dict[str, float]:
        started = time.perf_counter()
        raw = parse_document(data, PurePath(name), name)
        parsed = time.perf_counter()
        timed_embedder = TimedEmbedder(embedder)
        timed_store = TimedStore(store)
        report = IngestReport()
        ingest_document(raw, cast(ChromaStore, timed_store), timed_embedder, settings, report)
        ingested = time.perf_counter()
        retriever.refresh()
        refreshed = time.perf_counter()
        store.document(doc_id)  # the chunk count the response gives
        done = time.perf_counter()
        return {
            "total": done - started,
            "parse": parsed - started,
            "prepare_version_without_embed": ingested
            - parsed
            - timed_embedder.seconds
            - timed_store.seconds,
            "embed": timed_embedder.seconds,
            "store_calls": timed_store.seconds,
            "retriever_refresh": refreshed - ingested,
            "document_info": done - refreshed,
            "chunks": float(report.chunks),
        }

    stages = one_upload()
    # In the service, the `_watch` task sees the commit's new generation and refreshes too
    # (its log says "documents changed"): the upload's own refresh then finds nothing changed.
    started = time.perf_counter()
    retriever.refresh()
    stages["refresh_again_unchanged"] = time.perf_counter() - started
    store.delete_document(doc_id)
    retriever.refresh()
    profiler = cProfile.Profile()
    profiler.enable()
    profiled = one_upload()
    profiler.disable()
    retriever.close()
    return {
        "stages_seconds": stages,
        "profiled_total_seconds": profiled["total"],
        "note": "refresh_again_unchanged is not in total: a second refresh with nothing changed, "
        "as the service's watcher and the upload both refresh after the commit",
        "profiled_stages_seconds": profiled,
        "top_cumulative": _top_rows(profiler, "cumulative", top),
        "top_own": _top_rows(profiler, "tottime", top),
    }


def _top_rows(profiler: cProfile.Profile, key: str, top: int) -> list[dict[str, Any]]:
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    entries = cast(dict[Any, Any], stats.stats)  # type: ignore[attr-defined]
    for (filename, line, function), (_, calls, own, cumulative, _) in entries.items():
        where = filename.replace(str(PROJECT_ROOT) + "/", "")
        where = where.split("site-packages/")[-1]
        rows.append(
            {
                "function": f"{where}:{line}({function})",
                "calls": calls,
                "own_s": round(own, 3),
                "cumulative_s": round(cumulative, 3),
            }
        )
    rows.sort(key=lambda r: r["cumulative_s" if key == "cumulative" else "own_s"], reverse=True)
    return rows[:top]


# -- the run -------------------------------------------------------------------------------------


def ingest_sample(chroma: Path) -> None:
    """The sample articles into a fresh Chroma folder, by `python -m ingest` in a child."""
    env = {**os.environ, "CHROMA_PATH": str(chroma), "COLLECTION": COLLECTION}
    env.pop("CHROMA_HOST", None)
    subprocess.run([sys.executable, "-m", "ingest", "--quiet", str(SAMPLE)], env=env, check=True)


def run(args: argparse.Namespace, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Everything the module docstring lists, for the kinds in `args.kinds`."""
    from vectorstore import make_embedder

    settings = Settings(chroma_host=None)  # type: ignore[call-arg]
    files = {kind: MAKERS[kind]() for kind in args.kinds}
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "settings": {
            "max_upload_bytes": settings.max_upload_bytes,
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "embedder_backend": settings.embedder_backend,
            "embedder_threads": settings.embedder_threads,
        },
        "kinds": {},
    }
    log("raw encoder on the sentences ingest embeds (service not running)")
    embedder = make_embedder(settings)
    for kind, data in files.items():
        if len(data) >= settings.max_upload_bytes:
            raise AssertionError(f"{kind}: {len(data)} bytes, over MAX_UPLOAD_BYTES")
        prepared = sentence_texts(f"bench_{kind}.txt", data, settings, embedder.dimension)
        raw = raw_figures(embedder, prepared, args.raw_rounds)
        results["kinds"][kind] = {
            "bytes": len(data),
            "chunks_expected": prepared.chunks,
            "sentence_records": prepared.sentences,
            "distinct_sentences": len(prepared.texts),
            "parse_clean_chunk_seconds": prepared.seconds,
            "raw": raw,
        }
        log(
            f"  {kind}: {len(data)} bytes, {prepared.chunks} chunks, {len(prepared.texts)} "
            f"sentences; raw {raw['seconds']:.1f} s ({raw['chunks_per_s']:.0f} chunks/s), "
            f"one call {raw['one_call_seconds']:.1f} s"
        )
    del embedder

    log("ingest of the sample into a fresh Chroma folder")
    ingest_sample(work / "chroma")
    service_chroma = work / "service-chroma"
    shutil.copytree(work / "chroma", service_chroma)
    service: Server = spawn_service(service_chroma, COLLECTION, work / "service.log")
    wait_all_ready([service])
    questions = DistinctQuestions(base_questions(), vocabulary([SAMPLE]))
    try:
        for _ in range(3):  # warm-up, not measured
            httpx.post(f"{service.url}/search", json={"query": next(questions)}, timeout=60)
            httpx.post(f"{service.url}/ask", json={"question": next(questions)}, timeout=60)
        for kind, data in files.items():
            figures = results["kinds"][kind]
            name = f"bench_{kind}.txt"
            log(f"{kind}: upload alone")
            seconds, body = upload(service.url, name, data)
            figures["upload"] = {
                "seconds": seconds,
                "chunks": body["chunks"],
                "status": body["status"],
                "chunks_per_s": body["chunks"] / seconds,
            }
            figures["ingest_over_raw"] = (
                figures["upload"]["chunks_per_s"] / (figures["raw"]["chunks_per_s"])
            )
            figures["fact_found_by_search"] = search_hits_fact(service.url, body["doc_id"])
            log(
                f"  {body['chunks']} chunks in {seconds:.1f} s: "
                f"{body['chunks'] / seconds:.1f} chunks/s, ingest/raw "
                f"{figures['ingest_over_raw']:.2f}"
            )
            delete(service.url, body["doc_id"])
            log(f"{kind}: questions idle {args.idle_seconds:.0f} s, then during the upload")
            figures["questions"] = under_load(
                service.url, name, data, questions, args.idle_seconds, args.max_load_seconds
            )
            delete(service.url, body["doc_id"])
            for key in ("search", "ask"):
                q = figures["questions"][key]
                log(
                    f"  /{key}: idle p95 {q['idle']['p95_ms']:.1f} ms, during "
                    f"p95 {q['during_upload']['p95_ms']:.1f} ms "
                    f"max {q['during_upload']['max_ms']:.1f} ms "
                    f"({q['during_upload']['answered']} answered)"
                )
        results["service_rss_mb_after"] = service.rss_mb()
        results["service_peak_rss_mb"] = service.peak_rss_mb()
    finally:
        service.stop()

    for kind, data in files.items():
        figures = results["kinds"][kind]
        questions_figures = figures["questions"]
        stall = any(questions_figures[k]["stalled"] for k in ("search", "ask"))
        below = figures["ingest_over_raw"] < TARGET_RATIO
        figures["target_ratio_met"] = not below
        figures["questions_stalled"] = stall
        if args.profile == "always" or (args.profile == "auto" and (below or stall)):
            log(f"{kind}: the upload in-process, timed and profiled (service stopped)")
            figures["profile"] = profile_upload(f"bench_{kind}.txt", data, work)
    return results


# -- the report ----------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "n/a" if value != value else f"{value:.0f}"


def table(results: dict[str, Any]) -> str:
    """The figures as a small Markdown table (and the profile's top costs when there is one)."""
    lines = [
        "## Ingest speed of a 1.9 MB upload (POST /documents, no other load)",
        "",
        "| file | bytes | chunks | sentences embedded | upload s | chunks/s | raw encoder "
        "chunks/s (batch 32) | ingest/raw (target >= 0.8) | raw one call chunks/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, f in results["kinds"].items():
        lines.append(
            f"| {kind} | {f['bytes']:,} | {f['upload']['chunks']} | {f['distinct_sentences']} "
            f"| {f['upload']['seconds']:.1f} | {f['upload']['chunks_per_s']:.1f} "
            f"| {f['raw']['chunks_per_s']:.1f} | {f['ingest_over_raw']:.2f} "
            f"| {f['raw']['one_call_chunks_per_s']:.1f} |"
        )
    lines += [
        "",
        "## Questions idle and during the same upload (one /search client, one /ask client)",
        "",
        "| file | endpoint | idle n | idle p50 / p95 / max ms | during n (err) "
        "| during p50 / p95 / max ms | p95 during/idle | slowest began at s | stalled "
        "| upload s (load s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, f in results["kinds"].items():
        q = f["questions"]
        for key in ("search", "ask"):
            idle, during = q[key]["idle"], q[key]["during_upload"]
            lines.append(
                f"| {kind} | /{key} | {idle['answered']} "
                f"| {_ms(idle['p50_ms'])} / {_ms(idle['p95_ms'])} / {_ms(idle['max_ms'])} "
                f"| {during['answered']} ({during['errors']}) "
                f"| {_ms(during['p50_ms'])} / {_ms(during['p95_ms'])} / {_ms(during['max_ms'])} "
                f"| {q[key]['p95_over_idle']:.1f}x "
                f"| {during.get('slowest_started_after_s', float('nan')):.1f} "
                f"| {'yes' if q[key]['stalled'] else 'no'} "
                f"| {q['upload_seconds']:.1f} ({q['load_seconds']:.1f}) |"
            )
    for kind, f in results["kinds"].items():
        profile = f.get("profile")
        if not profile:
            continue
        stages = profile["stages_seconds"]
        lines += [
            "",
            f"## Where the {kind} upload's time goes (in-process, service stopped)",
            "",
            "| stage | seconds | share |",
            "|---|---|---|",
        ]
        for stage in (
            "parse",
            "prepare_version_without_embed",
            "embed",
            "store_calls",
            "retriever_refresh",
            "document_info",
            "total",
            "refresh_again_unchanged",
        ):
            share = stages[stage] / stages["total"] if stages["total"] else 0
            lines.append(f"| {stage} | {stages[stage]:.2f} | {share:.0%} |")
        lines += [
            "",
            f"cProfile (total {profile['profiled_total_seconds']:.1f} s under the profiler), "
            "top by cumulative time:",
            "",
            "| function | calls | own s | cumulative s |",
            "|---|---|---|---|",
        ]
        for row in profile["top_cumulative"][:15]:
            lines.append(
                f"| `{row['function']}` | {row['calls']} | {row['own_s']} | {row['cumulative_s']} |"
            )
        lines += ["", "top by own time:", "", "| function | calls | own s | cumulative s |"]
        lines.append("|---|---|---|---|")
        for row in profile["top_own"][:12]:
            lines.append(
                f"| `{row['function']}` | {row['calls']} | {row['own_s']} | {row['cumulative_s']} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.upload", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--kinds", default=",".join(KINDS), help="prose,one_line (default both)")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="idle load first")
    parser.add_argument(
        "--max-load-seconds", type=float, default=60.0, help="load during the upload, at most"
    )
    parser.add_argument("--raw-rounds", type=int, default=1, help="raw encodes per file")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto")
    parser.add_argument("--out", type=Path, default=RESULTS / "upload.json")
    parser.add_argument("--work-dir", type=Path, help="default: a temporary folder, removed")
    args = parser.parse_args(argv)
    args.kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if unknown := set(args.kinds) - set(KINDS):
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.work_dir:
        shutil.rmtree(args.work_dir, ignore_errors=True)
        args.work_dir.mkdir(parents=True)
        results = run(args, args.work_dir, log)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
            results = run(args, Path(tmp), log)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(results))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
