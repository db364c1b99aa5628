"""Checking what a model wrote before anyone reads it.

The model saw the candidate sentences numbered [1]..[n]. Each sentence it wrote is kept only if
the sentences it cites support it, or, when they do not (a wrong number, no marker), one other
sentence it was shown does, which it is then pinned to. Support means:

1. `support.judge`: its numbers and names are in the cited sentences, and its key terms or its
   meaning (a wrong figure or an invented name is the commonest invention); in the question's
   language over sentences in another, what it adds to its question may be found word by word
   instead of its meaning (`support.adds_found_words`): "The Kerbihan river shuttle trip
   takes twelve minutes" restates its question and gives one of its sentence's two facts,
   which the meaning check across languages does not see;
2. what it adds to the question is there: when it is written in its cited sentences' language,
   at least half of its terms that the question does not hold are in them (`ANSWER_TERMS_MIN`),
   so that a sentence which only shares the question's words (a bare "supercherie [2]" cited to
   a sentence about the same people, or a claim pinned to the title-like sentence that names
   them) does not pass for its source;
3. the model's own check, when one is given (`model_check`): asked whether the cited sentences
   state everything the written one does, its odds of Yes must reach `SUPPORT_ODDS`. With this
   model the check is weak (see the constant), so it only removes what the model clearly
   rejects, such as a sentence pinned to a sentence about something else.

Markers are renumbered to the citations kept, so a marker naming no sentence never reaches the
client; what was removed is returned for the response's `unsupported` list.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.services.answering.chat import ChatModel, Messages, few_shot
from app.services.answering.generator import Citation
from app.services.answering.roles import rebound
from app.services.answering.support import (
    Embed,
    adds_found_words,
    judge,
    leading_name,
    split_claims,
    with_subject,
)
from app.services.language import detect_language
from prompts import load_examples, load_prompt
from vectorstore import Chunk, Sentence
from vectorstore.tokens import fold, tokenize

log = logging.getLogger("app.reader")
# The model's odds of "Yes" a written sentence needs. This model's check is weak: on ten
# hand-made pairs (translations and paraphrases against changed figures, swapped things and
# added facts) the supported ones scored 0.78-0.99 and the unsupported 0.61-0.88, and a copy of
# its cited sentence with the article's place name added scored 0.61, or under 0.5 after
# another prompt. So it removes only what it rejects clearly (0.09-0.39 seen for sentences
# pinned to the wrong sentence), after the number and name checks, the reliable layer.
SUPPORT_ODDS = 0.3

_END = re.compile(r"[.!?…]+$")
_MARKER = re.compile(r"\[\d+\]")
_WORD = re.compile(r"[\w’'-]+")
# A written sentence this short is an answer only with its question (see `verify`).
BARE_ANSWER_WORDS = 5
# The share of a written sentence's own terms (those its question does not hold) that its cited
# sentences must hold, when both are in the same language. A copy or a close rewording of the
# cited sentence holds nearly all; a sentence resting on another sentence that only names the
# same people holds few (0-0.2 on the eval's wrong citations, README "The reader").
ANSWER_TERMS_MIN = 0.5

# Whether the cited texts state everything the written sentence does.
ModelCheck = Callable[[str, Sequence[str]], bool]


@dataclass
class Verified:
    text: str
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Evidence:
    """The numbered sentences the model saw, each with the chunk it was retrieved in."""

    sentences: list[Sentence]
    chunks: list[Chunk]

    def cited(self, marker: int) -> tuple[Sentence, Chunk] | None:
        """The sentence and chunk behind marker [n], or None if no sentence has that number."""
        if 1 <= marker <= len(self.sentences):
            return self.sentences[marker - 1], self.chunks[marker - 1]
        return None


def verify(
    answer: str,
    evidence: Evidence,
    embed: Embed,
    model_check: ModelCheck | None = None,
    question: str = "",
    names_from: str = "",
) -> Verified:
    """Keep the supported sentences of a generated answer, each with its citations.

    A bare answer ("The Wall Street Journal [1].", at most BARE_ANSWER_WORDS words) says what
    it claims only with the question: it is judged as the question followed by it, so that a
    name which merely appears in the cited sentence does not pass for the answer; the
    question's own names need not be in the cited passage (`asked_names`). Once it is
    pinned, its name is checked against the role the question asks (`roles.rebound`): a name
    the sentence ties to nothing asked, beside one it ties to the role, gives way to that one.

    A sentence opening with a personal pronoun ("He asked the courts ...") is judged with the
    name the last sentence opening with one opened with in its place (`support.with_subject`),
    a name that then counts as found.

    `names_from` is a text whose names count as found beside the cited sentences' passages:
    for a translation, the question, which the translator never saw ("White House" in the
    question and in the translation of "Maison-Blanche"), so that the name can only have
    come from the sentence translated; its names may also translate the cited text's words
    (`support.judge`'s `translated_names`).
    """
    result = Verified(text="")
    kept: list[str] = []
    numbers: dict[tuple[str, int, int], int] = {}
    known = " ".join([question, *(sentence.text for sentence in evidence.sentences)])
    subject = ""  # the name the last sentence opening with one opened with
    for claim in split_claims(answer):
        # The whole sentence is judged, not only a quotation in it: what a model writes around
        # a quote is a claim too. One opening with "He" is judged with the name it stands for.
        judged = with_subject(claim.sentence, subject)
        subject = leading_name(claim.sentence, known) or subject
        bare = question and len(_MARKER.sub("", judged).split()) <= BARE_ANSWER_WORDS
        given = subject if judged != claim.sentence else ""
        if bare:
            judged = f"{question} {judged}"
            given = f"{given} {asked_names(question, claim.sentence)}".strip()
        cited = _pinned(
            judged, claim.markers, evidence, embed, model_check, names_from, question, given
        )
        if cited and bare:
            written = rebound(claim.sentence, question, [s.text for s, _ in cited], embed)
            if written != claim.sentence:
                log.info("%r: its sentence gives the role asked to %r", claim.sentence, written)
                claim = dataclasses.replace(claim, sentence=written or claim.sentence)
                judged = f"{question} {claim.sentence}"
                given = asked_names(question, claim.sentence)
                if not written or not _supported(
                    judged, cited, embed, model_check, names_from, question, given
                ):
                    cited = []
        if not cited:
            result.unsupported.append(claim.sentence)
            continue
        markers = []
        for sentence, chunk in cited:
            key = (sentence.doc_id, sentence.start, sentence.end)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                result.citations.append(Citation(numbers[key], sentence, chunk, 1.0))
            markers.append(numbers[key])
        kept.append(_with_markers(claim.sentence, sorted(set(markers))))
    result.text = " ".join(kept)
    return result


def _pinned(
    claim: str,
    markers: Sequence[int],
    evidence: Evidence,
    embed: Embed,
    model_check: ModelCheck | None,
    names_from: str = "",
    question: str = "",
    given: str = "",
) -> list[tuple[Sentence, Chunk]]:
    """The sentences the claim rests on: those it cites if they support it, else the one
    shown sentence that does (a small model cites [3] for the third sentence as often as for
    the fourth, or forgets the marker); empty when none does."""
    cited = [c for m in dict.fromkeys(markers) if (c := evidence.cited(m))]
    supports = functools.partial(
        _supported,
        embed=embed,
        model_check=model_check,
        names_from=names_from,
        question=question,
        given=given,
    )
    if cited and supports(claim, cited):
        return cited
    others = [c for c in zip(evidence.sentences, evidence.chunks, strict=True) if c not in cited]
    return next(([c] for c in others if supports(claim, [c])), [])


def _supported(
    claim: str,
    cited: list[tuple[Sentence, Chunk]],
    embed: Embed,
    model_check: ModelCheck | None,
    names_from: str = "",
    question: str = "",
    given: str = "",
) -> bool:
    """Whether the cited sentences support the claim (the module's checks 1-3). `names_from`
    and `given` are texts whose names count as found beside the cited passages; only
    `names_from`'s (a translation's question) may also translate the cited words."""
    texts = [sentence.text for sentence, _ in cited]
    if not holds_what_it_adds(claim, question, texts):
        return False
    # The passages and their articles' titles, which the writer saw: names may come from them.
    context = list(dict.fromkeys(t for _, chunk in cited for t in (chunk.doc.title, chunk.text)))
    context += [text for text in (names_from, given) if text]
    verdict = judge(claim, texts, embed, context, translated_names=bool(names_from))
    if not verdict.supported and not (
        verdict.numbers_ok
        and verdict.names_ok
        and question
        and detect_language(claim) != detect_language(" ".join(texts))
        and adds_found_words(claim, question, texts, embed)
    ):
        return False
    titled = [f"({chunk.doc.title}) {sentence.text}" for sentence, chunk in cited]
    return model_check is None or model_check(claim, titled)


def asked_names(question: str, answer: str) -> str:
    """The question's words that the bare answer does not repeat. A bare answer is judged
    with its question, whose names need not be in the cited passage: retrieval's checks found
    them in its article ("OpenAI" in q009, against a chunk that writes "Open AI"). A name the
    answer gives must be there, even when the question names it too."""
    said = {fold(word) for word in _WORD.findall(answer)}
    return " ".join(word for word in _WORD.findall(question) if fold(word) not in said)


def holds_what_it_adds(claim: str, question: str, cited: Sequence[str]) -> bool:
    """Whether the cited texts hold at least `ANSWER_TERMS_MIN` of the claim's terms that the
    question does not (`tokenize`'s stems); True when the claim adds none, or is written in
    another language than the cited texts (its terms are then translations, which the judge's
    meaning check weighs)."""
    evidence = " ".join(cited)
    added = set(tokenize(claim)) - set(tokenize(question))
    if not added or detect_language(claim) != detect_language(evidence):
        return True
    return len(added & set(tokenize(evidence))) >= ANSWER_TERMS_MIN * len(added)


def model_checker(model: ChatModel) -> ModelCheck:
    """The check `verify` asks the model for (`prompts/verify.toml`), one call a sentence."""

    def check(claim: str, cited: Sequence[str]) -> bool:
        messages, fixed = check_messages(claim, cited)
        return bool(model.choose(messages, fixed, ["Yes", "No"])[0] >= SUPPORT_ODDS)

    return check


def check_messages(claim: str, cited: Sequence[str]) -> tuple[Messages, int]:
    """The checker's rules and examples, then the cited text and the written sentence; with
    how many leading messages are the same on every call."""
    prompt = load_prompt("verify")
    examples = [
        (prompt["user"].format(cited=source, claim=written), reply)
        for source, written, reply in load_examples("verify")
    ]
    text = " ".join(" ".join(c.split()) for c in cited)
    return few_shot(prompt["system"], examples, prompt["user"].format(cited=text, claim=claim))


def _with_markers(sentence: str, markers: list[int]) -> str:
    """The sentence with its markers before its final punctuation: "... 3 millions [1]."."""
    tags = "".join(f"[{m}]" for m in markers)
    end = _END.search(sentence)
    if end:
        return f"{sentence[: end.start()].rstrip()} {tags}{end.group()}"
    return f"{sentence} {tags}"
