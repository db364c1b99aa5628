"""Checking what a model wrote before anyone reads it.

The model saw the retrieved passages numbered [1]..[n]. Each sentence it wrote is kept only if
it cites at least one of those passages and the cited passages support it (`support.judge`: its
numbers and names are there, and its key terms or its meaning). A kept sentence cites, for each
passage, the sentence of that passage closest to it when that sentence supports it alone, else
the whole passage. Markers are renumbered to the citations kept, so a marker naming no passage
never reaches the client; what was removed is returned for the response's `unsupported` list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from app.services.answering.generator import Citation
from app.services.answering.support import Embed, judge, split_claims
from vectorstore import Chunk, ChunkHit, Sentence

_END = re.compile(r"[.!?…]+$")


@dataclass
class Verified:
    text: str
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Evidence:
    """The numbered passages the model saw, with their sentences and sentence vectors."""

    hits: list[ChunkHit]
    sentences: list[Sentence]
    vectors: np.ndarray

    def passage(self, marker: int) -> Chunk | None:
        return self.hits[marker - 1].chunk if 1 <= marker <= len(self.hits) else None


def verify(answer: str, evidence: Evidence, embed: Embed) -> Verified:
    """Keep the supported sentences of a generated answer, each with its citations."""
    result = Verified(text="")
    kept: list[str] = []
    numbers: dict[tuple[str, int, int], int] = {}
    for claim in split_claims(answer):
        # The whole sentence is judged, not only a quotation in it: what a model writes around
        # a quote is a claim too.
        passages = [p for m in dict.fromkeys(claim.markers) if (p := evidence.passage(m))]
        if not passages or not judge(claim.sentence, [p.text for p in passages], embed).supported:
            result.unsupported.append(claim.sentence)
            continue
        markers = []
        for passage in passages:
            cited = _cited_span(claim.sentence, passage, evidence, embed)
            key = (passage.doc_id, cited.start, cited.end)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                result.citations.append(Citation(numbers[key], cited, passage, 1.0))
            markers.append(numbers[key])
        kept.append(_with_markers(claim.sentence, sorted(set(markers))))
    result.text = " ".join(kept)
    return result


def _cited_span(claim: str, passage: Chunk, evidence: Evidence, embed: Embed) -> Sentence:
    """The passage's sentence closest to the claim if it supports it alone, else the passage."""
    own = [i for i, s in enumerate(evidence.sentences) if s.chunk_id == passage.id and s.whole]
    if own:
        closeness = evidence.vectors[own] @ embed([claim])[0]
        best = evidence.sentences[own[int(np.argmax(closeness))]]
        if judge(claim, [best.text], embed).supported:
            return best
    return Sentence(
        id=passage.id,
        doc_id=passage.doc_id,
        chunk_id=passage.id,
        text=passage.text,
        start=passage.start,
        end=passage.end,
    )


def _with_markers(sentence: str, markers: list[int]) -> str:
    """The sentence with its markers before its final punctuation: "... 3 millions [1]."."""
    tags = "".join(f"[{m}]" for m in markers)
    end = _END.search(sentence)
    if end:
        return f"{sentence[: end.start()].rstrip()} {tags}{end.group()}"
    return f"{sentence} {tags}"
