"""The default backend: answers by quoting the sentences of the articles that best answer.

Each retrieved chunk's sentences (embedded once, at ingest) are scored against the question by
cosine similarity, by how much of the question's vocabulary they cover, and by whether they hold
the kind of thing asked for (a number for "combien" / "how much", a date for "quand" / "when").
The best ones are quoted, each with its marker. The service abstains when the evidence does not
answer (`evidence.py`): a name the passages never mention, no sentence holding the kind of answer
asked for, or a best sentence that is too weak or covers too little of the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.services.answering.evidence import EvidenceCheck, QuestionProfile
from app.services.answering.generator import Answer, Citation
from app.services.language import Language
from app.services.retriever import HybridRetriever, Retrieval
from app.services.tokens import fold, tokenize
from config import Settings
from prompts import load_prompt
from vectorstore import Sentence

_ASKS_QUANTITY = re.compile(
    r"\b(?:combien|quel montant|quelle somme|how (?:much|many)|what amount)\b"
)
_ASKS_DATE = re.compile(r"\b(?:quand|en quelle annee|quelle date|when|what year|what date)\b")
_HAS_NUMBER = re.compile(r"\d")
_HAS_DATE = re.compile(
    r"\b(?:1[89]|20)\d\d\b|\b(?:janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre"
    r"|octobre|novembre|decembre|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\b"
)

COVERAGE_WEIGHT = 0.35
TYPE_BONUS = 0.05


@dataclass(frozen=True)
class Scored:
    sentence: Sentence
    chunk_rank: int
    score: float


class ExtractiveGenerator:
    """Quotes the best evidence sentences with markers; needs no model."""

    name = "extractive"

    def __init__(self, retriever: HybridRetriever, settings: Settings) -> None:
        self.retriever = retriever
        self.settings = settings

    def answer(self, question: str, language: Language, retrieval: Retrieval) -> Answer:
        evidence = self.answering_sentences(question, retrieval)
        if not evidence:
            return Answer(load_prompt("extractive", language)["abstain"], language, True, self.name)
        chosen = self._choose(evidence)
        chunks = {hit.chunk.id: hit.chunk for hit in retrieval.hits}
        citations = [
            Citation(i, s.sentence, chunks[s.sentence.chunk_id], round(s.score, 4))
            for i, s in enumerate(chosen, start=1)
        ]
        return Answer(self._render(citations, language), language, False, self.name, citations)

    def answering_sentences(self, question: str, retrieval: Retrieval) -> list[Scored]:
        """The sentences that answer the question, best first; empty when none does."""
        profile = QuestionProfile.of(question)
        check = EvidenceCheck(
            profile,
            retrieval.word_vectors,
            self.retriever.snapshot.bridge.vocabulary,
            self.settings.bridge_threshold,
        )
        typed = [
            s
            for s in self.score_sentences(question, retrieval)
            if profile.answered_by_type(s.sentence.text)
        ]
        if not typed or typed[0].score < self.settings.abstain_threshold:
            return []
        if check.missing_names(" ".join(hit.chunk.text for hit in retrieval.hits)):
            return []
        if check.coverage(typed[0].sentence.text) < self.settings.coverage_threshold:
            return []
        return typed

    def score_sentences(self, question: str, retrieval: Retrieval) -> list[Scored]:
        """Every distinct sentence of the retrieved chunks, best evidence first."""
        ranks = {hit.chunk.id: rank for rank, hit in enumerate(retrieval.hits)}
        sentences, vectors = self.retriever.store.sentences_of(list(ranks))
        if not sentences:
            return []
        dense = vectors @ retrieval.query_vector
        weights = self._term_weights(question)
        folded_q = fold(question)
        wants_number = bool(_ASKS_QUANTITY.search(folded_q))
        wants_date = bool(_ASKS_DATE.search(folded_q))
        best: dict[tuple[str, int, int], Scored] = {}
        for sentence, cosine in zip(sentences, dense, strict=True):
            score = float(cosine) + COVERAGE_WEIGHT * _coverage(weights, sentence.text)
            folded_s = fold(sentence.text)
            if (wants_number and _HAS_NUMBER.search(folded_s)) or (
                wants_date and _HAS_DATE.search(folded_s)
            ):
                score += TYPE_BONUS
            key = (sentence.doc_id, sentence.start, sentence.end)
            rank = ranks[sentence.chunk_id]
            if key not in best or rank < best[key].chunk_rank:
                best[key] = Scored(sentence, rank, score)
        return sorted(best.values(), key=lambda s: (-s.score, s.chunk_rank))

    def _term_weights(self, question: str) -> dict[str, float]:
        """The question's words known to the corpus, weighted by their rarity (BM25 idf)."""
        idf = self.retriever.snapshot.bm25.idf
        return {t: idf[t] for t in set(tokenize(question)) if t in idf}

    def _choose(self, scored: list[Scored]) -> list[Scored]:
        """The best sentence, and the next ones that come close to it."""
        floor = max(self.settings.abstain_threshold, scored[0].score * 0.85)
        chosen = [s for s in scored if s.score >= floor][: self.settings.max_answer_sentences]
        return sorted(chosen, key=lambda s: (s.chunk_rank, s.sentence.start))

    @staticmethod
    def _render(citations: list[Citation], language: Language) -> str:
        prompt = load_prompt("extractive", language)
        quotes = " ".join(
            prompt["quote"].format(sentence=c.sentence.text.strip(), marker=c.marker)
            for c in citations
        )
        return f"{prompt['lead_in']} {quotes}"


def _coverage(weights: dict[str, float], text: str) -> float:
    """Share of the question's (idf-weighted) known words that the sentence contains."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    present = set(tokenize(text))
    return sum(w for t, w in weights.items() if t in present) / total
