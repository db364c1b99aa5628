"""The default backend: answers by quoting the sentences of the articles that best answer.

Each retrieved chunk's sentences (embedded once, at ingest) are scored against the question by
cosine similarity, by how much of the question's words they cover (in either language, through
word vectors), and by whether they hold the kind of thing asked for (a number for "combien" /
"how much", a date for "quand" / "when").
The best ones are quoted, each with its marker. The service abstains when the evidence does not
answer (`evidence.py`): a name or figure of the question that a quoted article never mentions,
no sentence holding the kind of answer asked for (which, for "how many X", speaks of X), or a
best sentence that is too weak or covers too little of the question.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.services.answering.antecedents import overlaps, with_antecedents
from app.services.answering.evidence import EvidenceCheck, QuestionProfile, question_parts
from app.services.answering.excerpts import excerpt
from app.services.answering.generator import Answer, Citation, ModelState
from app.services.answering.injection import addresses_an_assistant
from app.services.followup import Turn, self_contained
from app.services.language import Language
from app.services.retriever import Retrieval
from config import Settings
from prompts import load_prompt
from vectorstore import Chunk, Sentence

COVERAGE_WEIGHT = 0.5
TYPE_BONUS = 0.05
CLOSE_TO_BEST = 0.85  # a further sentence is quoted when it scores this share of the best
# A question's word a sentence leaves out is matched by its article's title at this share;
# by the sentence that introduces its list in full, for a list's item (`lead_ins`).
TITLE_SHARE = 0.8
# A list's item opens with a dash or a bullet, after the sentence that introduces the list
# ends with a colon ("Sam Altman a un parcours politique en évolution :").
_LIST_ITEM = re.compile(r"\s*[-–—•*·]\s")


@dataclass(frozen=True)
class Scored:
    sentence: Sentence
    chunk_rank: int
    score: float
    coverage: float
    typed: bool


class ExtractiveGenerator:
    """Quotes the best evidence sentences with markers; needs no model."""

    name = "extractive"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def model_state(self) -> ModelState:
        """Always "none": the extractive backend runs no model."""
        return "none"

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        return self_contained(question, history)

    def stream(
        self, question: str, language: Language, retrieval: Retrieval
    ) -> Iterator[str | Answer]:
        """The whole answer as one piece, then the answer: one code path for all clients."""
        answer = self.answer(question, language, retrieval)
        yield answer.text
        yield answer

    def answer(self, question: str, language: Language, retrieval: Retrieval) -> Answer:
        return self.compose(self.answering_sentences(question, retrieval), language, retrieval)

    def compose(
        self, evidence: list[Scored], language: Language, retrieval: Retrieval, **extra: Any
    ) -> Answer:
        """The quoted answer for the evidence found, or the abstention when there is none.

        `extra` sets the other Answer fields: a fallback's notice, or the backend that declined.
        """
        if not evidence:
            abstain = load_prompt("extractive", language)["abstain"]
            return Answer(abstain, language, True, **{"backend": self.name, **extra})
        chunks = {hit.chunk.id: hit.chunk for hit in retrieval.hits}
        citations = [
            Citation(i, s.sentence, chunks[s.sentence.chunk_id], round(s.score, 4))
            for i, s in enumerate(self._choose(evidence), start=1)
        ]
        text = self.render(citations, language)
        return Answer(text, language, False, citations=citations, **{"backend": self.name, **extra})

    def evidence_check(self, question: str, retrieval: Retrieval) -> EvidenceCheck:
        return EvidenceCheck(
            QuestionProfile.of(question),
            retrieval.word_vectors,
            retrieval.corpus.bridge.vocabulary,
            self.settings.bridge_threshold,
        )

    def answering_sentences(
        self, question: str, retrieval: Retrieval, check: EvidenceCheck | None = None
    ) -> list[Scored]:
        """The sentences that answer the question, best first; empty when none does.
        `check` is the question's EvidenceCheck if the caller already built it.

        Each sentence's article must mention every name and figure the question is set in
        (`EvidenceCheck.missing_in_article`), checked article by article and not over all
        those quoted together: "Qu'a répondu Volodymyr Zelensky à Elon Musk ?" is not answered
        by Sam Altman's reply to Musk because another retrieved article names Zelensky."""
        check = check or self.evidence_check(question, retrieval)
        if not check.profile.words and not check.profile.names:
            return []  # "???" asks about nothing the articles could answer
        typed = [s for s in self.score_sentences(check, retrieval) if s.typed]
        if not typed or typed[0].score < self.settings.abstain_threshold:
            return []
        if typed[0].coverage < self.settings.coverage_threshold:
            return []
        if check.missing_names([hit.chunk.text for hit in retrieval.hits]):
            return []
        if not check.profile.names and not check.profile.figures:
            return typed
        articles = {  # each article read once, for both checks below
            doc: " ".join(retrieval.corpus.document_texts({doc}))
            for doc in {s.sentence.doc_id for s in typed}
        }
        if check.profile.names:
            chosen = {s.sentence.doc_id for s in self._choose(typed)}
            if check.missing_names([articles[doc] for doc in chosen]):
                return []
        if len(question_parts(question)) > 1:
            return typed  # a compound question's names are its parts': each part checks its own
        set_in = {doc: not check.missing_in_article(text) for doc, text in articles.items()}
        return [s for s in typed if set_in[s.sentence.doc_id]]

    def score_sentences(self, check: EvidenceCheck, retrieval: Retrieval) -> list[Scored]:
        """Every distinct sentence of the retrieved chunks, best evidence first; one that
        refers back is scored joined to the sentence before it (`antecedents.py`), a long
        piece of text without sentence punctuation as the clauses of it that answer
        (`excerpts.py`).

        A question's word that the sentence does not match counts as matched by its article's
        title, at TITLE_SHARE of the title's match: an article's later sentences leave out
        what it is about. Asked "What discount do students get on Bellerive's tram?", "Les
        étudiants bénéficieront d'une réduction de moitié." names neither the tram nor
        Bellerive, which its title does, and it ranked fifth, under sentences giving the
        tram's fares; the answer quoted the monthly pass's 40 euros. At the full share, the
        sentences of an article whose title holds the question's names rose over the one
        answering (q016, q058, q061 lost their fact over the first set, extractive); at 0.8
        and 0.6, no answer of either set lost one (README, "Evaluation", change 24)."""
        ranks = {hit.chunk.id: rank for rank, hit in enumerate(retrieval.hits)}
        sentences, vectors = retrieval.corpus.sentences_of(list(ranks))
        if not sentences:
            return []
        chunks = {hit.chunk.id: hit.chunk for hit in retrieval.hits}
        led_by = lead_ins(sentences, chunks)  # before the joins: an item may open with "Il"
        sentences, vectors = with_antecedents(sentences, vectors, chunks)
        best: dict[tuple[str, int, int], Scored] = {}
        titles = {chunk.doc_id: chunk.doc.title for chunk in chunks.values()}
        titled = {doc: TITLE_SHARE * check.word_matches(title) for doc, title in titles.items()}
        led = {key: check.word_matches(lead) for key, lead in led_by.items()}
        for sentence, cosine in zip(sentences, vectors @ retrieval.query_vector, strict=True):
            if (
                not sentence.whole
                or addresses_an_assistant(sentence.text)
                or asks_a_question(sentence.text)
            ):
                continue  # a piece cut at a chunk boundary, an order to AI assistants, a question
            key = (sentence.doc_id, sentence.start, sentence.end)
            rank = ranks[sentence.chunk_id]
            if key in best and best[key].chunk_rank <= rank:
                continue
            context = titled[sentence.doc_id]
            if (sentence.doc_id, sentence.end) in led:
                context = np.maximum(context, led[sentence.doc_id, sentence.end])
            sentence = excerpt(sentence, check)  # a run of clauses: those that answer
            coverage = check.weighted(np.maximum(check.word_matches(sentence.text), context))
            typed = check.could_answer(sentence.text)
            score = float(cosine) + COVERAGE_WEIGHT * coverage
            score += TYPE_BONUS if typed and check.profile.wants else 0.0
            best[key] = Scored(sentence, rank, score, coverage, typed)
        return sorted(best.values(), key=lambda s: (-s.score, s.chunk_rank))

    def _choose(self, scored: list[Scored]) -> list[Scored]:
        """The best sentence, and the next ones that come close to it, in reading order; none
        that repeats a span already chosen (a sentence and the pair holding it). `scored` may
        come in any order: the reader's evidence comes in its own (`reading_order`), and its
        fallback is this extractive answer."""
        by_score = sorted(scored, key=lambda s: -s.score)
        floor = max(self.settings.abstain_threshold, by_score[0].score * CLOSE_TO_BEST)
        chosen: list[Scored] = []
        for s in by_score:
            if s.score < floor or len(chosen) == self.settings.max_answer_sentences:
                break
            if not any(overlaps(s.sentence, c.sentence) for c in chosen):
                chosen.append(s)
        return sorted(chosen, key=lambda s: (s.chunk_rank, s.sentence.start))

    @staticmethod
    def render(citations: list[Citation], language: Language) -> str:
        """The cited sentences quoted with their markers, framed in the question's language."""
        quotes = " ".join(ExtractiveGenerator.quote(c, language) for c in citations)
        return f"{load_prompt('extractive', language)['lead_in']} {quotes}"

    @staticmethod
    def quote(citation: Citation, language: Language) -> str:
        """One cited sentence quoted with its marker ("« ... » [2]"), as `quotable` gives it;
        one that starts in lower case, a clause taken out of a longer piece (`excerpts.py`),
        after an ellipsis ("« … le péage ... »")."""
        sentence = quotable(citation.sentence.text)
        if sentence[:1].islower():
            sentence = f"… {sentence}"
        return load_prompt("extractive", language)["quote"].format(
            sentence=sentence, marker=citation.marker
        )


