from __future__ import annotations

import pytest

from app.services.answering.evidence import EvidenceCheck, QuestionProfile
from app.services.bridge import VocabularyBridge, surface_words
from vectorstore import Embedder


@pytest.mark.parametrize(
    ("question", "wants"),
    [
        ("Combien Elon Musk a-t-il proposé ?", "quantity"),
        ("How much did Musk offer?", "quantity"),
        ("En quelle année Altman a-t-il soutenu Andrew Yang ?", "year"),
        ("When did the Stargate announcement take place?", "date"),
        ("De quel pourcentage la capitalisation a-t-elle augmenté ?", "percent"),
        ("How did Altman describe Musk when responding to his attacks?", None),
        ("Qui dirige SoftBank ?", None),
    ],
)
def test_the_kind_of_answer_wanted(question: str, wants: str | None) -> None:
    assert QuestionProfile.of(question).wants == wants


def test_names_are_the_capitalised_words_inside_the_question() -> None:
    profile = QuestionProfile.of(
        "Which of Trump's clubs did Elon Musk visit with the Ukrainian president?"
    )
    assert profile.names == ("trump", "elon", "musk", "ukrainian")


def test_a_quantity_needs_a_number_the_question_does_not_hold() -> None:
    profile = QuestionProfile.of("How much did Altman's 2019 fundraiser bring in?")
    assert not profile.answered_by_type("En 2019, il a organisé une collecte de fonds.")
    assert profile.answered_by_type("Elle a rapporté 3 millions de dollars.")
    assert QuestionProfile.of("Combien de modèles ?").answered_by_type("Deux nouveaux modèles.")


def test_a_year_needs_a_year_not_just_a_day() -> None:
    profile = QuestionProfile.of("In what year did Elon Musk leave OpenAI's board?")
    assert not profile.answered_by_type("À la Maison-Blanche, mardi 21 janvier.")
    assert profile.answered_by_type("Il a quitté le conseil en 2018.")
    assert QuestionProfile.of("When did he leave?").answered_by_type("Mardi 21 janvier.")


def test_names_are_found_translated_and_missing_ones_are_named(embedder: Embedder) -> None:
    passages = "Il a soutenu le candidat démocrate Andrew Yang en juin, à la Maison Blanche."
    bridge = VocabularyBridge([passages], embedder, 0.75, {})
    question = "Which Democratic candidate did he back in June at the White House, says Barlow?"
    words = surface_words(question)
    check = EvidenceCheck(
        QuestionProfile.of(question),
        dict(zip(words, embedder.embed_query(words), strict=True)),
        bridge.vocabulary,
        0.75,
    )
    assert check.missing_names(passages) == ["barlow"]
    assert check.coverage(passages) > check.coverage("La recette de la tarte Tatin.")


def test_bridge_carries_english_words_to_the_corpus_vocabulary(embedder: Embedder) -> None:
    bridge = VocabularyBridge(["Elon Musk a fait une offre de 97 milliards."], embedder, 0.75, {})
    foreign = bridge.foreign_words("How much did Musk offer?")
    assert foreign == ["offer"]
    expanded = bridge.expand("How much did Musk offer?", foreign, embedder.embed_query(foreign))
    assert expanded == "How much did Musk offer? offre"
