"""The interface every answering backend implements, and what it returns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from app.services.followup import Turn
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
    """A cited answer; `fallback` when a model was asked but the extractive backend answered."""

    text: str
    language: Language
    abstained: bool
    backend: str
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    fallback: bool = False
    notice: str = ""


# What `/health` says of a backend's model: none (extractive), warming (evaluating its jobs'
# rules after start-up: questions wait for it or fall back), ready, or resting after a failure.
ModelState = Literal["none", "warming", "ready", "resting"]


class Generator(Protocol):
    """Turns a question and what retrieval found into a cited answer, or an abstention."""

    name: str

    def model_state(self) -> ModelState:
        """Whether the backend's model can take a question now (`ModelState`)."""
        ...

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """The question made self-contained in the light of the conversation so far."""
        ...

    def stream(
        self, question: str, language: Language, retrieval: Retrieval
    ) -> Iterator[str | Answer]:
        """Pieces of the answer's text as they are written, then the final, verified Answer."""
        ...

    def answer(self, question: str, language: Language, retrieval: Retrieval) -> Answer: ...
