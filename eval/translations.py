"""`python -m eval.translations`: how many facts the reader's English translations keep.

An English question over French articles is answered with the cited French sentences
translated by the model (`GenerativeGenerator.translations`, each translation verified against
its sentence). This measures that step alone, without retrieval or the writer: for each
answerable English question of the sets, each sentence of its source articles that states one
of its facts (the fact's pattern matches the French, as the evaluation reads facts), and each
span of two or three sentences holding one (`antecedents.py`), is translated as an answer's
would be, and the translation is read for the same facts. A translation the checks refuse
leaves the answer quoted in French (or in the model's own words); one that loses a fact states
less than the quotation would have.

python -m eval.translations                          # both sets, about 10 minutes on 2 cores
python -m eval.translations --out pairs.jsonl        # each pair, to read the translations

Prints the pairs, those refused, those that lost a fact and those that kept all.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from config import PROJECT_ROOT, Settings
from eval.dataset import DEFAULT_QUESTIONS, Question, load_questions
from vectorstore import Chunk, Sentence

QUESTION_SETS = (DEFAULT_QUESTIONS, DEFAULT_QUESTIONS.with_name("heldout.jsonl"))


@dataclass(frozen=True)
class Pair:
    """A question, one sentence (or span) of its source that states `facts` (their patterns),
    and the chunk it was read in."""

    question: Question
    sentence: Sentence
    chunk: Chunk
    facts: tuple[re.Pattern[str], ...]


def fact_sentences(
    questions: Iterable[Question], sentences: Sequence[Sentence], chunks: dict[str, Chunk]
) -> list[Pair]:
    """For each answerable English question, each whole sentence of its source articles (by
    file name, `Question.sources`) that one of its facts matches, in the order given."""
    pairs = []
    for question in questions:
        if question.language != "en" or not question.answerable:
            continue
        for sentence in sentences:
            chunk = chunks[sentence.chunk_id]
            if not sentence.whole or Path(chunk.doc.source).name not in question.sources:
                continue
            facts = tuple(f for f in question.facts if f.search(sentence.text))
            if facts:
                pairs.append(Pair(question, sentence, chunk, facts))
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.translations", description=__doc__)
    parser.add_argument("--articles", type=Path, default=PROJECT_ROOT / "data" / "articles")
    parser.add_argument("--questions", type=Path, nargs="+", default=list(QUESTION_SETS))
    parser.add_argument("--out", type=Path, help="write each pair and its translation (JSONL)")
    args = parser.parse_args(argv)

    from fastapi.testclient import TestClient

    from app.factory import create_app
    from app.services.answering.antecedents import with_antecedents
    from app.services.answering.generator import Citation
    from ingest.pipeline import ingest_paths
    from vectorstore import ChromaStore, make_embedder

    questions = [q for path in args.questions for q in load_questions(path)]
    with tempfile.TemporaryDirectory(prefix="eval-translations-") as tmp:
        settings = Settings(
            chroma_path=Path(tmp) / "chroma",
            chroma_host=None,
            llm_backend="local",
            retrieval_mode="memory",
        )
        embedder = make_embedder(settings)
        store = ChromaStore.from_settings(settings, embedder.fingerprint)
        ingest_paths([args.articles], store, embedder, settings)
        app = create_app(settings)
        with TestClient(app):
            components = app.state.components
            corpus = components.retriever.snapshot
            chunks = {chunk.id: chunk for chunk in corpus.chunks}
            sentences, vectors = corpus.sentences_of(list(chunks))
            spans, _ = with_antecedents(sentences, vectors, chunks)
            read = list({(s.doc_id, s.start, s.end): s for s in [*sentences, *spans]}.values())
            generator = components.generator
            counts = {"refused": 0, "lost a fact": 0, "kept every fact": 0}
            out = args.out.open("w", encoding="utf-8") if args.out else None
            for pair in fact_sentences(questions, read, chunks):
                citation = Citation(1, pair.sentence, pair.chunk, 1.0)
                with generator.queue.turn(math.inf):
                    text = generator.translations([citation], pair.question.question)
                kept = [f for f in pair.facts if text and f.search(text)]
                outcome = (
                    "refused"
                    if text is None
                    else "kept every fact"
                    if len(kept) == len(pair.facts)
                    else "lost a fact"
                )
                counts[outcome] += 1
                if out:
                    row = {
                        "id": pair.question.id,
                        "source": pair.sentence.text,
                        "translation": text,
                        "outcome": outcome,
                    }
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
            if out:
                out.close()
    total = sum(counts.values())
    print(
        f"{total} sentences stating a fact, translated: "
        + ", ".join(f"{name} {n} ({n / total:.3f})" for name, n in counts.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
