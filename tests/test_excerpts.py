from __future__ import annotations

import pytest

from app.services.answering.excerpts import excerpt
from app.services.answering.extractive import quotable
from tests.test_evidence import _check
from vectorstore import Embedder, Sentence

# F16's kind: a line of keywords without sentence punctuation whose last words state a fact.
CODES = ", ".join(f"{town}-{i}" for i, town in enumerate(["Valbrune", "Corvenne", "Lunel"] * 8))
KEYWORDS = f"Mots-clés : {CODES} et enfin le péage du pont de Kerlouan coûte 3 euros"
# A price table flattened onto one line.
TABLE = (
    "Tarifs de la piscine de Sarvieux : entrée adulte 5 euros, entrée enfant 3 euros, "
    "abonnement annuel 120 euros, cours de natation 12 euros la séance, location de serviette "
    "2 euros, casier 1 euro, bonnet obligatoire en vente à l'accueil"
)


def piece(text: str, start: int = 1000) -> Sentence:
    return Sentence("doc:c0:7", "doc", "doc:c0", text, start, start + len(text))


@pytest.mark.parametrize(
    "question",
    ["Combien coûte le péage du pont de Kerlouan ?", "How much is the Kerlouan bridge toll?"],
)
def test_the_clause_that_answers_is_taken_out_of_a_line_of_keywords(
    question: str, embedder: Embedder
) -> None:
    narrowed = excerpt(piece(KEYWORDS), _check(question, KEYWORDS, embedder))
    assert narrowed.text == "enfin le péage du pont de Kerlouan coûte 3 euros"
    assert KEYWORDS[narrowed.start - 1000 : narrowed.end - 1000] == narrowed.text
    assert (narrowed.doc_id, narrowed.chunk_id) == ("doc", "doc:c0")
    assert narrowed.id == f"doc:c0:7@{narrowed.start - 1000}-{narrowed.end - 1000}"


def test_a_table_row_keeps_the_clause_that_names_what_it_prices(embedder: Embedder) -> None:
    question = "Combien coûte l'abonnement annuel de la piscine de Sarvieux ?"
    narrowed = excerpt(piece(TABLE), _check(question, TABLE, embedder))
    assert narrowed.text == (
        "Tarifs de la piscine de Sarvieux : entrée adulte 5 euros, entrée enfant 3 euros, "
        "abonnement annuel 120 euros"
    )


def test_a_sentence_and_a_short_piece_are_quoted_whole(embedder: Embedder) -> None:
    question = "Combien coûte le péage du pont de Kerlouan ?"
    sentence = f"{KEYWORDS}."  # it ends as a sentence does
    assert excerpt(piece(sentence), _check(question, sentence, embedder)).text == sentence
    short = "Pont de Kerlouan, travaux, déviation, et enfin le péage coûte 3 euros"
    assert excerpt(piece(short), _check(question, short, embedder)).text == short


def test_nothing_is_cut_when_no_shorter_run_answers(embedder: Embedder) -> None:
    question = "Combien coûte le péage du pont de Kerlouan ?"
    spread = f"Le péage, {CODES}, du pont de Kerlouan coûte 3 euros"
    assert excerpt(piece(spread), _check(question, spread, embedder)).text == spread


@pytest.mark.parametrize(
    ("sentence", "quoted"),
    [
        (
            "👏 Les organisateurs ont lâché 4 200 lanternes [2].",
            "Les organisateurs ont lâché 4 200 lanternes.",
        ),
        ("🎉 Le festival a attiré 86 000 visiteurs 🏮✨", "Le festival a attiré 86 000 visiteurs"),
        (
            "👨‍👩‍👧 Les familles ont afflué, 👍🏽 selon la mairie.",
            "Les familles ont afflué, 👍🏽 selon la mairie.",
        ),
        (
            "Il faisait 3 °C, et le billet coûtait 2 €.",
            "Il faisait 3 °C, et le billet coûtait 2 €.",
        ),
        ("Le rapport [2024] le dit [12].", "Le rapport [2024] le dit."),
    ],
)
def test_a_quotation_leaves_out_the_pictographs_around_the_sentence(
    sentence: str, quoted: str
) -> None:
    """F23's sentences open with an emoji, a post's decoration, and end with the article's
    own footnote call. An emoji inside the sentence, signs that are words (°, €) and a year in
    brackets stay."""
    assert quotable(sentence) == quoted
