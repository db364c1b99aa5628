"""The questions the load sends: never the same text twice, unless a run asks for repeats.

A query whose text was seen before could be answered from a cache of embeddings; the issue asks
for load without such hits, and for a separate figure of what repeats gain. Distinct texts are
the question set's questions, each followed by two words drawn from the sample articles (so the
query stays on topic and brings no word the corpus does not know).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from eval.dataset import DEFAULT_QUESTIONS, load_questions
from ingest.pipeline import doc_id_for

_WORD = re.compile(r"[^\W\d_]{4,}")


@dataclass(frozen=True)
class Probe:
    """An answerable question and the ids of the documents that hold its answer."""

    text: str
    expected: frozenset[str]


def base_questions(path: Path = DEFAULT_QUESTIONS) -> list[str]:
    """Every question of the question set, in file order."""
    return [q.question for q in load_questions(path)]


def probes(path: Path = DEFAULT_QUESTIONS) -> list[Probe]:
    """The answerable questions, with the doc ids their sources become at ingest."""
    return [
        Probe(q.question, frozenset(doc_id_for(PurePath(s)) for s in q.sources))
        for q in load_questions(path)
        if q.answerable
    ]


def vocabulary(paths: Sequence[Path]) -> list[str]:
    """The distinct words (4 letters or more, lower case) of the .txt files under `paths`."""
    words: set[str] = set()
    for path in paths:
        for file in sorted(path.rglob("*.txt")) if path.is_dir() else [path]:
            words.update(w.lower() for w in _WORD.findall(file.read_text(encoding="utf-8")))
    return sorted(words)


class DistinctQuestions:
    """An endless stream of question texts, none of which it has yielded before.

    Two streams built with the same arguments yield the same texts, so the service and the
    peer are asked the same questions in the same order.
    """

    def __init__(self, bases: Sequence[str], words: Sequence[str], seed: int = 13) -> None:
        if not bases or len(words) < 2:
            raise ValueError("distinct questions need questions and at least two words")
        self._bases = list(bases)
        self._words = list(words)
        self._random = random.Random(seed)
        self._seen: set[str] = set(bases)  # the plain questions are kept for probes and repeats
        self._count = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        base = self._bases[self._count % len(self._bases)]
        self._count += 1
        while True:
            first, second = self._random.sample(self._words, 2)
            text = f"{base} {first} {second}"
            if text not in self._seen:
                self._seen.add(text)
                return text


def repeated(bases: Sequence[str], distinct: int = 5) -> Iterator[str]:
    """The first `distinct` questions again and again: what a cache of repeats would serve."""
    chosen = list(bases[:distinct])
    while True:
        yield from chosen
