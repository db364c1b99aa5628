"""Okapi BM25 over the chunks, held in memory and built once per corpus snapshot."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from vectorstore.tokens import tokenize


class BM25Index:
    """Scores every document for a query at once from a sparse term-to-postings map."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        docs = [Counter(tokenize(t)) for t in texts]
        self.size = len(docs)
        lengths = np.array([sum(d.values()) for d in docs], dtype=np.float32)
        avg = float(lengths.mean()) if self.size else 0.0
        norm = k1 * (1 - b + b * lengths / max(avg, 1e-9))
        postings: dict[str, list[tuple[int, int]]] = {}
        for i, doc in enumerate(docs):
            for term, count in doc.items():
                postings.setdefault(term, []).append((i, count))
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.idf: dict[str, float] = {}
        for term, plist in postings.items():
            ids = np.array([i for i, _ in plist], dtype=np.int32)
            tf = np.array([n for _, n in plist], dtype=np.float32)
            df = len(plist)
            self.idf[term] = math.log(1 + (self.size - df + 0.5) / (df + 0.5))
            self._postings[term] = (ids, self.idf[term] * tf * (k1 + 1) / (tf + norm[ids]))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for the query (zeros where no term matches)."""
        out = np.zeros(self.size, dtype=np.float32)
        for term in set(tokenize(query)):
            if term in self._postings:
                ids, contrib = self._postings[term]
                out[ids] += contrib
        return out

    def known_share(self, query: str) -> float:
        """Share of the query's terms that occur in the corpus: how much of it BM25 can see.

        An English question over French articles shares only its names and numbers with them;
        its BM25 ranking then rests on a few words and deserves less weight in the fusion.
        """
        terms = set(tokenize(query))
        return sum(t in self.idf for t in terms) / len(terms) if terms else 0.0

    def top(self, query: str, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The n best (index, score) pairs with a score above zero, best first; only among
        the documents where the boolean mask `allowed` (one per document) is True, if given."""
        scores = self.scores(query)
        if allowed is not None:
            scores[~allowed] = 0.0
        n = min(n, int(np.count_nonzero(scores)))
        if n == 0:
            return []
        best = np.argpartition(-scores, n - 1)[:n]
        best = best[np.argsort(-scores[best])]
        return [(int(i), float(scores[i])) for i in best]
