"""The benchmark's pieces: man-page conversion, the arithmetic, the question streams, and one
`python -m bench --quick` run end to end (a real service and a real LlamaIndex peer)."""

from __future__ import annotations

import gzip
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import manpages
from bench.questions import DistinctQuestions, base_questions, probes, repeated, vocabulary
from bench.report import Target
from bench.stats import percentile, ratio, summarise
from config import PROJECT_ROOT

ARTICLES = PROJECT_ROOT / "data" / "articles"


# -- arithmetic ----------------------------------------------------------------------------------


def test_percentile_interpolates_between_ranks_like_numpy() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0
    assert percentile([3.0, 1.0, 2.0], 0) == 1.0
    assert percentile([3.0, 1.0, 2.0], 100) == 3.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_summary_counts_only_answered_requests_per_second_of_wall_time() -> None:
    summary = summarise([10.0, 20.0, 30.0, 40.0], errors=1, seconds=2.0)
    assert summary.requests == 4
    assert summary.errors == 1
    assert summary.rps == 2.0
    assert summary.p50_ms == 25.0
    assert summary.mean_ms == 25.0
    assert math.isnan(summarise([], 3, 1.0).p50_ms)


def test_ratio_is_none_when_a_side_is_missing() -> None:
    assert ratio(300.0, 120.0) == 2.5
    assert ratio(None, 1.0) is None
    assert ratio(1.0, 0.0) is None
    assert ratio(float("nan"), 1.0) is None


def test_targets_say_met_missed_or_not_measured() -> None:
    assert Target("rps", 3.0, ">=", 2.5).met is True
    assert Target("p50", 7.0, "<=", 6).met is False
    assert Target("p50", None, "<=", 6).met is None


# -- questions -----------------------------------------------------------------------------------


def test_distinct_questions_never_repeat_and_match_across_streams() -> None:
    bases = base_questions()
    words = vocabulary([ARTICLES])
    first, second = DistinctQuestions(bases, words), DistinctQuestions(bases, words)
    texts = [next(first) for _ in range(5000)]
    assert len(set(texts)) == len(texts)
    assert not set(texts) & set(bases)  # the plain questions stay for probes and repeats
    assert texts[:50] == [next(second) for _ in range(50)]
    again = repeated(bases, 3)
    assert [next(again) for _ in range(6)] == bases[:3] * 2


def test_probes_name_the_doc_ids_the_sample_is_ingested_under() -> None:
    found = probes()
    assert len(found) >= 80
    sample_ids = {p.stem for p in ARTICLES.glob("*.txt")}
    assert all(p.expected and p.expected <= sample_ids for p in found)


# -- man pages -----------------------------------------------------------------------------------


def test_overstrike_and_escapes_are_stripped() -> None:
    assert manpages.plain("N\bNO\bOM\bM\n   _\bf_\bi_\bl_\be  \n\x1b[1mgras\x1b[0m") == (
        "NOM\n   file\ngras\n"
    )
    assert manpages.text_name(Path("/usr/share/man/fr/man3/printf.3.gz")) == "man3_printf-3.txt"


def test_aliases_are_symlinks_and_so_redirects(tmp_path: Path) -> None:
    redirect = tmp_path / "alias.1.gz"
    redirect.write_bytes(gzip.compress(b'.\\" comment\n.so man1/real.1\n'))
    real = tmp_path / "real.1"
    real.write_text(".TH REAL 1\n.SH NOM\nreal \\- une vraie page\n", encoding="utf-8")
    link = tmp_path / "link.1"
    link.symlink_to(real)
    assert manpages.is_alias(redirect)
    assert manpages.is_alias(link)
    assert not manpages.is_alias(real)


def test_page_selection_nests_and_reaches_the_chunk_budget() -> None:
    pages = [manpages.ManPage(f"p{i}", f"/x/p{i}.txt", 1000, 1 + i % 7) for i in range(50)]
    small = manpages.select(pages, 20)
    large = manpages.select(pages, 120)
    assert large[: len(small)] == small
    assert sum(p.chunks for p in large) >= 120
    assert sum(p.chunks for p in large[:-1]) < 120


def test_chunk_count_is_what_ingest_cuts() -> None:
    text = (ARTICLES / "000_cbe65e37a9e86eda.txt").read_text(encoding="utf-8")
    assert manpages.chunk_count(text, 200, 40) > manpages.chunk_count(text, 800, 40) >= 1


@pytest.mark.skipif(shutil.which("man") is None, reason="man-db is not installed")
def test_one_real_french_page_converts_to_plain_text() -> None:
    pages = manpages.source_pages()
    if not pages:
        pytest.skip("no French man page installed (apt-get install manpages-fr)")
    page = next((p for p in pages if p.name.startswith("chage.")), pages[0])
    text = manpages.render(page)
    assert "\b" not in text and "\x1b" not in text
    assert len(text) > 200
    assert "NOM" in text  # the French section heading


def test_converted_pages_are_found_in_the_cache_wherever_it_has_moved(tmp_path: Path) -> None:
    cache = tmp_path / "moved"
    cache.mkdir()
    (cache / "man1_chage-1.txt").write_text("NOM\n chage\n", encoding="utf-8")
    row = {"name": "man1_chage-1", "path": "bench/.work/manpages-fr/man1_chage-1.txt"}
    shape = {"version": 2, "chunk_size": 800, "chunk_overlap": 40}
    manifest = {**shape, "pages": [{**row, "chars": 12, "chunks": 1}]}
    (cache / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (page,) = manpages.convert(cache, 800, 40, root=tmp_path / "no-man-pages-here")
    assert Path(page.path) == cache / "man1_chage-1.txt" and Path(page.path).exists()


# -- end to end ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_quick_run_writes_the_table_json_and_plot(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out-dir", str(tmp_path / "out")]
        + ["--work-dir", str(tmp_path / "work")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "## Targets" in done.stdout and "/search RPS service / peer, c=8" in done.stdout
    results = json.loads((tmp_path / "out" / "bench.json").read_text(encoding="utf-8"))
    runs = results["sample"]["load"]
    assert {(r["target"], r["endpoint"]) for r in runs} == {
        ("service", "/search"),
        ("service", "/ask"),
        ("peer", "/search"),
    }
    assert all(r["errors"] == 0 and r["requests"] > 0 for r in runs)
    assert results["sample"]["ingest"]["chunks"] > 0
    assert results["sample"]["service"]["hits"]["hit_at_1"] > 0.5
    assert results["ratios"]["by_concurrency"]["8"]["rps_service_over_peer"] > 0
    assert len(results["targets"]) == 6
    scales = results["scales"]
    assert [(s["scale"], s["mode"]) for s in scales] == [("1", "memory"), ("1", "store")]
    assert all(s["hits"]["hit_at_1"] > 0.5 and s["rss_after_mb"] > 0 for s in scales)
    # The store mode is served by a `chroma run` server, measured apart from the worker.
    assert "chroma_server_rss_mb" not in scales[0] and scales[1]["chroma_server_rss_mb"] > 50
    assert "| 1x | store |" in done.stdout
    assert (tmp_path / "out" / "bench.png").read_bytes().startswith(b"\x89PNG")
    print(f"quick run: {time.monotonic() - started:.0f} s")
