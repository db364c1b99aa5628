"""Whether the retrieved sentences answer the question, or only talk about the same things.

A question close to the articles' topic ("How much did Zuckerberg give personally?") retrieves
passages about the same people, so similarity alone cannot tell an answer from a near miss.
Three checks that hold in either language, because words are compared through the multilingual
embedder ("Democrats" matches "démocrates", "June" matches "juin"):

- names: every name the question asks about appears in the retrieved passages;
- answer type: a "how much" question needs a number the question does not already hold, a
  "what percentage" question a percentage, a "what year" / "when" question a date;
- coverage: on average, the question's words find a close word in the evidence sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.services.bridge import surface_words
from app.services.tokens import fold, fold_word, stem

AnswerType = Literal["quantity", "percent", "year", "date"]

# Words that frame a question rather than say what it is about.
_FRAME = frozenset(
    fold(w)
    for w in """
combien quel quelle quels quelles comment pourquoi quand qui quoi lequel laquelle lesquels dont
selon article articles dit disent cite how much many what which who whom whose when where why
did does according say says said tell name called
""".split()
)

_WANTS: list[tuple[AnswerType, re.Pattern[str]]] = [
    (
        "percent",
        re.compile(r"\b(?:pourcentage|quel taux|percentage|what percent|how many percent)"),
    ),
    ("year", re.compile(r"\b(?:en quelle annee|quelle annee|what year|which year)\b")),
    (
        "date",
        re.compile(r"\b(?:quand|a quelle date|depuis quand|when|what date|since when)\b"),
    ),
    (
        "quantity",
        re.compile(
            r"\b(?:combien|quel montant|quelle somme|how much|how many"
            r"|what amount|what sum)\b"
        ),
    ),
]
_NUMBER = re.compile(
    r"\d+(?:[.,]\d+)?|\b(?:deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze"
    r"|vingt|trente|quarante|cinquante|cent|cents|mille|millions?|milliards?|two|three|four"
    r"|five|six|seven|eight|nine|ten|twelve|twenty|hundred|thousand|millions?|billions?)\b"
)
_QUESTION_START_WORDS = 5  # a question word further in is a conjunction ("... when he ...")
_COGNATE_PREFIX = 5
_PERCENT = re.compile(r"%|\bpour ?cent\b|\bpercent\b")
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_DATE = re.compile(
    r"\b(?:1[89]|20)\d\d\b|\b(?:janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre"
    r"|octobre|novembre|decembre|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|hier"
    r"|demain|prochain|prochaine|dernier|derniere)\b"
)
# A capitalised word inside the question (not its first word), without a possessive 's.
_NAME = re.compile(r"(?<=[\w,;:)»”\"]\s)([A-ZÀ-ÖØ-Þ][\w-]*\w)(?:['’]s)?")
_MIN_NAME_LENGTH = 3


@dataclass(frozen=True)
class QuestionProfile:
    """What the question is about and what kind of answer it wants."""

    words: tuple[str, ...]
    names: tuple[str, ...]
    numbers: frozenset[str]
    wants: AnswerType | None

    @classmethod
    def of(cls, question: str) -> QuestionProfile:
        folded = fold(question)
        start = " ".join(folded.split()[:_QUESTION_START_WORDS])
        wants = next((kind for kind, pattern in _WANTS if pattern.search(start)), None)
        names = tuple(
            dict.fromkeys(n.lower() for n in _NAME.findall(question) if len(n) >= _MIN_NAME_LENGTH)
        )
        words = tuple(w for w in dict.fromkeys(surface_words(question)) if fold(w) not in _FRAME)
        return cls(words, names, frozenset(_NUMBER.findall(folded)), wants)

    def answered_by_type(self, text: str) -> bool:
        """Whether the text holds the kind of thing asked for (anything, if no kind)."""
        folded = fold(text)
        match self.wants:
            case "quantity":
                return bool(set(_NUMBER.findall(folded)) - self.numbers)
            case "percent":
                return bool(_PERCENT.search(folded))
            case "year":
                return bool(set(_YEAR.findall(folded)) - self.numbers)
            case "date":
                return bool({m.group() for m in _DATE.finditer(folded)} - self.numbers)
        return True


class EvidenceCheck:
    """Compares a question with evidence texts word by word, through the word vectors."""

    def __init__(
        self,
        profile: QuestionProfile,
        word_vectors: dict[str, np.ndarray],
        vocabulary: dict[str, np.ndarray],
        match_threshold: float,
    ) -> None:
        self.profile = profile
        self._question_vectors = word_vectors
        self._vocabulary = vocabulary
        self._threshold = match_threshold

    def _best_matches(self, words: tuple[str, ...], text: str) -> np.ndarray:
        """For each word, its best similarity with a word of the text (1.0 when it is there)."""
        text_words = list(dict.fromkeys(surface_words(text)))
        present = {stem(fold_word(w)) for w in text_words}
        vectors = [self._vocabulary[w] for w in text_words if w in self._vocabulary]
        matrix = np.stack(vectors) if vectors else None
        best = np.zeros(len(words), dtype=np.float32)
        for i, word in enumerate(words):
            if stem(fold_word(word)) in present:
                best[i] = 1.0
            elif matrix is not None and word in self._question_vectors:
                best[i] = float((matrix @ self._question_vectors[word]).max())
        return best

    def missing_names(self, passages: str) -> list[str]:
        """The question's names that the passages never mention, even translated."""
        folded = fold(passages)
        unseen = tuple(n for n in self.profile.names if not _cognate_in(fold(n), folded))
        if not unseen:
            return []
        scores = self._best_matches(unseen, passages)
        return [n for n, s in zip(unseen, scores, strict=True) if s < self._threshold]

    def coverage(self, sentence: str) -> float:
        """Mean best similarity of the question's words with the sentence's words."""
        if not self.profile.words:
            return 1.0
        return float(self._best_matches(self.profile.words, sentence).mean())


def _cognate_in(name: str, folded_text: str) -> bool:
    """The name, or a word sharing its first letters ("democratic", "democrate"), is there."""
    if len(name) < _COGNATE_PREFIX + 1:
        return re.search(rf"\b{re.escape(name)}\b", folded_text) is not None
    return re.search(rf"\b{re.escape(name[: _COGNATE_PREFIX + 1])}", folded_text) is not None
