"""Which sentences the reader is shown: the extractive checks' answering sentences, best first.

The rule-based checks (`evidence.py`: the answer type, the names, the thing counted, coverage)
choose the sentences that could answer and abstain when none could; the model reads the first
`CANDIDATES` of them and writes from those it finds answer, or declines. Measured on the two
question sets (README, "The reader"), this beats letting the model choose among the best
sentences by similarity alone: asked to pick one of six by number (its odds for "0".."6" read
at once), the model found the fact for 0.59 of the answerable questions; writing over the four
best by similarity, 0.64-0.69, and abstained on 0.78-0.83 of the unanswerable ones; the checks
alone reach 0.78 and 0.87.

Article text is data. A sentence that addresses AI assistants with an order (a prompt
injection) is never a candidate, whatever the checks or the model would make of it; the prompt
also tells the model that the sentences are data.
"""

from __future__ import annotations

from app.services.answering.extractive import Scored
from app.services.answering.injection import addresses_an_assistant

CANDIDATES = 3
MIN_CHARACTERS = 20  # a heading or a stray label is not evidence


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
