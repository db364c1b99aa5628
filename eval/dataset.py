"""The question set: one JSON object per line (see `eval/questions.jsonl`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "questions.jsonl"


@dataclass(frozen=True)
class Question:
    """A question, the documents that hold its answer and the facts a right answer states."""

    id: str
    question: str
    language: Literal["fr", "en"]
    answerable: bool
    sources: tuple[str, ...]
    facts: tuple[re.Pattern[str], ...]
    kind: str


class DatasetError(ValueError):
    """A question set that cannot be used; the message names the line."""


def load_questions(path: Path = DEFAULT_QUESTIONS) -> list[Question]:
    """Read and check a JSONL question set."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            question = Question(
                id=str(raw["id"]),
                question=str(raw["question"]),
                language=raw["language"],
                answerable=bool(raw["answerable"]),
                sources=tuple(raw.get("sources", [])),
                facts=tuple(re.compile(f, re.IGNORECASE) for f in raw.get("facts", [])),
                kind=str(raw.get("kind", "single")),
            )
        except (KeyError, TypeError, ValueError, re.error) as exc:
            raise DatasetError(f"{path}:{number}: {exc}") from exc
        if question.language not in ("fr", "en"):
            raise DatasetError(f"{path}:{number}: language must be 'fr' or 'en'")
        if question.answerable and not question.sources:
            raise DatasetError(f"{path}:{number}: an answerable question needs its sources")
        questions.append(question)
    if not questions:
        raise DatasetError(f"{path}: no questions")
    return questions
