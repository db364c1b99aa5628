"""A bare name answer against the role its question asks: `roles.rebound`, and `verify` using it."""

from __future__ import annotations

import json
import re

import pytest

from app.services.answering.antecedents import with_antecedents
from app.services.answering.roles import rebound
from app.services.answering.verify import Evidence, verify
from app.services.retriever import HybridRetriever
from config import PROJECT_ROOT, Settings
from ingest.chunking import sentence_spans
from tests.conftest import ARTICLES
from vectorstore import ChromaStore, Embedder

# The sample's sentence (article 002), two sentences read as one, as the reader cites it.
MEETINGS = (
    "Comme le souligne le Wall Street Journal, Elon Musk a été particulièrement proche de Trump "
    "ces dernières semaines. Il a dormi au club privé de Donald Trump à Mar-a-Lago, dans l'un de "
    "ses quartiers généraux à Palm Beach, en Floride, et l'a également accompagné lors de "
    "conférences présidentielles comme celles qu'il a récemment tenues avec Volodymyr Zelensky, "
    "président de l'Ukraine, et avec Sundar Pichai —PDG d'Alphabet—."
)


@pytest.mark.parametrize(
    ("question", "written", "right"),
    [
        # written by the bundled model on 2026-12-02 (tests/test_reader.py)
        (
            "Which Ukrainian president did Musk meet alongside Trump?",
            "Sundar Pichai.",
            "Volodymyr Zelensky.",
        ),
        (
            "Quel président ukrainien Musk a-t-il rencontré avec Trump ?",
            "Sundar Pichai.",
            "Volodymyr Zelensky.",
        ),
        ("Quel PDG Musk a-t-il rencontré avec Trump ?", "Volodymyr Zelensky.", "Sundar Pichai."),
        # the right names stand
        (
            "Which Ukrainian president did Musk meet alongside Trump?",
            "Volodymyr Zelensky.",
            "Volodymyr Zelensky.",
        ),
        ("Quel PDG Musk a-t-il rencontré avec Trump ?", "Sundar Pichai.", "Sundar Pichai."),
        # no role asked: nothing to tell the names apart by
        ("Whom did Musk meet alongside Trump?", "Sundar Pichai.", "Sundar Pichai."),
        # "CEO" / "PDG" are too far apart for the embedder (0.42): the check does nothing
        ("Which CEO did Musk meet alongside Trump?", "Volodymyr Zelensky.", "Volodymyr Zelensky."),
    ],
)
def test_a_bare_name_is_the_one_the_sentence_gives_the_role_asked(
    question: str, written: str, right: str, embedder: Embedder
) -> None:
    assert rebound(written, question, [MEETINGS], embedder.embed) == right


def test_a_role_two_other_names_hold_alike_refuses_the_answer(embedder: Embedder) -> None:
    sentence = (
        "Le préfet a reçu Jean Roux, ministre de l'Économie, puis Paul Martin, ministre de la "
        "Santé, ainsi que Marie Dupont."
    )
    question = "Which minister did the prefect receive?"
    assert rebound("Marie Dupont.", question, [sentence], embedder.embed) is None
    assert rebound("Paul Martin.", question, [sentence], embedder.embed) == "Paul Martin."


def test_no_name_of_the_eval_sets_answers_is_replaced(embedder: Embedder) -> None:
    """Over both question sets, each person-like name that a question's fact matches, written
    as the bare answer over each sentence of its source article that states it, stands."""
    articles = {path.name: path.read_text(encoding="utf-8") for path in ARTICLES.glob("*.txt")}
    seen = 0
    for name in ("questions.jsonl", "heldout.jsonl"):
        for line in (PROJECT_ROOT / "eval" / name).read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            for source in item["sources"]:
                text = articles[source]
                for start, end in sentence_spans(text):
                    sentence = " ".join(text[start:end].split())
                    for fact in item["facts"]:
                        found = re.search(rf"\b(?:{fact})\b", sentence, re.IGNORECASE)
                        if not found or not re.fullmatch(r"(?:[A-Z]\w+ ){1,3}[A-Z]\w+", found[0]):
                            continue
                        seen += 1
                        claim = f"{found[0]}."
                        assert (
                            rebound(claim, item["question"], [sentence], embedder.embed) == claim
                        ), (
                            item["id"],
                            sentence,
                        )
    assert seen >= 10


def test_verify_writes_the_name_the_cited_sentence_gives_the_role(
    sample_settings: Settings, embedder: Embedder
) -> None:
    """The sentence as the reader shows it: read with the one before it ("Il a dormi ...")."""
    store = ChromaStore.from_settings(sample_settings, embedder.fingerprint)
    snapshot = HybridRetriever(store, embedder, sample_settings).snapshot
    chunks = {c.id: c for c in snapshot.chunks if "Zelensky" in c.text}
    sentences, vectors = snapshot.sentences_of(list(chunks))
    spans, _ = with_antecedents(sentences, vectors, chunks)
    shown = [s for s in spans if s.whole and "Zelensky" in s.text and "Musk" in s.text]
    evidence = Evidence(shown, [chunks[s.chunk_id] for s in shown])
    question = "Which Ukrainian president did Musk meet alongside Trump?"
    for written in ("Sundar Pichai [1].", "Volodymyr Zelensky [1]."):
        checked = verify(written, evidence, embedder.embed, question=question)
        assert checked.text == "Volodymyr Zelensky [1]." and not checked.unsupported, written
        assert "Zelensky" in checked.citations[0].sentence.text
