"""Which sentences the reader is shown: the best whole sentences of the retrieved chunks.

They are ranked by the extractive score (cosine with the question plus coverage of its words,
`extractive.py`); on the two question sets the sentence holding the asked fact is among the
first 4 for 0.89 of the answerable questions (0.74 first, 0.91 within 10). Four keep the prompt
near 200 tokens, about 2.5 s of prompt evaluation on two cores. The model then chooses among
them: it cites the ones that answer, or says the articles do not.

Article text is data. A sentence that addresses AI assistants with an order (a prompt
injection) is never a candidate, whatever the model would make of it; the prompt also tells the
model that the sentences are data.
"""

from __future__ import annotations

import re

from app.services.answering.extractive import Scored

CANDIDATES = 4
MIN_CHARACTERS = 20  # a heading or a stray label is not evidence
# A sentence speaking to an AI model or assistant ...
_ADDRESSEE = re.compile(
    r"\b(?:(?i:assistants?|intelligences? artificielles?|LLMs?|chatbots?|mod[eè]les? de langage"
    r"|language models?|robots? conversationnels?)|IA|AI)\b"
)
# ... with an order about what it should do or answer.
_ORDER = re.compile(
    r"\b(?:ignore[zr]?|oubliez|disregard|forget|instructions?|consignes?|r[ée]ponde?z|dites"
    r"|affirme[zr]?|answer|respond|reply|say|tell|pr[ée]tende?z)\b",
    re.IGNORECASE,
)


def addresses_an_assistant(sentence: str) -> bool:
    """Whether the sentence speaks to AI assistants with an order (a prompt injection)."""
    return bool(_ADDRESSEE.search(sentence) and _ORDER.search(sentence))


def choose_candidates(scored: list[Scored], limit: int = CANDIDATES) -> list[Scored]:
    """Up to `limit` of the scored sentences for the reader: those holding the kind of answer
    asked for first (`Scored.typed`: a figure for "how much"), each group best first; distinct
    texts, long enough to state something, none addressed to an assistant."""
    chosen: list[Scored] = []
    seen: set[str] = set()
    for candidate in sorted(scored, key=lambda s: not s.typed):  # stable: score order kept
        text = " ".join(candidate.sentence.text.split())
        if text in seen or len(text) < MIN_CHARACTERS or addresses_an_assistant(text):
            continue
        seen.add(text)
        chosen.append(candidate)
        if len(chosen) == limit:
            break
    return chosen
