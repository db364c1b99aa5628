"""Answers written by a model that reads: it chooses among candidate sentences, writes, and checks.

1. Candidates (`candidates.py`): the sentences the extractive checks find could answer, the best
   three (two for each part of a compound question, four at most), never one addressed to AI
   assistants. When there is none, the service abstains
   without asking the model.
2. Write (`prompts/answer_<lang>.toml`, with worked examples): the model sees the candidates
   numbered and answers in the question's language with `[n]` after each sentence, or says the
   articles do not say, in its rules' words or its own (`declines`; step 4 then quotes a
   candidate or abstains, showing none of the model's text). Its text streams to the client
   as it comes.
3. Verify (`verify.py`): each written sentence must be supported by the candidates it cites (or
   is pinned to the one that supports it): their numbers and names, what it adds to the
   question, their meaning, and the model's own Yes when asked; a bare name is the one the
   cited sentence gives the role asked (`roles.py`).
4. Answerability (`prompts/answerability.toml`): the model is asked, of each sentence the
   verified answer cites, whether it answers the question (Yes/No odds, nothing generated).
   When none does, the answer speaks of something else (a donation for a salary) and is
   declined. When the model declined, or its answer is declined so, the candidate it judges
   answers clearly is quoted (`_rescued`); if none, the service abstains. When the cited
   sentence is judged to answer, but doubtfully, a candidate judged to answer clearly is
   quoted instead (`DOUBTED`). A compound question's part that the answer leaves unanswered
   (none of the part's own candidates cited) gets its candidate judged to answer that part
   quoted after it (`PART_ANSWERED`).
5. Final text (`final_text`; the model's own words lost facts): a French question gets the
   sentences the model cited quoted; an English one gets them translated by the model
   (`prompts/translate_en.toml`), each translation verified against its sentence (its
   numbers, names and meaning; the model's own check never refused one), a short
   quotation followed by its own words (`with_original_quotations`), or the model's
   verified English sentences if one fails.
6. Fall back: when the model fails, is busy past `LLM_QUEUE_SECONDS`, or nothing it wrote
   survives, the extractive answer is given, flagged `fallback` with the reason (or the
   abstention, when the extractive checks find no answer either). To an English question, that
   answer's French sentences are translated the same way; if one fails, they are quoted in
   French.

One model serves one question at a time (`model_queue.py`); a question holds it from writing to
the end of the checks. At temperature 0 nothing is asked of it twice (`memo.py`): a question
asked again over the same chunks gets its answer without a turn, and a prompt seen before (a
sentence translated or judged for an earlier question) its reply without the model.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from app.services.answering.antecedents import overlaps
from app.services.answering.candidates import (
    choose_candidates,
    compound_evidence,
    reading_order,
    within_budget,
)
from app.services.answering.chat import ChatModel, Messages, ModelUnavailable, few_shot
from app.services.answering.evidence import EvidenceCheck
from app.services.answering.extractive import ExtractiveGenerator, Scored, quotable
from app.services.answering.generator import Answer, Citation, ModelState
from app.services.answering.memo import ANSWER_ENTRIES
from app.services.answering.model_queue import ModelQueue, QueueFull
from app.services.answering.relative_dates import restore_relative_dates
from app.services.answering.support import (
    MARKERS,
    copies_a_phrase,
    keeps_facts,
    split_claims,
    states_its_numbers,
)
from app.services.answering.verify import (
    BARE_ANSWER_WORDS,
    Evidence,
    Verified,
    check_messages,
    model_checker,
    verify,
)
from app.services.followup import Turn, self_contained
from app.services.language import Language, detect_language
from app.services.remembered import Remembered
from app.services.retriever import Retrieval
from ingest.chunking import sentence_spans
from prompts import load_examples, load_prompt
from vectorstore import Chunk, Embedder
from vectorstore.tokens import fold, tokenize

log = logging.getLogger("app.reader")
NOTHING_SUPPORTED = "nothing the model wrote was supported by the passages"
JUDGED = "the model judged this sentence answers the question, and it is quoted"
# The model's odds of Yes, asked whether a sentence answers the question (answerability:
# `prompts/answerability.toml`). Under OFF_QUESTION for every sentence an answer cites, the
# answer speaks of something else and is declined; from RESCUE on, a candidate the writer
# declined over is quoted. On the two question sets (README, "Evaluation", change 6), the
# sentences holding an answerable question's fact scored 0.38-0.99, those cited for the salary
# nobody states 0.22-0.29; the candidates the writer wrongly declined over 0.94 and 0.98,
# while an unanswerable question's best was 0.89.
OFF_QUESTION = 1 / 3  # cited sentences are judged in order, until one reaches it
RESCUE = 0.9
# Under DOUBTED for the best cited sentence, the other candidates are judged too, and one at
# RESCUE or more is quoted instead: on both sets (README, "Evaluation", change 8), the cited
# sentences holding the fact that scored under it (0.35, 0.58) had no other candidate over
# 0.38, while q031's cited 0.48 beside the fact's sentence at 0.94.
DOUBTED = 0.6
# A part of a compound question that the written answer leaves unanswered is answered by its
# own candidate judged at PART_ANSWERED or more (`_every_part_answered`). Over the compound
# questions of both sets, the parts' sentences holding the fact scored 0.78-0.97, the best
# of those that do not 0.65 and 0.69 (README, "The reader").
PART_ANSWERED = 0.75
PART_QUOTED = (
    "a part of the question the model left unanswered is answered by a sentence it judged "
    "answers that part, quoted"
)
TRANSLATED = "; the quoted sentences are translated"
_TRANSLATION_TOKENS = 160  # a long French sentence runs to about 90 tokens in English
_REWRITE_MAX_RATIO = 4
_REWRITE_TOKENS = 60
# After a failure the model is left alone this long, so that one request (a rewrite, then an
# answer) or a burst of them does not wait out the same dead server again and again.
COOL_DOWN_SECONDS = 10.0


class GenerativeGenerator:
    """A model's answers, verified; the extractive backend when it cannot be trusted.

    `queue` serialises the model's use (one process, one model); None builds one that lets a
    question wait up to 20 s. With `remember` (a model at temperature 0, whose answer to the
    same question over the same chunks does not change), the last ANSWER_ENTRIES answers of
    the model's turns are kept and given again at once (`memo.py`); never the fallbacks of a
    busy or failed model.
    """

    def __init__(
        self,
        chat: ChatModel,
        embedder: Embedder,
        extractive: ExtractiveGenerator,
        queue: ModelQueue | None = None,
        remember: bool = True,
    ) -> None:
        self.chat = chat
        self.name = chat.name
        self.embedder = embedder
        self.extractive = extractive
        self.queue = queue or ModelQueue(20.0)
        self._answers: Remembered[tuple[str, str, tuple[str, ...]], Answer] = Remembered(
            ANSWER_ENTRIES if remember else 0
        )
        self._check = model_checker(chat)
        self._resting_until = 0.0
        self._last_failure = ""
        self._warming = False
        self._closed = False

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """The model's turn for a request; ModelUnavailable while the model rests after a
        failure, or when the service closed it while the request waited; QueueFull past the
        queue's limit."""
        if time.monotonic() < self._resting_until:
            raise ModelUnavailable(self._last_failure)
        with self.queue.turn():
            if self._closed:
                raise ModelUnavailable("the service is shutting down")
            yield

    def _failed(self, exc: ModelUnavailable) -> None:
        self._resting_until = time.monotonic() + COOL_DOWN_SECONDS
        self._last_failure = exc.message

    def model_state(self) -> ModelState:
        """warming during `warm`, resting for COOL_DOWN_SECONDS after a failure, else ready."""
        if self._warming:
            return "warming"
        return "resting" if time.monotonic() < self._resting_until else "ready"

    def warm_in_background(self) -> threading.Thread:
        """Start `warm` in a thread; `model_state` says "warming" from now until it is done."""
        self._warming = hasattr(self.chat, "warm")
        thread = threading.Thread(target=self.warm, name="model-warm-up", daemon=True)
        thread.start()
        return thread

    def warm(self) -> None:
        """Have a model in this process evaluate each job's rules and examples once, before the
        first question: about 39 s for the five jobs on two cores here the first time, 0.1 s
        once they are kept on disk (`prefix_store.py`). A turn per job, so that a question asked
        meanwhile waits for one job's rules at most, then evaluates the ones it needs itself."""
        warm = getattr(self.chat, "warm", None)
        if warm is None:
            return
        self._warming = True
        started = time.monotonic()
        try:
            jobs = [writer_messages("?", language, [("?", "?")]) for language in ("fr", "en")]
            jobs += [check_messages("?", ["?"]), answerability_messages("?", "?")]
            jobs.append(translator_messages("?"))
            for messages, fixed in jobs:
                with self.queue.turn(math.inf, timed=False):
                    if self._closed:
                        return
                    warm(messages, fixed)
            took = time.monotonic() - started
            log.info("the model is warm (%.1f s, turns of questions included)", took)
        except ModelUnavailable as exc:
            log.warning("the model could not be warmed up: %s", exc.message)
            self._failed(exc)
        finally:
            self._warming = False

    def close(self) -> None:
        """Release the model once the question holding it (or the warm-up) is done."""
        with self.queue.turn(math.inf):
            self._closed = True
            self.chat.close()

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """The model's self-contained version of a follow-up; the simple rule if it fails."""
        if not history:
            return question
        prompt = load_prompt("condense", detect_language(question))
        lines = "\n".join(f"{t.role}: {' '.join(t.content.split())}" for t in history[-6:])
        messages = [
            {"role": "system", "content": prompt["system"]},
            {"role": "user", "content": prompt["user"].format(history=lines, question=question)},
        ]
        try:
            with self._turn():
                written = "".join(self.chat.stream(messages, 1, _REWRITE_TOKENS))
        except ModelUnavailable as exc:
            self._failed(exc)
            return self_contained(question, history)
        except QueueFull:
            return self_contained(question, history)
        rewritten = written.strip().split("\n")[0].strip()
        plausible = (
            set(tokenize(question)) & set(tokenize(rewritten))
            and len(rewritten) <= _REWRITE_MAX_RATIO * len(question) + 200
        )
        standalone = rewritten if plausible else self_contained(question, history)
        log.info("follow-up %r searched as %r (the model wrote %r)", question, standalone, written)
        return standalone

    def answer(self, question: str, language: Language, retrieval: Retrieval) -> Answer:
        final = [e for e in self.stream(question, language, retrieval) if isinstance(e, Answer)]
        return final[-1]

    def stream(
        self, question: str, language: Language, retrieval: Retrieval
    ) -> Iterator[str | Answer]:
        asked = (" ".join(question.split()), language, tuple(h.chunk.id for h in retrieval.hits))
        known = self._answers.get(asked)
        if known is not None:  # asked before over the same chunks: no turn, no model
            yield known
            return
        check = self.extractive.evidence_check(question, retrieval)
        evidence, shown, parts = compound_evidence(
            question,
            lambda text: self.extractive.answering_sentences(
                text, retrieval, check if text == question else None
            ),
        )
        candidates = choose_candidates(evidence, shown)
        if not candidates and not parts:
            candidates = self._thing_unmatched(question, language, retrieval, check)
        if not candidates:
            yield self.extractive.compose([], language, retrieval, backend=self.name)
            return
        try:
            with self._turn():
                reading = self._read(
                    question, language, retrieval, evidence, candidates, check, parts
                )
                for event in reading:
                    if isinstance(event, Answer):
                        self._answers.put(asked, event)
                    yield event
        except (ModelUnavailable, QueueFull) as exc:
            if isinstance(exc, ModelUnavailable):
                self._failed(exc)
            yield self.extractive.compose(
                evidence, language, retrieval, fallback=True, notice=exc.message
            )

    def _thing_unmatched(
        self, question: str, language: Language, retrieval: Retrieval, check: EvidenceCheck
    ) -> list[Scored]:
        """Up to CANDIDATES sentences, in another language than the question, that would
        answer it but for the check that they speak of the thing it counts or prices
        (`EvidenceCheck.speaks_of_the_thing`), which they may do in words the word vectors do
        not pair with the question's: for the model to read as candidates (written over,
        verified and judged as any), never quoted by a fallback, which keeps to the
        extractive checks. [] unless the question counts or prices a thing.

        Why: across languages, a word and its translation may be far apart as single words
        (USE v3 cosine "votes" / "voix" 0.62, "cup" / "gobelet" 0.45, under the 0.75 the check
        wants): "How many votes did the Agir pour Castelmoron list get?" was abstained over
        « Liste: Agir pour Castelmoron (Paul Dufresne) ; Voix: 2073 ; ... », with which the
        French question is answered (field case F10). Only for a count or a price: asked "What
        are the names of the two open models ...?" (q091, unanswerable), the model judged a
        sentence naming ChatGPT Enterprise to answer it (0.9 or more)."""
        if check.profile.thing is None or check.profile.wants != "quantity":
            return []  # a name's thing stays checked: "the names of the two open models" (q091)
        found = self.extractive.answering_sentences(question, retrieval, check.without_the_thing())
        foreign = [s for s in found if detect_language(s.sentence.text) != language]
        return choose_candidates(reading_order(foreign))

    def _read(
        self,
        question: str,
        language: Language,
        retrieval: Retrieval,
        evidence: list[Scored],
        candidates: list[Scored],
        check: EvidenceCheck,
        parts: Sequence[tuple[str, list[Scored]]] = (),
    ) -> Iterator[str | Answer]:
        """Write over the candidates, streaming, then verify; the model is held throughout.
        The writer is shown those within its budget (`within_budget`); a rescue judges them all.

        A verified answer that does not hold the kind of thing asked for (no figure for "how
        much", no date for "when": `QuestionProfile.answered_by_type`) counts as no answer: a
        small model writes true sentences beside the question as readily as answers. It is
        rescued as a declined one is (`_clearest`, over the candidates that hold that kind)
        before the fallback: shown « des rumeurs circulent sur une nouvelle levée de fonds qui
        pourrait la propulser à une valorisation de 500 milliards de dollars », asked that
        valuation, the model wrote what the article says next (« Les rumeurs témoignent de la
        confiance des investisseurs ... [1] »), supported and cited, but no amount.

        `evidence` (the extractive checks' answering sentences, which a fallback quotes) is
        empty when the candidates are sentences those checks could not confirm
        (`_thing_unmatched`): an answer the verifier refuses then falls back to the candidate
        the model took its figure from (`_pointed_at`), or to the abstention."""
        clock = _Stages(self.chat)
        titles = {hit.chunk.doc_id: hit.chunk.doc.title for hit in retrieval.hits}
        written_over = within_budget(candidates, titles, parts)
        messages, fixed = writer_messages(
            question,
            language,
            [(titles.get(c.sentence.doc_id, ""), c.sentence.text) for c in written_over],
        )
        pieces: list[str] = []
        written = self.chat.stream(messages, fixed)
        try:
            for piece in written:
                if not pieces:
                    clock.mark("first_text")
                pieces.append(piece)
                yield piece
        finally:
            close = getattr(written, "close", None)
            if close:
                close()  # a client that went away stops the generation
        clock.mark("write")
        text = "".join(pieces)
        if declines(text) or restates(text, question):
            yield self._rescued(question, language, retrieval, candidates, clock)
            return
        chunks = {hit.chunk.id: hit.chunk for hit in retrieval.hits}
        shown = Evidence(
            [c.sentence for c in written_over],
            [chunks[c.sentence.chunk_id] for c in written_over],
        )
        checked = verify(text, shown, self.embedder.embed, self._check, question)
        clock.mark("verify")
        if checked.citations and check.profile.answered_by_type(checked.text):
            cited = [c.sentence.text for c in checked.citations]
            best = 0.0
            for sentence in judged_in_order(cited):  # until one is judged to answer
                best = max(best, self.answerability(question, [sentence])[0])
                if best >= OFF_QUESTION:
                    break
            if best < OFF_QUESTION:
                log.info("cited sentences judged off the question: %r", checked.text)
                yield self._rescued(question, language, retrieval, candidates, clock, cited)
                return
            if best < DOUBTED and (clearer := self._clearest(question, candidates, clock, cited)):
                log.info("a candidate judged to answer more clearly than %r", checked.text)
                yield self._quoted(clearer, question, language, retrieval, clock)
                return
            clock.mark("answerability")
            checked, completed = self._every_part_answered(checked, parts, chunks, language)
            clock.mark("parts")
            final = self.final_text(checked, language, question)
            clock.mark("translate")
            clock.log()
            yield Answer(
                final,
                language,
                False,
                self.name,
                checked.citations,
                checked.unsupported,
                notice=PART_QUOTED if completed else "",
            )
            return
        if not evidence and (pointed := self._pointed_at(question, candidates, checked)):
            yield self._quoted(pointed, question, language, retrieval, clock)
            return
        typed = [c for c in candidates if check.profile.answered_by_type(c.sentence.text)]
        if checked.citations and (clearest := self._clearest(question, typed, clock, ())):
            log.info("supported but not of the kind asked, a candidate quoted: %r", checked.text)
            yield self._quoted(clearest, question, language, retrieval, clock, checked.unsupported)
            return
        fallback = self.extractive.compose(
            evidence,
            language,
            retrieval,
            fallback=True,
            notice=NOTHING_SUPPORTED,
            unsupported=checked.unsupported,
        )
        translated = self.translated(fallback, question)
        clock.mark("translate")
        clock.log()
        yield translated or fallback

    def _pointed_at(
        self, question: str, candidates: list[Scored], checked: Verified
    ) -> Scored | None:
        """The first candidate that states every number of a sentence the model wrote and
        the verifier refused (one stating a number), if the model judges that it answers
        the question with odds of OFF_QUESTION or more; else None. ModelUnavailable when the
        model fails while judging.

        For candidates that no extractive check confirmed (`_thing_unmatched`): the model
        wrote "The Agir pour Castelmoron list received 2073 votes.", right, but neither its
        meaning (0.43) nor its added "received" is found across languages in « Liste: Agir
        pour Castelmoron (Paul Dufresne) ; Voix: 2073 ; Pourcentage: 48,7 »; the sentence it
        read its figure in is quoted instead, which states only what the article does. An
        invented figure ("1,500 seats" for a shuttle the article gives no seats for) points
        at no candidate, and the service abstains."""
        for candidate in candidates:
            text = candidate.sentence.text
            if any(states_its_numbers(MARKERS.sub("", c), text) for c in checked.unsupported):
                odds = self.answerability(question, [text])[0]
                return candidate if odds >= OFF_QUESTION else None
        return None

    def answerability(self, question: str, sentences: Sequence[str]) -> list[float]:
        """The model's odds, in [0, 1], that each sentence answers the question
        (`prompts/answerability.toml`: the logits of Yes and No, nothing generated; about 0.7 s a
        sentence on two cores once the examples are evaluated). ModelUnavailable on failure."""
        return [
            float(self.chat.choose(*answerability_messages(question, sentence), ["Yes", "No"])[0])
            for sentence in sentences
        ]

    def _every_part_answered(
        self,
        checked: Verified,
        parts: Sequence[tuple[str, list[Scored]]],
        chunks: dict[str, Chunk],
        language: Language,
    ) -> tuple[Verified, bool]:
        """The verified answer to a compound question with each part it leaves unanswered
        answered by a quotation: the part's own candidate that the model judges answers it
        with the highest odds, when they reach PART_ANSWERED. A part counts as answered when
        the answer cites one of its own candidates (`compound_evidence`). Returns the answer
        (unchanged for a question that asks one thing) and whether a quotation was added;
        ModelUnavailable when the model fails while judging.

        Why: the writer, shown two parts' candidates at once, often answers one part and stops
        ("Quel PDG d'Alphabet ..., et quel PDG de SoftBank ... ?" answered with Masayoshi Son
        alone, while shown the sentence naming Sundar Pichai); judging one sentence against
        one part is the narrower task it does better (README, "The reader")."""
        added = False
        for part, own in parts:
            if any(overlaps(c.sentence, s.sentence) for c in checked.citations for s in own):
                continue
            odds = self.answerability(part, [s.sentence.text for s in own])
            best = max(range(len(own)), key=odds.__getitem__, default=None)
            if best is None or odds[best] < PART_ANSWERED:
                continue
            sentence = own[best].sentence
            cited = Citation(len(checked.citations) + 1, sentence, chunks[sentence.chunk_id], 1.0)
            checked = Verified(
                f"{checked.text} {ExtractiveGenerator.quote(cited, language)}",
                [*checked.citations, cited],
                checked.unsupported,
            )
            added = True
        return checked, added

    def _rescued(
        self,
        question: str,
        language: Language,
        retrieval: Retrieval,
        candidates: list[Scored],
        clock: _Stages,
        judged: Sequence[str] = (),
    ) -> Answer:
        """The answer when the writer declined, or cited only sentences judged off the
        question (`judged`, not judged again): the candidate judged to answer clearly
        (`_clearest`), quoted, else the abstention."""
        clearest = self._clearest(question, candidates, clock, judged)
        if clearest is None:
            clock.log()
            return self.extractive.compose([], language, retrieval, backend=self.name)
        return self._quoted(clearest, question, language, retrieval, clock)

    def _clearest(
        self, question: str, candidates: list[Scored], clock: _Stages, judged: Sequence[str]
    ) -> Scored | None:
        """The candidate, other than the `judged` sentences, that the model judges answers
        with the highest odds, if they reach RESCUE; None otherwise. The small writer declines
        over sentences that answer in other words than the question's ("des rumeurs
        circulent ... une valorisation de 500 milliards"), and cites beside the answer ("Comment
        une personne proche de la famille Trump a-t-elle qualifié Sam Altman ?" answered with
        a sentence judged 0.48, while the one saying "persona non grata" was judged 0.94);
        judging one sentence against the question is the narrower task it does better."""
        others = [c for c in candidates if c.sentence.text not in judged]
        odds = self.answerability(question, [c.sentence.text for c in others])
        clock.mark("answerability")
        best = max(range(len(others)), key=odds.__getitem__, default=None)
        return None if best is None or odds[best] < RESCUE else others[best]

    def _quoted(
        self,
        candidate: Scored,
        question: str,
        language: Language,
        retrieval: Retrieval,
        clock: _Stages,
        unsupported: Sequence[str] = (),
    ) -> Answer:
        """A candidate judged to answer, quoted with the JUDGED notice (translated for an
        English question, as `translated`), whatever its extractive score: the model chose it
        (the extractive answer keeps only sentences over ABSTAIN_THRESHOLD, and a candidate of
        `_thing_unmatched` may be under it). `unsupported`: the sentences the model wrote that
        the verifier removed, reported with the answer."""
        chunks = {hit.chunk.id: hit.chunk for hit in retrieval.hits}
        sentence = candidate.sentence
        citation = Citation(1, sentence, chunks[sentence.chunk_id], round(candidate.score, 4))
        quoted = Answer(
            ExtractiveGenerator.render([citation], language),
            language,
            False,
            self.name,
            [citation],
            list(unsupported),
            notice=JUDGED,
        )
        translated = self.translated(quoted, question)
        clock.mark("translate")
        clock.log()
        return translated or quoted

    def final_text(self, checked: Verified, language: Language, question: str) -> str:
        """The text of a verified answer: the sentences the model cited and the checks kept,
        quoted as they stand (a French question over French articles) or translated one by
        one (an English question: `translations`); the model's own verified sentences when a
        translation fails its checks or lacks a number or a name they state (the model may
        take "Mar-a-Lago" from the passage around the sentence it cites), unless the model's
        words leave a French phrase untranslated: then a name or a figure the question holds
        need not be restated ("Quimperlé", which the reader has just written), and a name the
        translation writes in English counts ("Chris Lehane is an avocat à la Maison Blanche
        under Bill Clinton" gives way to "Chris Lehane, former attorney at the White House
        under Bill Clinton"). Either way, a date's "prochain" / "dernier" that the English left
        out is put back (`relative_dates.py`).

        Why: this model shortens as it rewrites, and drops the fact asked for. On the 54 French
        questions of `eval/questions.jsonl`, its own words stated the fact for 0.73 of the
        answerable ones, the sentences it cited, quoted, for 0.82 (same abstentions: 0.92); the
        English questions' figures are in the README, "The reader"."""
        if language == "fr":
            return ExtractiveGenerator.render(checked.citations, language)
        translated = self.translations(checked.citations, question)
        cited = [c.sentence.text for c in checked.citations]
        # The model's words may take a name from the question ("the Corvenne funicular"),
        # which its cited sentence does not repeat ("le funiculaire"): they stand, unless they
        # leave French in the English answer ("4 200 lanternes biodégradables were ...").
        french = copies_a_phrase(checked.text, cited)
        given, embed = (question, self.embedder.embed) if french else ("", None)
        if translated is not None and keeps_facts(checked.text, translated, given, embed):
            return translated
        own = restore_relative_dates(" ".join(cited), checked.text)  # "for all of next year"
        if len(MARKERS.sub("", own).split()) <= BARE_ANSWER_WORDS:
            # "Andrew Yang [1]." reads as an answer with a lead-in: "According to the articles:"
            return f"{load_prompt('translate', 'en')['lead_in']} {own}"
        return own

    def translated(self, answer: Answer, question: str) -> Answer | None:
        """An extractive answer to an English question with its French sentences translated
        (`translations`); None when the question is French or a translation fails (the French
        quotes then stand)."""
        if answer.language != "en" or answer.abstained or not answer.citations:
            return None
        text = self.translations(answer.citations, question)
        if text is None:
            return None
        return dataclasses.replace(answer, text=text, notice=answer.notice + TRANSLATED)

    def translations(self, citations: Sequence[Citation], question: str) -> str | None:
        """The cited French sentences as "According to the articles: <translation> [n] ...":
        translated by the model, one by one, each translation verified against its sentence
        (numbers, names and meaning, not the model's check; a name may come from the question,
        which the translator does not see, as "White House" for "Maison-Blanche"); None when a
        sentence is in English already or a translation does not come out supported.

        Measured on the English questions of the two sets: README, "The reader"."""
        prompt = load_prompt("translate", "en")
        parts = []
        for citation in citations:
            source = " ".join(quotable(citation.sentence.text).split())
            if detect_language(source) == "en":
                return None  # an English article's sentence: quoted as it is
            messages, fixed = translator_messages(source)
            # a span of two or three sentences (`antecedents.py`) runs longer than one: French
            # runs to about four characters a token, its English to fewer tokens
            budget = max(_TRANSLATION_TOKENS, len(source) // 3)
            written = "".join(self.chat.stream(messages, fixed, budget))
            translation = " ".join(written.strip().split("\n")[0].split()).lstrip("-–•* ")
            translation = _SPACED_INITIALS.sub(r"\1.", translation)  # "U. S." reads "U.S."
            translation = restore_relative_dates(source, translation)  # "last June"
            if detect_language(translation) != "en":
                return None  # the sentence echoed, or half translated
            shown = Evidence([citation.sentence], [citation.chunk])
            # every sentence of the translation cites its source: a span of two or three
            # (`antecedents.py`) translates to as many, and one without a marker is unsupported
            marked = " ".join(
                re.sub(r"\s*([.!?…]*)$", r" [1]\1", claim.sentence, count=1)
                for claim in split_claims(translation)
            )
            # No model check here: over the 120 translations of `python -m eval.translations`,
            # its 147 asks gave odds of Yes from 0.65 up (it removes under SUPPORT_ODDS 0.3),
            # for about 1.5 s each; a translation that leaves out a fact is supported by its
            # sentence, and the numbers, names and meaning are checked below.
            checked = verify(marked, shown, self.embedder.embed, names_from=question)
            if checked.unsupported or not checked.citations:
                log.info("translation not supported: %r for %r", translation, source)
                return None
            kept = with_original_quotations(source, checked.text)
            parts.append(kept.replace("[1]", f"[{citation.marker}]"))
        return f"{prompt['lead_in']} {' '.join(parts)}"


_SPACED_INITIALS = re.compile(r"\b([A-Z])\. (?=[A-Z]\.)")
# A quotation of the article: « ... » in French text; in a translation, also "...", “...”.
_FRENCH_QUOTATION = re.compile(r"«\s*([^«»]+?)\s*»")
_QUOTATION = re.compile(r"«[^«»]+»|“[^“”]+”|\"[^\"]+\"")
# A longer quotation is a sentence of someone's: its translation stands alone.
QUOTED_WORDS = 12


def with_original_quotations(source: str, translation: str) -> str:
    """The translation of `source` with each short quotation of it (« ... », up to QUOTED_WORDS
    words) given in its own words after the translated one: `a "political orphan" (« orphelin
    politique »)`. A quotation is what someone said or how they were called, and a small
    translator renders it worst ("orphelin political"); the original lets the reader check.

    Quotations are paired in order, and only when the translation holds as many as the source
    (otherwise it is returned as it is); one the translation already quotes word for word
    ("persona non grata") is not repeated."""
    originals = _FRENCH_QUOTATION.findall(source)
    found = list(_QUOTATION.finditer(translation))
    if not originals or len(found) != len(originals):
        return translation
    pieces, last = [], 0
    for original, quoted in zip(originals, found, strict=True):
        pieces.append(translation[last : quoted.end()])
        last = quoted.end()
        kept = " ".join(tokenize(original)) in " ".join(tokenize(quoted.group()))
        if len(original.split()) <= QUOTED_WORDS and not kept:
            pieces.append(f" (« {original} »)")
    return "".join(pieces) + translation[last:]


class _Stages:
    """Where a question's time with the model goes, logged at INFO as `reader stages` with
    seconds per stage and the prompt and generated token counts (when the model counts them)."""

    def __init__(self, chat: ChatModel) -> None:
        self._chat = chat
        self._tokens = self._counts()
        self._started = self._last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def _counts(self) -> tuple[int, int]:
        return getattr(self._chat, "prompt_tokens", 0), getattr(self._chat, "generated_tokens", 0)

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(
            now - (self._started if stage == "first_text" else self._last), 3
        )
        if stage != "first_text":
            self._last = now

    def log(self) -> None:
        prompt, generated = (b - a for a, b in zip(self._tokens, self._counts(), strict=True))
        stages = " ".join(f"{k}={v}" for k, v in self.seconds.items())
        log.info("reader stages %s prompt_tokens=%d generated_tokens=%d", stages, prompt, generated)


def translator_messages(sentence: str) -> tuple[Messages, int]:
    """The translator's rules and examples, then the French sentence; with how many leading
    messages are the same on every call."""
    prompt = load_prompt("translate", "en")
    examples = [(source, target) for source, target in load_examples("translate", "en")]
    return few_shot(prompt["system"], examples, prompt["user"].format(sentence=sentence))


def answerability_messages(question: str, sentence: str) -> tuple[Messages, int]:
    """The answerability rules and examples, then the question and one sentence; with how many
    leading messages are the same on every call."""
    prompt = load_prompt("answerability")
    examples = [
        (prompt["user"].format(question=asked, sentence=text), reply)
        for asked, text, reply in load_examples("answerability")
    ]
    final = prompt["user"].format(question=question, sentence=" ".join(sentence.split()))
    return few_shot(prompt["system"], examples, final)


def writer_messages(
    question: str, language: Language, sentences: Sequence[tuple[str, str]]
) -> tuple[Messages, int]:
    """The writer's rules and worked examples, then the numbered sentences, each as (its
    article's title, its text), and the question; with how many leading messages are the same
    on every call. The title says what a sentence is about when the sentence does not ("The
    contract comes to 14 million euros" in an article on Rennes' bicycles)."""
    prompt = load_prompt("answer", language)
    title = prompt["example_title"]
    examples = [
        (_numbered(prompt, [(title, line) for line in block.split("\n")], asked), reply)
        for block, asked, reply in load_examples("answer", language)
    ]
    return few_shot(prompt["system"], examples, _numbered(prompt, sentences, question))


def _numbered(prompt: dict[str, str], sentences: Sequence[tuple[str, str]], question: str) -> str:
    lines = "\n".join(
        prompt["sentence"].format(n=n, title=" ".join(title.split()), text=" ".join(text.split()))
        for n, (title, text) in enumerate(sentences, start=1)
    )
    return prompt["user"].format(sentences=lines, question=question)


def judged_in_order(cited: Sequence[str]) -> Iterator[str]:
    """The texts an answer cites, in order, each followed, when it is a span of several
    sentences (`antecedents.py`), by its sentences alone, the last first: the caller judges
    them until one answers.

    Why: a span is the sentence that refers back with the one or two it refers to, and judged
    whole the answer can drown in them. Asked "Comment s'appelle la société aérospatiale de
    Jeff Bezos ?" (h03 of `eval/heldout.jsonl`), the writer answered "Blue Origin [2]" over
    the span "Bien qu'Altman soit ... lésées. Sa rivalité avec Bill Gates ... ou avec Jeff
    Bezos, dont la société aérospatiale Blue Origin tente ... de concurrencer SpaceX.", which
    the model judged 0.23, under OFF_QUESTION, and the answer was declined (README,
    "Evaluation", change 19)."""
    for text in cited:
        yield text
        pieces = [text[start:end] for start, end in sentence_spans(text)]
        if len(pieces) > 1:
            yield from reversed(pieces)


# "Musk or Altman: who ...?" may be answered "Musk [1]." with the question's own words.
_ALTERNATIVES = re.compile(r"\b(?:or|ou)\b", re.IGNORECASE)


def restates(text: str, question: str) -> bool:
    """Whether the model's whole answer is a bare one (BARE_ANSWER_WORDS words at most) that
    only repeats words of its question, which offers no alternatives to choose from: it found
    no answer, as when it declines. "Qu'a répondu Volodymyr Zelensky à Elon Musk ?" was
    answered "Elon Musk." over a sentence on conferences Musk attended with Zelensky
    (h23 of `eval/heldout.jsonl`, which the articles do not answer); judged with its question,
    as a bare answer is, it passed every check, and the sentence was quoted as the answer."""
    written = MARKERS.sub("", text)
    terms = set(tokenize(written))
    return (
        bool(terms)
        and len(written.split()) <= BARE_ANSWER_WORDS
        and terms <= set(tokenize(question))
        and not _ALTERNATIVES.search(question)
    )


# A sentence saying that what is asked is not stated (folded: lower case, no accents): "Sam
# Altman's annual salary is not mentioned in the articles.", « Le montant n'est pas précisé. »
_STATED_FR = r"(?:mentionne|precise|indique|donne|connu|communique|cite)"  # participles
_NOT_STATED = re.compile(
    r"\b(?:(?:is|are|was|were|has|have) (?:not|never)|isn't|aren't|wasn't|hasn't|haven't)"
    r"(?: been)? (?:mentioned|stated|specified|given|provided|indicated|disclosed|reported"
    r"|known)\b"
    r"|\b(?:do|does|did) not (?:say|mention|state|specify|give|provide|indicate|disclose|report)\b"
    r"|\b(?:don't|doesn't|didn't) (?:say|mention|state|specify|give|provide|indicate)\b"
    r"|\bno (?:information|mention|details?|figures?|data)\b"
    rf"|\bn['’](?:est|etait|a|avait) pas (?:ete )?{_STATED_FR}"
    rf"|\bne sont pas {_STATED_FR}"
    r"|\bne (?:le |l['’]|les |la )?(?:disent|dit|mentionnent|mentionne|precisent|precise"
    r"|indiquent|indique|donnent|donne|citent|cite) (?:pas|rien)\b"
    r"|\b(?:aucune |pas d['’]|pas de )(?:information|mention|precision|indication|donnee)"
)


def declines(text: str) -> bool:
    """Whether the model said that the articles do not answer: in the words its rules give it
    ("The articles do not say"), or in its own, every sentence it wrote saying, with no
    citation marker, that what is asked is not stated ("Sam Altman's annual salary is not
    mentioned in the articles.", « Le salaire n'est pas précisé. »).

    Why its own words too: taken for a claim, such a sentence failed the checks (it cites
    nothing) and the extractive fallback quoted the sentences the model had just read and
    found not to answer ("What is Sam Altman's annual salary?" got his donation and « Surtout
    pour un : Sam Altman. »). A sentence with a marker may report that a source withheld
    something ("The price was not disclosed [1]."): it stays a claim, checked as any."""
    phrases = [fold(load_prompt("answer", lang)["abstain"]) for lang in ("fr", "en")]
    said = fold(text).strip().strip('.!«»" ')
    if any(said.startswith(p) and len(said) < 2 * len(p) for p in phrases):
        return True
    claims = split_claims(text)
    return bool(claims) and all(
        not claim.markers and _NOT_STATED.search(fold(claim.sentence)) for claim in claims
    )
