"""A sentence that refers back is read, scored and quoted with the sentence it refers to.

"Ce sera Elon Musk, qui se présente ainsi peu de temps après la victoire de Trump" says what
Musk calls himself only with the sentence before it ("Vous aurez également un « premier copain
»."); "Cette citation, tirée de l'annonce officielle, ..." is what makes the quote before it the
official announcement's; "Ce changement vise probablement à assurer un financement pérenne"
says why OpenAI would become a for-profit company only after "OpenAI envisage de passer en mode
entreprise à but lucratif". Scored alone, such a sentence lacks the words that say what it is
about, and quoted alone, it cannot be read. So a sentence that opens by referring back (a
demonstrative or a subject pronoun: `refers_back`) is joined to the sentence before it in its
chunk, and the pair stands in its place as one span of the article: its text is the article's
own, from the first sentence's start to the second's end, and its vector is the normalised sum
of theirs (the sentences' vectors are embedded once, at ingest; a pair's is not). This is the
sentence-window idea of llama-index's `SentenceWindowNodeParser`, kept to the one sentence a
reference points back to, so that a citation stays short.

Measured on the two question sets: README, "Evaluation", change 9.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from app.services.answering.injection import addresses_an_assistant
from vectorstore import Chunk, Sentence

# A sentence's first word refers back: "Ce sera ...", "Cette initiative ...", "Elle a ...",
# "Sa proximité ...", "This offer ...", "It will ..." (after "Mais", "Et", "But" ... too); an
# impersonal "Il y a", "Il faut", "Il semble", "It is clear" refers to nothing.
_REFERS_BACK = re.compile(
    r"(?:(?:Mais|Et|Or|Puis|But|And|Yet)\s+)?"
    r"(?!Il\s+(?:y\s+a|faut|semble|s['’]agit|reste)\b|It\s+(?:is|was)\s+(?:clear|likely|worth))"
    r"(?:Ce|Cet|Cette|Ces|Cela|Ça|Ceci|Celui-ci|Celle-ci|Ceux-ci|Celles-ci|Il|Elle|Ils|Elles"
    r"|Son|Sa|Ses|Leur|Leurs|This|That|These|Those|It|He|She|They|His|Her|Its|Their|Such)\b",
    re.IGNORECASE,  # "Mais elle ..."
)
# The sentence referred to ends as a sentence does; a heading ("Une Offre Inédite pour
# l'Administration Américaine") is not what "Cette initiative" refers to.
_ENDS_A_SENTENCE = (".", "!", "?", "…", "»", "”", '"', ":")
JOINED = 3  # sentences in a span at most: the one referred to and two that refer back


def refers_back(text: str) -> bool:
    """Whether the sentence opens with a word that refers to what came before it."""
    return _REFERS_BACK.match(text.lstrip(" \t\n-–•«“\"'")) is not None


def with_antecedents(
    sentences: Sequence[Sentence], vectors: np.ndarray, chunks: Mapping[str, Chunk]
) -> tuple[list[Sentence], np.ndarray]:
    """The sentences (in document order, with their (n, dimension) unit vectors), each one
    that refers back replaced by itself joined to the sentences before it in the same chunk
    (`chunks` by id, for the text between them), with the normalised sum of their vectors.

    A run of such sentences joins back to the sentence the first of them refers to, up to
    JOINED sentences in all ("Vous aurez également un « premier copain ». Ce sera Elon Musk
    ... Sa proximité ..."). A sentence stays alone when it opens its chunk, or when the one
    before it is cut by the chunk's boundary, is a heading, or addresses AI assistants.
    Same length and order as given."""
    joined = list(sentences)
    out = np.array(vectors, dtype=np.float32, copy=True)
    runs: dict[str, list[int]] = {}  # per chunk, the rows of the span its last sentence is in
    for row, sentence in sorted(enumerate(sentences), key=lambda p: (p[1].chunk_id, p[1].start)):
        run = runs.get(sentence.chunk_id, [])
        previous = sentences[run[-1]] if run else None
        chunk = chunks.get(sentence.chunk_id)
        if (
            previous is None
            or chunk is None
            or not (previous.whole and sentence.whole)
            or not previous.text.rstrip().endswith(_ENDS_A_SENTENCE)
            or addresses_an_assistant(previous.text)
            or not refers_back(sentence.text)
        ):
            runs[sentence.chunk_id] = [row]
            continue
        rows = [*run[-(JOINED - 1) :], row]
        run.append(row)
        first = sentences[rows[0]]
        joined[row] = Sentence(
            id=f"{first.id}+{sentence.id.rsplit(':', 1)[-1]}",
            doc_id=sentence.doc_id,
            chunk_id=sentence.chunk_id,
            text=chunk.text[first.start - chunk.start : sentence.end - chunk.start],
            start=first.start,
            end=sentence.end,
            content_hash=sentence.content_hash,
        )
        summed = vectors[rows].sum(axis=0)
        out[row] = summed / max(float(np.linalg.norm(summed)), 1e-12)
    return joined, out


def overlaps(a: Sentence, b: Sentence) -> bool:
    """Whether two spans share text of the same article (a sentence and the pair holding it)."""
    return a.doc_id == b.doc_id and a.start < b.end and b.start < a.end
