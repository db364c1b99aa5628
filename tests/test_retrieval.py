from __future__ import annotations

import numpy as np

from app.services.bm25 import BM25Index
from app.services.language import detect_language
from app.services.retriever import QueryVectors
from vectorstore import Embedder
from vectorstore.tokens import tokenize


def test_tokens_fold_accents_split_elisions_and_plurals() -> None:
    assert tokenize("L’offre d'Élon aux États-Unis : 97 milliards") == [
        "offre",
        "elon",
        "etat",
        "unis",
        "97",
        "milliard",
    ]


def test_bm25_ranks_the_document_with_the_rare_term_first() -> None:
    index = BM25Index(
        ["Musk et Altman se disputent.", "Stargate coûte 500 milliards.", "Musk parle de Stargate."]
    )
    assert [i for i, _ in index.top("le projet Stargate de SoftBank", 3)] in ([1, 2], [2, 1])
    assert index.top("tarte Tatin", 3) == []
    scores = index.scores("Musk Stargate")
    assert scores[2] > scores[0] and scores[2] > scores[1]


def test_language_of_questions() -> None:
    assert detect_language("Combien Elon Musk a-t-il proposé ?") == "fr"
    assert detect_language("Qui dirige SoftBank ?") == "fr"
    assert detect_language("Who runs SoftBank?") == "en"
    assert detect_language("How much did Musk offer for OpenAI?") == "en"
    assert detect_language("What did Altman say about Stargate?") == "en"


def test_a_name_keeps_its_accents_in_english() -> None:
    # Accented names counted as French spelling outweighed the English words around them.
    assert detect_language("Who organises the Quimperlé Lantern Festival?") == "en"
    assert detect_language("What did Élodie Ménard say?") == "en"
    assert detect_language("Which list won in Castelmoron-d’Albret?") == "en"
    assert detect_language("What did the Conseil d'État decide?") == "en"
    assert detect_language("The Quimperlé festival attracted 86 000 visitors.") == "en"
    # French spelled in lower-case words still counts, at a sentence's start too.
    assert detect_language("Où Elon Musk a-t-il dormi chez Donald Trump ?") == "fr"
    assert detect_language("Qui organise le festival de Quimperlé ?") == "fr"
    assert detect_language("Élodie Ménard a été élue.") == "fr"
    assert detect_language("À quelle date Sébastien Lecornu est-il arrivé ?") == "fr"


def test_a_query_asked_again_is_not_embedded_again(embedder: Embedder) -> None:
    calls: list[list[str]] = []

    class Counting:
        def embed_query(self, texts: list[str]) -> np.ndarray:
            calls.append(list(texts))
            return embedder.embed_query(texts)

    vectors = QueryVectors(Counting(), size=2)  # type: ignore[arg-type]
    first = vectors(["offre de Musk", "offer"])
    again = vectors(["offre de Musk", "offer"])
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first, embedder.embed_query(["offre de Musk", "offer"]), atol=1e-6)
    assert calls == [["offre de Musk", "offer"]]
    vectors(["Stargate"])  # the oldest ("offre de Musk") goes
    vectors(["offre de Musk"])
    assert calls[1:] == [["Stargate"], ["offre de Musk"]]
