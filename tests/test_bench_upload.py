"""`bench.upload`'s pieces that need no service: the generated files and the stall arithmetic."""

from __future__ import annotations

import math
import re

from bench.upload import (
    CEILING_BYTES,
    Sample,
    latency_figures,
    make_one_line,
    make_prose,
    sentence_texts,
    stalled,
)
from config import Settings


def test_the_files_are_about_1_9_mb_below_the_upload_limit_and_the_same_every_run() -> None:
    limit = Settings(chroma_host=None).max_upload_bytes  # type: ignore[call-arg]
    for make in (make_prose, make_one_line):
        data = make()
        assert 1_840_000 <= len(data) < CEILING_BYTES < limit
        assert data == make()
        assert data.count(b"Kerlouan") == 1 or make is make_one_line
        data.decode("utf-8")


def test_prose_is_varied_sentences_and_one_line_has_no_sentence_punctuation() -> None:
    prose = make_prose().decode()
    sentences = re.split(r"(?<=[.!?])\s+", prose)
    assert len(sentences) > 15_000
    assert len(set(sentences)) > 0.7 * len(sentences)
    title, line, rest = make_one_line().decode().split("\n")
    assert title and rest == ""
    assert len(line) > 1_800_000
    assert not re.search(r"[.!?…]", line)
    assert line.endswith("le péage du pont de Kerlouan coûte 3 euros")


def test_latency_figures_and_the_stall_rule() -> None:
    idle = [Sample("/search", i, 0.010, 200) for i in range(20)]
    busy = [Sample("/search", 100 + i, 0.012, 200) for i in range(20)]
    busy += [Sample("/search", 103.0, 27.0, 200), Sample("/ask", 100, 1.0, 500)]
    figures = {
        "idle": latency_figures(idle, "/search", 10),
        "during_upload": latency_figures(busy, "/search", 30, since=100.0),
    }
    assert figures["idle"]["answered"] == 20 and figures["idle"]["p95_ms"] == 10.0
    assert figures["during_upload"]["max_ms"] == 27_000.0
    assert figures["during_upload"]["slowest_started_after_s"] == 3.0
    assert latency_figures(busy, "/ask", 30)["errors"] == 1
    assert math.isnan(latency_figures([], "/ask", 1)["p95_ms"])
    assert stalled(figures)
    figures["during_upload"] = latency_figures(busy[:20], "/search", 30)
    assert not stalled(figures)


def test_sentence_texts_are_what_prepare_version_embeds() -> None:
    data = "Le pont\n\nLe péage coûte 3 euros. Il ouvre en mai 2026 !\n".encode()
    prepared = sentence_texts("pont.txt", data, Settings(chroma_host=None))  # type: ignore[call-arg]
    assert prepared.chunks == 1
    assert "Le péage coûte 3 euros." in prepared.texts
    assert len(set(prepared.texts)) == len(prepared.texts)
