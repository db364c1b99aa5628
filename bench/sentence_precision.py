"""`python -m bench.sentence_precision`: what storing sentence vectors in one byte per dimension
changes, against float32: bytes per sentence, cosine error, retrieval and citations.

The sample is ingested (sentence vectors stored as signed bytes), the same sentences are
embedded again in float32, and every question of the question set is retrieved and answered
(extractive backend, which ranks sentences by their vectors) over each.
"""

from __future__ import annotations

import base64
import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from app.services.answering import ExtractiveGenerator
from app.services.language import detect_language
from app.services.retriever import HybridRetriever
from config import PROJECT_ROOT, Settings
from eval.dataset import DEFAULT_QUESTIONS, load_questions
from ingest.pipeline import ingest_paths
from vectorstore import ChromaStore, make_embedder
from vectorstore.store import dequantise, quantise


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            chroma_path=Path(tmp), llm_backend="extractive", retrieval_mode="memory"
        )
        embedder = make_embedder(settings)
        store = ChromaStore.from_settings(settings, embedder.fingerprint)
        ingest_paths([PROJECT_ROOT / "data" / "articles"], store, embedder, settings)
        stored = HybridRetriever(store, embedder, settings)
        exact = HybridRetriever(store, embedder, settings)
        snapshot = stored.snapshot
        float32 = embedder.embed([s.text for s in snapshot.sentences])
        exact._snapshot = dataclasses.replace(snapshot, sentence_vectors=float32)
        assert np.allclose(dequantise(quantise(float32)), snapshot.sentence_vectors)
        generator = ExtractiveGenerator(settings)
        questions = load_questions(DEFAULT_QUESTIONS)
        same_hits = same_citations = 0
        errors: list[float] = []
        for q in questions:
            language = detect_language(q.question)
            a, b = stored.retrieve(q.question, 5), exact.retrieve(q.question, 5)
            same_hits += [h.chunk.id for h in a.hits] == [h.chunk.id for h in b.hits]
            cited_a = [c.sentence.id for c in generator.answer(q.question, language, a).citations]
            cited_b = [c.sentence.id for c in generator.answer(q.question, language, b).citations]
            same_citations += cited_a == cited_b
            errors.append(
                float(np.abs((snapshot.sentence_vectors - float32) @ a.query_vector).max())
            )
    per_sentence = {
        "float32": len(base64.b64encode(float32[0].astype("<f4").tobytes())),
        "int8": len(base64.b64encode(quantise(float32[:1]).tobytes())),
    }
    n = len(questions)
    print(f"{len(float32)} sentences, {n} questions")
    print(f"base64 characters per sentence vector: {per_sentence}")
    print(f"largest cosine error over all sentences and questions: {max(errors):.4f}")
    print(f"same top 5 chunks: {same_hits}/{n}; same citations (extractive): {same_citations}/{n}")


if __name__ == "__main__":
    main()
