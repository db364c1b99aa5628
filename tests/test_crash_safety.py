"""A writer stopped at any point leaves no half-written document visible, and the next run
completes it: first with a crash injected at every write step, then with a real kill -9."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from chromadb.api.client import SharedSystemClient

from app.services.retriever import HybridRetriever
from app.services.store_retriever import StoreRetriever
from config import Settings
from ingest.__main__ import main as ingest_main
from ingest.pipeline import ingest_paths
from vectorstore import ChromaStore, Embedder

OLD = "Le premier texte parle de pommes et de vergers normands. " * 30
NEW = "Le second texte parle de poires et de jardins bretons. " * 45


class Crash(Exception):
    """Stands for the process dying: raised instead of the n-th write reaching Chroma."""


class CrashingCollection:
    """A Chroma collection (or the lexical index) whose writes die after a given number of
    them succeeded, the budget shared between them."""

    WRITES = ("upsert", "add", "delete", "update", "remove", "remove_stale")

    def __init__(self, inner: Any, budget: list[int]) -> None:
        self._inner = inner
        self._budget = budget

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in self.WRITES:
            return attribute

        def write(*args: Any, **kwargs: Any) -> Any:
            if self._budget[0] == 0:
                raise Crash(name)
            self._budget[0] -= 1
            return attribute(*args, **kwargs)

        return write


def versions_seen(store: ChromaStore, embedder: Embedder, settings: Settings) -> set[str]:
    """Which texts a reader sees for the document, through the retrievers of both modes."""
    retriever = HybridRetriever(store, embedder, settings)
    chunks = [c for c in retriever.snapshot.chunks if c.doc_id == "note"]
    hits = retriever.retrieve("pommes poires vergers jardins", 10).hits
    assert {h.chunk.id for h in hits} <= {c.id for c in chunks}
    served = StoreRetriever(store, embedder, settings).retrieve("pommes poires vergers", 10)
    assert {h.chunk.id for h in served.hits} <= {c.id for c in chunks}
    seen = {"old" if "pommes" in c.text else "new" for c in chunks}
    if seen:
        assert len(chunks) == store.document("note").chunks
        sentences, _ = store.live_sentences({c.id: c for c in chunks})
        assert {s.chunk_id for s in sentences} == {c.id for c in chunks}
        assert len(sentences) == store.manifest()["note"].sentences
    return seen


def test_a_crash_at_any_write_shows_one_whole_version_and_the_rerun_completes_it(
    tmp_path: Path, embedder: Embedder, settings: Settings
) -> None:
    path = tmp_path / "note.txt"
    crash_points = 0
    while True:
        settings = settings.model_copy(update={"collection": f"crash{crash_points}"})
        store = ChromaStore.from_settings(settings, embedder.fingerprint)
        path.write_text(OLD, encoding="utf-8")
        ingest_paths([path], store, embedder, settings)
        path.write_text(NEW, encoding="utf-8")
        budget = [crash_points]
        live, lexical = store._cols, store.lexical
        store._cols = type(live)(*(CrashingCollection(c, budget) for c in vars(live).values()))
        store.lexical = CrashingCollection(lexical, budget)  # type: ignore[assignment]
        try:
            ingest_paths([path], store, embedder, settings)
        except Crash:
            crashed = True
        else:
            crashed = False
        store._cols, store.lexical = live, lexical
        reopened = ChromaStore.from_settings(settings, embedder.fingerprint)
        seen = versions_seen(reopened, embedder, settings)
        assert seen in ({"old"}, {"new"}), (crash_points, seen)

        report = ingest_paths([path], reopened, embedder, settings)
        assert versions_seen(reopened, embedder, settings) == {"new"}
        assert report.replaced == ["note"] or (report.unchanged == ["note"] and seen == {"new"})
        live_hash = reopened.content_hash("note") or ""
        left = reopened.all_chunks(live={"note": live_hash})
        assert reopened.count() == len(left), "older versions were not removed"
        assert reopened.lexical is not None
        assert reopened.lexical.versions() == {"note": {live_hash}}, crash_points
        if not crashed:
            break
        crash_points += 1
    # chunks (with their sentences), the lexical index, the manifest with the generation, the
    # removal from the lexical index and from Chroma
    assert crash_points >= 5


def write_articles(folder: Path, count: int) -> None:
    folder.mkdir()
    for i in range(count):
        body = " ".join(
            f"L'article {i} rapporte le fait numéro {j} sur la ville {i * 7 + j}."
            for j in range(40)
        )
        (folder / f"article{i:03d}.txt").write_text(f"Titre {i}\n{body}\n", encoding="utf-8")


@pytest.mark.slow
def test_kill_9_during_an_ingest_leaves_whole_documents_and_the_next_run_completes(
    tmp_path: Path, embedder: Embedder, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "articles"
    write_articles(folder, 40)
    env = {**os.environ, "CHROMA_PATH": str(settings.chroma_path), "COLLECTION": "killed"}
    env.pop("CHROMA_HOST", None)
    command = [sys.executable, "-m", "ingest", "--quiet", str(folder)]
    settings = settings.model_copy(update={"collection": "killed"})
    rng = random.Random(7)
    interrupted = 0
    for _ in range(3):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        time.sleep(rng.uniform(4.0, 9.0))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            interrupted += 1
        process.wait(timeout=30)

        SharedSystemClient.clear_system_cache()  # read what the killed process left on disk
        store = ChromaStore.from_settings(settings, embedder.fingerprint)
        live = store.live_versions()
        chunks = store.all_chunks(live)
        for info in store.documents():
            mine = [c for c in chunks if c.doc_id == info.doc_id]
            assert len(mine) == info.chunks, f"{info.doc_id} is visible but incomplete"
            sentences, _ = store.live_sentences({c.id: c for c in mine})
            assert {s.chunk_id for s in sentences} == {c.id for c in mine}
            assert len(sentences) == store.manifest()[info.doc_id].sentences
        served = StoreRetriever(store, embedder, settings)  # syncs the index with the manifest
        assert served.counts()[0] == len(live)
        assert store.lexical is not None
        indexed = store.lexical.versions()
        assert {d: hashes for d, hashes in indexed.items() if d in live} == {
            d: {h} for d, h in live.items()
        }
        del store
    assert interrupted, "every run ended before the kill; give the ingest more to do"

    SharedSystemClient.clear_system_cache()
    monkeypatch.setenv("CHROMA_PATH", str(settings.chroma_path))
    monkeypatch.setenv("COLLECTION", "killed")
    monkeypatch.delenv("CHROMA_HOST", raising=False)
    assert ingest_main(["--quiet", str(folder)]) == 0
    store = ChromaStore.from_settings(settings, embedder.fingerprint)
    assert len(store.documents()) == 40
    assert store.count() == sum(d.chunks for d in store.documents())
    assert store.lexical is not None and store.lexical.counts() == (40, store.count())