def lead_ins(
    sentences: Sequence[Sentence], chunks: Mapping[str, Chunk]
) -> dict[tuple[str, int], str]:
    """For each item of a list (a sentence opening with a dash or a bullet), the sentence of
    its chunk that introduces the list: the last one ending with a colon before it, with no
    line between them that is neither an item nor part of one. Keyed by the item's (doc_id,
    end), so that a span ending with the item (`antecedents.py`) finds it too; items with
    no such sentence in their chunk are left out. `sentences` as stored, not joined;
    `chunks` by id, for where lines start (a sentence whose chunk is missing starts one).

    Why: an item names what it is about only in its lead-in. « Il faut néanmoins souligner
    que Sam Altman a un parcours politique en évolution : - En 2019, il a organisé une
    collecte de fonds ... - En mai 2020, il a fait un don de 250 000 dollars à une
    organisation (American Bridge 21st Century) qui soutenait le candidat Joe Biden. » Asked
    « Combien Sam Altman a-t-il donné pour soutenir Joe Biden ? », the item matched under
    half the question's words (it says "il"), and the service abstained. A question's word
    an item leaves out is matched by its lead-in as by the item itself: the item goes on the
    lead-in's sentence (its subject, "il", is the lead-in's "Sam Altman"), where an article's
    title, matched at TITLE_SHARE, only says what the article is about."""
    found = {}
    lead = ""
    previous_chunk = None
    for sentence in sorted(sentences, key=lambda s: (s.chunk_id, s.start)):
        if sentence.chunk_id != previous_chunk:
            lead, previous_chunk = "", sentence.chunk_id
        if _LIST_ITEM.match(sentence.text):
            if lead:
                found[(sentence.doc_id, sentence.end)] = lead
        elif sentence.text.rstrip().endswith(":"):
            lead = sentence.text
        elif _starts_a_line(sentence, chunks.get(sentence.chunk_id)):
            lead = ""  # a paragraph after the list; an item's second sentence keeps it
    return found


