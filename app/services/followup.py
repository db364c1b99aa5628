"""Making a follow-up question self-contained before retrieval, by a simple rule.

"Et combien a-t-il investi ?" after "Que pense Elon Musk de Stargate ?" says nothing of Musk or
Stargate by itself. Without a model to rewrite it, a question that looks like a follow-up (it
opens with "et" / "and" / "what about", or is short and names no one) is searched with the
names of the previous question added ("Et combien a-t-il investi ? Elon Musk Stargate"): the
names carry the subject over, and the question's own words still say what is asked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

_OPENS_FOLLOW_UP = re.compile(
    r"^\s*(?:et|mais|alors|and|but|so|what about|how about|et pour|et qu)\b", re.IGNORECASE
)
_PRONOUN = re.compile(
    r"\b(?:il|elle|ils|elles|lui|leur|son|sa|ses|ce|cela|he|she|they|him|her|his|their|it|that)\b",
    re.IGNORECASE,
)
_NAME_INSIDE = re.compile(r"(?<=\w\s)[A-ZÀ-ÖØ-Þ][\w’'-]*\w")
_SHORT = 8  # words


class Turn(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str: ...


def self_contained(question: str, history: Sequence[Turn]) -> str:
    """The text to search with: the question, with the last question's names if it follows up."""
    previous = next((t.content for t in reversed(history) if t.role == "user"), None)
    if previous is None or not _looks_like_follow_up(question):
        return question
    names = dict.fromkeys(re.sub(r"['’]s$", "", n) for n in _NAME_INSIDE.findall(previous))
    return " ".join([question, *names])


def _looks_like_follow_up(question: str) -> bool:
    if _OPENS_FOLLOW_UP.search(question):
        return True
    short = len(question.split()) <= _SHORT
    return short and bool(_PRONOUN.search(question)) and not _NAME_INSIDE.search(question)
