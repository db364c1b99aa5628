"""Which of a sentence's names a "which <role>" question asks for.

A sentence often names several people, each with what they are: "... avec Volodymyr Zelensky,
président de l'Ukraine, et avec Sundar Pichai —PDG d'Alphabet—." Asked "Which Ukrainian
president did Musk meet alongside Trump?", the small writer may answer "Sundar Pichai [1]":
the name is in the sentence it cites, so the number and name checks pass, and the model's own
check passes it too. What ties a name to a role is where the role's words stand: in the same
clause as the name, and nearer to it than to any other name.

`rebound` reads that tie. A bare answer whose name stands with none of the question's words,
while exactly one other name of its cited sentences stands with some, gets that name instead:
the model chose the sentence, the sentence says whom the role belongs to. When several other
names stand with them equally, the answer is refused, since which one is meant cannot be told.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.services.answering.support import Embed
from vectorstore.tokens import ELISION, STOPWORDS, fold, tokenize

# A word of the question and a word near a name are the same role word when they are the same
# token or translations: USE v3 cosine of the two words alone. Measured: "president" /
# "président" 0.89, "minister" / "ministre" 0.89, "company" / "entreprise" 0.90, "founder" /
# "fondateur" 0.86, "meet" / "rencontré" 0.80, "Ukrainian" / "Ukraine" 0.75, "economist" /
# "économiste" 0.72; different roles under it: "president" / "ministre" 0.50, "ceo" / "pdg"
# 0.42 (missed: the check then does nothing), "president" / "pdg" 0.30.
ROLE_WORD_MIN = 0.7
# Clauses: a name's role is told within its own ("X, président de l'Ukraine,"), and a
# coordination starts another ("..., et avec Sundar Pichai").
_CLAUSE_BREAK = re.compile(r"[;:.!?]\s|\s(?:et|and|mais|but|ou|or)\s", re.IGNORECASE)
# A person's name as sentences write it: two to four capitalised words ("Volodymyr Zelensky",
# "Sam Altman"); a single capitalised word is as often a place, a firm or a sentence's start.
_PERSON_WORDS = range(2, 5)
_TOKEN = re.compile(r"[\w’'-]+|[^\w\s]")


@dataclass(frozen=True)
class _Named:
    """A run of capitalised words in a clause: its words, and its place as token indexes
    [start, end)."""

    name: str
    start: int
    end: int


def rebound(claim: str, question: str, cited: Sequence[str], embed: Embed) -> str | None:
    """The bare answer `claim` (a name, with its markers) as it should be written.

    Takes the written claim, the question, and the texts the claim cites. Returns the claim
    unchanged when the check does not apply (no person's name of its own that a cited text
    holds, or none of the question's words near any name) or when its name stands with some
    of those words; the claim with its name replaced when its own stands with none and exactly
    one other name does; None (unsupported) when several others do equally. `embed` embeds
    words (rows of unit vectors), to match a question's word with its translation."""
    answer = _person(claim, question)
    texts = [" ".join(text.split()) for text in cited]
    holding = next((t for t in texts if answer and fold(answer) in fold(t)), None)
    if answer is None or holding is None:
        return claim
    clauses = [_tokens(clause) for clause in _CLAUSE_BREAK.split(holding)]
    runs = [run for tokens in clauses for run in _runs(tokens)]
    # The question's own names that the text holds ("Musk", "Trump") are neither an answer
    # nor a role word; an acronym is a role ("PDG").
    in_question = set(tokenize(question))
    held = {
        term
        for run in runs
        for word in run.name.split()
        if not word.isupper()
        for term in tokenize(word)
        if term in in_question
    }
    own_terms = set(tokenize(answer))
    if own_terms & held:
        return claim  # the question's own person: the other checks judge it
    asked = [t for t in tokenize(question) if t not in held | own_terms]
    scores = _scores(clauses, asked, held, embed)
    own = scores.pop(fold(answer), 0)
    best = max(scores.values(), default=0)
    if own or best == 0:
        return claim
    tied = [name for name, score in scores.items() if score == best]
    if len(tied) > 1:
        return None
    written = next(run.name for run in runs if fold(run.name) == tied[0])
    return claim.replace(answer, written, 1)


def _person(claim: str, question: str) -> str | None:
    """The claim's first person-like name (`_PERSON_WORDS`) that the question does not hold."""
    asked = fold(question)
    for run in _runs(_tokens(claim)):
        if len(run.name.split()) in _PERSON_WORDS and fold(run.name) not in asked:
            return run.name
    return None


def _tokens(text: str) -> list[str]:
    """Words and punctuation marks, in order, an elision cut off its word ("d’OpenAI": "d",
    "OpenAI"): a mark or a lower-case word breaks a run of capitalised words."""
    return _TOKEN.findall(ELISION.sub(lambda elided: f"{elided.group()[:-1]} ", text))


def _runs(tokens: list[str]) -> list[_Named]:
    """The runs of capitalised words among `tokens`, of any length, without a capitalised
    stop word that starts them ("Le PDG": "PDG"; "The Wall Street Journal")."""
    found, start = [], None
    for index, token in enumerate([*tokens, ""]):
        capital = token[:1].isupper()
        if capital and start is None:
            start = index
        elif not capital and start is not None:
            while start < index and fold(tokens[start]) in STOPWORDS:
                start += 1
            if start < index:
                found.append(_Named(" ".join(tokens[start:index]), start, index))
            start = None
    return found


def _scores(
    clauses: list[list[str]], asked: list[str], held: set[str], embed: Embed
) -> dict[str, int]:
    """For each person-like name of the clauses (folded) not holding a `held` word, how many
    tokens standing in its clause, nearer to it than to another such name, are `asked` words
    or their translations (a tie goes to the name before: an apposition follows its name)."""
    matched = _asked_words({t for tokens in clauses for t in tokens}, asked, embed)
    scores: dict[str, int] = {}
    for tokens in clauses:
        runs = _runs(tokens)
        named = [
            run
            for run in runs
            if len(run.name.split()) in _PERSON_WORDS and not set(tokenize(run.name)) & held
        ]
        for run in named:
            scores.setdefault(fold(run.name), 0)
        # the names themselves, and the question's own ("Elon Musk"), are not role words
        names = [run for run in runs if run in named or set(tokenize(run.name)) & held]
        for index, token in enumerate(tokens):
            if not named or token not in matched:
                continue
            if any(run.start <= index < run.end for run in names):
                continue
            nearest = min(named, key=lambda run: _distance(index, run))
            scores[fold(nearest.name)] += 1
    return scores


def _distance(index: int, run: _Named) -> tuple[int, int]:
    """How far token `index` stands from the run, in tokens; after it counts as nearer."""
    if index >= run.end:
        return index - run.end, 0
    return run.start - index, 1


def _asked_words(tokens: set[str], asked: list[str], embed: Embed) -> set[str]:
    """The tokens that are one of the question's `asked` words, or a translation of one
    (ROLE_WORD_MIN), embedded in one batch."""
    terms = {token: found[0] for token in tokens if (found := tokenize(token))}
    if not terms or not asked:
        return set()
    distinct = sorted(set(terms.values()) - set(asked))
    similar = set(asked)
    if distinct:
        vectors = embed([*asked, *distinct])
        best = (vectors[len(asked) :] @ vectors[: len(asked)].T).max(axis=1)
        pairs = zip(distinct, best, strict=True)
        similar |= {term for term, score in pairs if score >= ROLE_WORD_MIN}
    return {token for token, term in terms.items() if term in similar}