def _starts_a_line(sentence: Sentence, chunk: Chunk | None) -> bool:
    """Whether only spaces stand between the sentence and the line break before it (or the
    start of its chunk) in its chunk's text."""
    if chunk is None:
        return True
    before = chunk.text[: max(0, sentence.start - chunk.start)]
    return not before.strip(" \t") or before.rstrip(" \t").endswith("\n")


def asks_a_question(text: str) -> bool:
    """Whether the sentence is a question ("Un soutien financier surprenant ?", "Et si l'IA
    devenait l'alliée des gouvernements ?"): it asks, so it states no fact that could answer."""
    return text.rstrip(" \t\n»”\"')").endswith("?")


def quotable(text: str) -> str:
    """A sentence as an answer quotes it: without the pictographs that open or close it
    ("👏 Les organisateurs ont lâché 4 200 lanternes ..." reads "Les organisateurs ...": a
    post's decoration, not the article's words) and without its own footnote calls ("selon
    la mairie [1]."): they point to notes the answer does not show, and would read as its
    citation markers. The citation keeps the sentence as it stands, for its offsets."""
    start, end = 0, len(text)
    while start < end and _decoration(text[start]):
        start += 1
    while end > start and _decoration(text[end - 1]):
        end -= 1
    return _FOOTNOTE_CALL.sub("", text[start:end])


def _decoration(char: str) -> bool:
    """A space, or a pictograph's part: a symbol (So: emoji, ©), a modifier (Sk: skin tones),
    a joiner (Cf) or a variation selector."""
    return (
        char.isspace() or unicodedata.category(char) in ("So", "Sk", "Cf") or char in "\ufe0e\ufe0f"
    )


# An article's own footnote call, "[2]", and the space before it (a year in brackets stays).
_FOOTNOTE_CALL = re.compile(r"\s*\[\d{1,3}\]")
