"""The interface every answering backend implements, and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from app.services.language import Language
from app.services.retriever import Retrieval
from vectorstore import Chunk, Sentence


@dataclass(frozen=True)
class Citation:
    """The sentence an answer's claim rests on, in the chunk it was retrieved with."""

    marker: int
    sentence: Sentence
    chunk: Chunk
    score: float


@dataclass(frozen=True)
class Answer:
    text: str
    language: Language
    abstained: bool
    backend: str
    citations: list[Citation] = field(default_factory=list)


class Generator(Protocol):
    """Turns a question and what retrieval found into a cited answer, or an abstention."""

    name: str

    def answer(self, question: str, language: Language, retrieval: Retrieval) -> Answer: ...
