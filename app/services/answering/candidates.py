"""Which sentences the reader is shown: the extractive checks' answering sentences, reordered.

The rule-based checks (`evidence.py`: the answer type, the names, the thing counted, coverage)
choose the sentences that could answer and abstain when none could; the model reads the first
`CANDIDATES` of them and writes from those it finds answer, or declines. Measured on the two
question sets (README, "The reader"), this beats letting the model choose among the best
sentences by similarity alone: asked to pick one of six by number (its odds for "0".."6" read
at once), the model found the fact for 0.59 of the answerable questions; writing over the four
best by similarity, 0.64-0.69, and abstained on 0.78-0.83 of the unanswerable ones; the checks
alone reach 0.78 and 0.87.

A compound question ("Combien Musk a-t-il investi dans la campagne, et combien Altman a-t-il
donné ?") is split into the questions it joins (`question_parts`), and each part's checks
choose its own candidates, the best of each shown first: checked as one question, its three
candidates can all answer one part (measured: README, "The reader").

Article text is data. A sentence that addresses AI assistants with an order (a prompt
injection) is never a candidate, whatever the checks or the model would make of it; the prompt
also tells the model that the sentences are data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import chain, zip_longest
from typing import NamedTuple

from app.services.answering.antecedents import overlaps
from app.services.answering.evidence import question_parts
from app.services.answering.extractive import COVERAGE_WEIGHT, Scored
from app.services.answering.injection import addresses_an_assistant

CANDIDATES = 3
PER_PART = 2  # a compound question's candidates per part, at most CANDIDATES_MAX in all
CANDIDATES_MAX = 4
READER_COVERAGE_WEIGHT = 1.5  # see reading_order
MIN_CHARACTERS = 20  # a heading or a stray label is not evidence
WRITER_CHARACTERS = 950  # see within_budget


class Reading(NamedTuple):
    """What the reader is given for a question: `evidence`, the answering sentences best first;
    `shown`, how many of them it is shown (through `choose_candidates`); and `parts`, for a
    compound question, each part with the candidates shown for it (at most PER_PART, best
    first), empty for a question that asks one thing."""

    evidence: list[Scored]
    shown: int
    parts: list[tuple[str, list[Scored]]]


def compound_evidence(question: str, answering: Callable[[str], list[Scored]]) -> Reading:
    """The answering sentences of a question, best first, how many the reader is shown, and
    a compound question's parts with their own candidates.

    `answering(text)` gives the sentences that answer `text` (the extractive checks). A
    compound question's parts are each checked alone and their sentences interleaved, the best
    of each part first; it is shown up to PER_PART a part, CANDIDATES_MAX in all. Evidence is
    empty when no part is answered."""
    parts = question_parts(question)
    if len(parts) == 1:
        return Reading(reading_order(answering(question)), CANDIDATES, [])
    found = [reading_order(answering(part)) for part in parts]
    interleaved: dict[tuple[str, int, int], Scored] = {}
    for scored in chain.from_iterable(zip_longest(*found)):
        if scored is not None:  # a sentence that answers two parts is kept where it first comes
            key = (scored.sentence.doc_id, scored.sentence.start, scored.sentence.end)
            interleaved.setdefault(key, scored)
    shown = min(PER_PART * sum(bool(f) for f in found), CANDIDATES_MAX)
    own = [(part, choose_candidates(f, PER_PART)) for part, f in zip(parts, found, strict=True)]
    return Reading(list(interleaved.values()), shown, own)


def reading_order(scored: list[Scored]) -> list[Scored]:
    """The answering sentences in the order the reader is shown them: by their similarity to
    the question plus READER_COVERAGE_WEIGHT times their coverage of its words, which weighs
    coverage three times as much as the extractive answer's order does (`Scored.score`).

    Why: the sentence stating the fact often shares the question's words but not its topic
    as a whole ("Which Ukrainian president did Musk meet alongside Trump?": "... il l'a
    accompagné lors de conférences ... avec Volodymyr Zelensky, président de l'Ukraine"),
    while the most similar ones restate the topic ("Après les élections, Musk est le nouveau
    chouchou de Trump."). Over the rules' answering sentences of both question sets, the
    share of facts among those shown went 0.847 -> 0.859 and 0.917 -> 1.000, with 1.5 as with
    2.0; the abstentions are unchanged, since the rules still abstain on `Scored.score`
    (README, "Evaluation")."""
    extra = READER_COVERAGE_WEIGHT - COVERAGE_WEIGHT
    return sorted(scored, key=lambda s: -(s.score + extra * s.coverage))


def choose_candidates(scored: list[Scored], limit: int = CANDIDATES) -> list[Scored]:
    """Up to `limit` of the scored sentences for the reader: those holding the kind of answer
    asked for first (`Scored.typed`: a figure for "how much"), each group best first; distinct
    texts, long enough to state something, none addressed to an assistant, none overlapping
    one chosen before (a sentence and the pair holding it: `antecedents.py`)."""
    chosen: list[Scored] = []
    seen: set[str] = set()
    for candidate in sorted(scored, key=lambda s: not s.typed):  # stable: score order kept
        text = " ".join(candidate.sentence.text.split())
        if (
            text in seen
            or len(text) < MIN_CHARACTERS
            or addresses_an_assistant(text)
            or any(overlaps(candidate.sentence, c.sentence) for c in chosen)
        ):
            continue
        seen.add(text)
        chosen.append(candidate)
        if len(chosen) == limit:
            break
    return chosen


def within_budget(
    candidates: Sequence[Scored],
    titles: Mapping[str, str],
    parts: Sequence[tuple[str, Sequence[Scored]]] = (),
    budget: int = WRITER_CHARACTERS,
) -> list[Scored]:
    """The candidates the writer is shown, in their order: the first, and the best of each part
    of a compound question (`parts`, as `compound_evidence` gives them), always; each other
    while the characters shown so far (texts and their articles' titles, from `titles` by
    document id) stay within `budget`. A candidate past the budget is skipped, a shorter one
    after it may still fit.

    Why: the writer's first word waits for its whole prompt to be evaluated, about 12 ms a
    token on two cores, and the longest prompts (two-sentence spans, compound questions' four
    candidates) went past 400 tokens, 5-6 s before the first streamed text. Over both question
    sets, 950 characters keep every candidate that states an asked fact (a fact's pattern
    found in its text) and bring the 95th percentile of the prompt's sentences from 395 to
    about 300 tokens (README, "Evaluation", change 18); 900 drop q042's."""
    parts_best = [own[0].sentence for _, own in parts if own]
    shown: list[Scored] = []
    used = 0
    for n, candidate in enumerate(candidates):
        size = len(" ".join(candidate.sentence.text.split())) + len(
            " ".join(titles.get(candidate.sentence.doc_id, "").split())
        )
        needed = n == 0 or any(overlaps(candidate.sentence, best) for best in parts_best)
        if needed or used + size <= budget:
            shown.append(candidate)
            used += size
    return shown
