"""The evaluation: its judge on hand-written claims, its marker check, the CI gate over the sample,
and a run over real HTTP against uvicorn."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services.answering.support import judge, split_claims
from app.services.retriever import HybridRetriever
from config import Settings
from eval.__main__ import DEFAULT_FLOORS, load_floors, main
from eval.dataset import DEFAULT_QUESTIONS, load_questions
from eval.metrics import markers_valid
from eval.translations import fact_sentences
from tests.conftest import ARTICLES
from tests.service import running_service
from vectorstore import ChromaStore, Embedder

PASSAGE = (
    "Dans ce qui pourrait bien chambouler le monde de la technologie, Elon Musk a proposé "
    "une offre énorme de 97 milliards de dollars pour prendre les rênes d’OpenAI."
)


def test_claims_are_cut_at_markers_and_quotes_are_the_claim() -> None:
    claims = split_claims(
        "D’après les articles : « Musk offre 97 milliards. » [1] "
        "« Altman refuse. » [2][3] Et rien d’autre."
    )
    assert [(c.text, c.markers) for c in claims] == [
        ("Musk offre 97 milliards.", (1,)),
        ("Altman refuse.", (2, 3)),
        ("Et rien d’autre.", ()),
    ]


@pytest.mark.parametrize(
    ("claim", "supported"),
    [
        (PASSAGE, True),
        ("Elon Musk offered 97 billion dollars to take control of OpenAI.", True),
        ("Elon Musk a proposé 79 milliards de dollars pour OpenAI.", False),
        ("Jeff Bezos a proposé 97 milliards de dollars pour OpenAI.", False),
        ("La tarte Tatin se cuit à feu doux avec des pommes caramélisées.", False),
    ],
)
def test_judge_checks_numbers_names_and_meaning(
    embedder: Embedder, claim: str, supported: bool
) -> None:
    assert judge(claim, [PASSAGE], embedder.embed).supported is supported


def test_markers_must_match_the_citations_exactly() -> None:
    ok = {"answer": "x [1] y [2]", "abstained": False, "citations": [{"marker": 1}, {"marker": 2}]}
    unused = {"answer": "x [1]", "abstained": False, "citations": [{"marker": 1}, {"marker": 2}]}
    dangling = {"answer": "x [1] y [3]", "abstained": False, "citations": [{"marker": 1}]}
    abstained = {"answer": "Les articles ne le disent pas.", "abstained": True, "citations": []}
    assert [markers_valid(b) for b in (ok, unused, dangling, abstained)] == [
        True,
        False,
        False,
        True,
    ]


def test_the_ci_gate_passes_on_the_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "eval.json").read_text())["summary"]
    for metric, floor in load_floors(DEFAULT_FLOORS).items():
        assert summary["overall"][metric] >= floor, metric
    assert summary["questions"] >= 60 and summary["failures"] == []
    assert "hit@1" in capsys.readouterr().out
    assert (tmp_path / "eval.md").read_text().startswith("# Evaluation report")


def test_the_held_out_questions_pass_their_own_floors(tmp_path: Path) -> None:
    """Questions written after the abstention checks, to see whether they hold beyond the
    questions they were shaped on (README, "Evaluating")."""
    # answered 11 of 12: h07 (where Musk slept) is declined, where the reader used to cite a
    # sentence beside the question
    floors = ["abstained_when_not=0.75", "answered=0.83", "fact_recall=0.75", "markers_valid=1"]
    heldout = DEFAULT_QUESTIONS.with_name("heldout.jsonl")
    argv = ["--questions", str(heldout), "--out", str(tmp_path), "--no-floors"]
    assert main(argv + [arg for floor in floors for arg in ("--min", floor)]) == 0
    summary = json.loads((tmp_path / "eval.json").read_text())["summary"]
    assert summary["questions"] == 24 and summary["answerable"] == 12


def test_a_floor_above_the_figure_fails_the_run(tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {
                "id": "t1",
                "question": "Quelle est la recette de la ratatouille ?",
                "language": "fr",
                "answerable": False,
                "sources": [],
                "facts": [],
                "kind": "unanswerable",
            }
        )
        + "\n"
    )
    args = ["--questions", str(questions), "--out", str(tmp_path), "--no-floors"]
    args += ["--backend", "extractive"]
    assert main([*args, "--min", "abstained_when_not=1"]) == 0
    assert main([*args, "--min", "language_match=1.01"]) == 1


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with running_service(tmp_path, [ARTICLES]) as service:
        yield service.url


def test_eval_runs_over_rest_against_a_running_service(server: str, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    lines = DEFAULT_QUESTIONS.read_text(encoding="utf-8").splitlines()[:6]
    questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert (
        main(
            ["--url", server, "--questions", str(questions), "--out", str(tmp_path), "--no-floors"]
        )
        == 0
    )
    summary = json.loads((tmp_path / "eval.json").read_text())["summary"]
    assert summary["target"] == server and summary["questions"] == 6
    assert summary["overall"]["markers_valid"] == 1.0
    assert summary["latency_ms"]["/ask"]["p50"] > 0


def test_the_translation_measure_reads_the_sentences_stating_each_english_fact(
    sample_settings: Settings, embedder: Embedder
) -> None:
    """`python -m eval.translations` translates, for each answerable English question, the
    sentences of its own source articles that state a fact; French questions and unanswerable
    ones have none."""
    store = ChromaStore.from_settings(sample_settings, embedder.fingerprint)
    snapshot = HybridRetriever(store, embedder, sample_settings).snapshot
    chunks = {c.id: c for c in snapshot.chunks}
    sentences, _ = snapshot.sentences_of(list(chunks))
    questions = load_questions(DEFAULT_QUESTIONS)
    pairs = fact_sentences(questions, sentences, chunks)
    by_id = {q.id: q for q in questions}
    assert {p.question.language for p in pairs} == {"en"}
    assert all(p.question.answerable and p.sentence.whole for p in pairs)
    assert all(Path(p.chunk.doc.source).name in p.question.sources for p in pairs)
    offer = [p.sentence.text for p in pairs if p.question.id == "q002"]
    assert offer and all("97 milliards" in text for text in offer)
    # q001 asks the same in French: none of its own
    assert by_id["q001"].language == "fr" and all(p.question.id != "q001" for p in pairs)
