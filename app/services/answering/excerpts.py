"""A cited piece of text that is not a sentence, read as the clauses of it that answer.

A line scraped without sentence punctuation (keywords, a flattened table; the field case F16, a
1.7 MB line of codes ending "... Ardelis-109999 et enfin le péage du pont de Kerlouan coûte 3
euros") is cut at ingest into pieces of at most MAX_SENTENCE_CHARS (`ingest/chunking.py`), each
ending where a clause does. Quoted whole, such a piece is some 400 characters of codes around a
fact of eight words. `excerpt` narrows a long piece that does not end as a sentence does to the
shortest run of its clauses that covers the question as well as the whole piece does and, when
the piece holds the kind of answer asked for (`EvidenceCheck.could_answer`), holds it too. The
narrower Sentence keeps its chunk and gets its own offsets: it is what is scored, shown to the
reader, quoted (`« … enfin le péage du pont de Kerlouan coûte 3 euros »`) and cited, so the
widget highlights the clause and not the codes around it.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from app.services.answering.evidence import EvidenceCheck
from vectorstore import Sentence

# A piece shorter than this reads as it is (the sample's sentences run to 341 characters, and
# none of those under this length is a run of clauses quoted for one of them).
EXCERPT_MIN_CHARS = 200
# A run of clauses may cover the question's words this much less than the whole piece: a word
# matched only through the word vectors finds its best match a little apart from the fact.
COVERAGE_SLACK = 0.02
# Where a clause ends: a comma, semicolon or colon, a dash between spaces, "et" / "and". Not
# `ingest/chunking.py`'s clause ends, which cut a piece after its punctuation: here the break
# is left out of both clauses, and a closing bracket ("(Paul Dufresne) ;") stays in its own.
_CLAUSE_BREAK = re.compile(r"[,;:](?=\s)\s*|\s+[–—-]\s+|\s+(?:et|and)\s+")
_ENDS_A_SENTENCE = re.compile(r"[.!?…][»”\"')\]]*\s*$")


def excerpt(sentence: Sentence, check: EvidenceCheck) -> Sentence:
    """The sentence, or its shortest run of clauses (by characters) that covers the question's
    words within COVERAGE_SLACK of the whole and, if the whole could answer the question,
    could answer it too. Only a piece of EXCERPT_MIN_CHARS or more that does not end a
    sentence is narrowed; the result's `text` is `sentence.text[a:b]`, its `start` and `end`
    moved by as much, its `id` the sentence's with "@a-b" after it."""
    text = sentence.text
    if len(text) < EXCERPT_MIN_CHARS or _ENDS_A_SENTENCE.search(text):
        return sentence
    clauses = _clauses(text)
    if len(clauses) < 2:
        return sentence
    matches = np.stack([check.word_matches(text[a:b]) for a, b in clauses])
    whole = check.weighted(matches.max(axis=0))
    answers = check.could_answer(text)
    windows = sorted(
        ((i, j) for i in range(len(clauses)) for j in range(i, len(clauses))),
        key=lambda w: clauses[w[1]][1] - clauses[w[0]][0],
    )
    for i, j in windows:
        start, end = clauses[i][0], clauses[j][1]
        if (i, j) == (0, len(clauses) - 1):
            return sentence  # no shorter run answers as well as the whole
        if check.weighted(matches[i : j + 1].max(axis=0)) < whole - COVERAGE_SLACK:
            continue
        if answers and not check.could_answer(text[start:end]):
            continue
        return dataclasses.replace(
            sentence,
            id=f"{sentence.id}@{start}-{end}",
            text=text[start:end],
            start=sentence.start + start,
            end=sentence.start + end,
        )
    return sentence


def _clauses(text: str) -> list[tuple[int, int]]:
    """(start, end) of each clause of the text, without the breaks between them."""
    spans, start = [], 0
    for match in _CLAUSE_BREAK.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text.rstrip())))
    return [(a, b) for a, b in spans if b > a]
