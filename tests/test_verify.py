"""The verifier on hand-written answers over real retrieved passages of the sample."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.services.answering.verify import Evidence, Verified, verify
from app.services.retriever import HybridRetriever
from config import Settings
from vectorstore import ChromaStore, Embedder


@pytest.fixture(scope="module")
def evidence(sample_settings: Settings, embedder: Embedder) -> Evidence:
    store = ChromaStore.from_settings(sample_settings, embedder.fingerprint)
    retrieval = HybridRetriever(store, embedder, sample_settings).retrieve(
        "Combien Elon Musk a-t-il proposé pour OpenAI et combien SoftBank a-t-il injecté ?", 5
    )
    sentences, vectors = retrieval.snapshot.sentences_of([h.chunk.id for h in retrieval.hits])
    return Evidence(retrieval.hits, sentences, vectors)


def marker_of(evidence: Evidence, needle: str) -> int:
    return next(n for n, h in enumerate(evidence.hits, start=1) if needle in h.chunk.text)


def check(answer: str, evidence: Evidence, embedder: Embedder) -> Verified:
    return verify(answer, evidence, embedder.embed)


def test_a_supported_sentence_is_kept_and_cites_its_sentence(
    evidence: Evidence, embedder: Embedder
) -> None:
    n = marker_of(evidence, "97 milliards")
    result = check(
        f"Elon Musk a proposé 97 milliards de dollars pour OpenAI [{n}].", evidence, embedder
    )
    assert result.text == "Elon Musk a proposé 97 milliards de dollars pour OpenAI [1]."
    assert result.unsupported == []
    cited = result.citations[0]
    assert cited.marker == 1 and "97 milliards" in cited.sentence.text
    assert (
        cited.chunk.text[cited.sentence.start - cited.chunk.start :][:20]
        == cited.sentence.text[:20]
    )


def test_a_wrong_figure_or_name_is_removed(evidence: Evidence, embedder: Embedder) -> None:
    n = marker_of(evidence, "97 milliards")
    result = check(
        f"Elon Musk a proposé 79 milliards de dollars [{n}]. "
        f"Jeff Bezos a proposé 97 milliards de dollars pour OpenAI [{n}].",
        evidence,
        embedder,
    )
    assert result.citations == [] and len(result.unsupported) == 2


def test_no_marker_or_a_marker_naming_no_passage_is_removed(
    evidence: Evidence, embedder: Embedder
) -> None:
    n = marker_of(evidence, "10 milliards")
    result = check(
        "Elon Musk a proposé 97 milliards de dollars pour OpenAI. "
        "SoftBank aurait injecté 10 milliards de dollars dans Stargate [9]. "
        f"Selon Musk, SoftBank aurait injecté 10 milliards de dollars dans Stargate [{n}].",
        evidence,
        embedder,
    )
    assert (
        result.text
        == "Selon Musk, SoftBank aurait injecté 10 milliards de dollars dans Stargate [1]."
    )
    assert [c.marker for c in result.citations] == [1]
    assert len(result.unsupported) == 2 and "[9]" not in result.text


def test_an_english_paraphrase_of_a_french_passage_is_kept(
    evidence: Evidence, embedder: Embedder
) -> None:
    n = marker_of(evidence, "97 milliards")
    result = check(
        f"Elon Musk offered 97 billion dollars to take over OpenAI [{n}].", evidence, embedder
    )
    assert result.unsupported == [] and result.citations[0].marker == 1


def test_markers_are_renumbered_in_order_of_use(evidence: Evidence, embedder: Embedder) -> None:
    first, second = marker_of(evidence, "10 milliards"), marker_of(evidence, "97 milliards")
    result = check(
        f"SoftBank aurait injecté 10 milliards de dollars dans Stargate [{first}]. "
        f"Elon Musk a proposé 97 milliards de dollars pour OpenAI [{second}].",
        evidence,
        embedder,
    )
    assert [c.marker for c in result.citations] == [1, 2]
    assert result.text.endswith("pour OpenAI [2].")


def test_prompts_render_numbered_passages(client: TestClient) -> None:
    from app.services.answering.generative import messages_for
    from prompts import load_prompt

    assert "[1]" in load_prompt("answer", "en")["system"]
    hits = client.app.state.components.retriever.retrieve("Stargate", 3).hits  # type: ignore[attr-defined]
    messages = messages_for("Qu'est-ce que Stargate ?", "fr", hits)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    user = messages[-1]["content"]
    assert user.startswith("Passages :\n[1] ") and "\n[3] " in user and "[4]" not in user
    assert user.endswith("Question : Qu'est-ce que Stargate ?")


def test_what_a_model_writes_around_a_quotation_is_judged_too(
    evidence: Evidence, embedder: Embedder
) -> None:
    n = marker_of(evidence, "10 milliards")
    kept = check(
        f"Selon Musk, « SoftBank aurait injecté 10 milliards de dollars dans Stargate » [{n}].",
        evidence,
        embedder,
    )
    smuggled = check(
        f"Selon Musk, « SoftBank aurait injecté 10 milliards de dollars dans Stargate », "
        f"mais OpenAI a tout remboursé en 2031 [{n}].",
        evidence,
        embedder,
    )
    assert kept.text.startswith("Selon Musk, « SoftBank") and kept.unsupported == []
    assert smuggled.citations == [] and "2031" in smuggled.unsupported[0]
