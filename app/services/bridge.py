"""Carrying a query's foreign words over to the corpus's own vocabulary, for BM25.

BM25 ranks French articles well for French questions, but an English question shares only its
names and numbers with them. Each query word the corpus does not contain is replaced by its
nearest corpus word in the multilingual embedder's space when they are close enough
("offer" -> "offre", "board" -> "conseil"), so the lexical ranking sees the question too. This
is dictionary induction from a cross-lingual embedding, with the corpus as the dictionary.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np

from vectorstore import Embedder
from vectorstore.lexical import VOCABULARY_SIZE
from vectorstore.tokens import surface_words, tokenize

_BATCH = 512
_NEAREST_REMEMBERED = 100_000


class VocabularyBridge:
    """The corpus vocabulary with a vector per word, and the lookup of foreign query words.

    `words` are the corpus words a foreign word may be carried to, with their vectors as the
    rows of `matrix` ((len(words), dimension) float32, unit length); `vectors` maps words to
    vectors and may hold more (words seen before a refresh); `is_known(terms)` says whether the
    corpus uses every one of a word's terms. `of_texts` builds one from texts."""

    def __init__(
        self,
        words: list[str],
        matrix: np.ndarray,
        vectors: dict[str, np.ndarray],
        is_known: Callable[[set[str]], bool],
        threshold: float,
    ) -> None:
        self.threshold = threshold
        self._words = words
        self._matrix = matrix
        self._cache = vectors
        self._is_known = is_known
        self._nearest: dict[str, str] = {}
        self._foreign: dict[str, bool] = {}

    @classmethod
    def of_texts(
        cls,
        texts: Iterable[str],
        embedder: Embedder,
        threshold: float,
        cache: dict[str, np.ndarray],
    ) -> VocabularyBridge:
        """The bridge of a corpus in memory: its `VOCABULARY_SIZE` most frequent words,
        embedded (those not in `cache` yet, which keeps them)."""
        counts = Counter(w for text in texts for w in surface_words(text))
        terms = {t for w in counts for t in tokenize(w)}
        words = sorted(w for w, _ in counts.most_common(VOCABULARY_SIZE))
        missing = [w for w in words if w not in cache]
        for i in range(0, len(missing), _BATCH):
            batch = missing[i : i + _BATCH]
            cache.update(zip(batch, embedder.embed_query(batch), strict=True))
        matrix = (
            np.stack([cache[w] for w in words])
            if words
            else np.zeros((0, embedder.dimension), dtype=np.float32)
        )
        return cls(words, matrix, cache, terms.issuperset, threshold)

    @property
    def vocabulary(self) -> dict[str, np.ndarray]:
        """Every corpus word's vector (and those of words seen before a refresh)."""
        return self._cache

    def vectors_of(self, words: Iterable[str]) -> dict[str, np.ndarray]:
        """The vectors of those words that belong to the corpus vocabulary."""
        return {w: self._cache[w] for w in words if w in self._cache}

    def foreign_words(self, query: str) -> list[str]:
        """The query's words whose terms the corpus never uses."""
        return [w for w in dict.fromkeys(surface_words(query)) if self._is_foreign(w)]

    def _is_foreign(self, word: str) -> bool:
        """Whether the corpus never uses the word's terms, remembered: each query asks this
        of all its words."""
        foreign = self._foreign.get(word)
        if foreign is None:
            foreign = not self._is_known(set(tokenize(word)))
            if len(self._foreign) < _NEAREST_REMEMBERED:
                self._foreign[word] = foreign
        return foreign

    def expand(self, query: str, words: list[str], vectors: np.ndarray) -> str:
        """The query with each foreign word close enough to a corpus word replaced by it
        ("How much did Musk offer?" -> "How much did Musk offre?"); a foreign word with none
        stays. `words` are the query's foreign words (`foreign_words`), `vectors` theirs.

        Replaced, not followed: BM25 scores the same either way (a foreign word matches
        nothing), but the share of the query the corpus knows (`BM25Index.known_share`, which
        weighs the lexical ranking in the fusion) then counts a carried word as seen. Measured
        on the two question sets (README, "How it answers"): the chunk stating the fact ranked
        in the top 5 for 0.898 -> 0.918 of the English questions, 0.979 -> 1.000 of the French
        ones, with the article first as often."""
        if not words or not len(self._matrix):
            return query
        found = {w: self._nearest_word(w, v) for w, v in zip(words, vectors, strict=True)}
        carried = {w: near for w, near in found.items() if near}
        if not carried:
            return query
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, carried)) + r")\b", re.IGNORECASE)
        return pattern.sub(lambda m: carried.get(m.group().lower(), m.group()), query)

    def _nearest_word(self, word: str, vector: np.ndarray) -> str:
        """The corpus word nearest to a foreign word ("" if none is close enough), remembered:
        a scan of the whole vocabulary costs more than the rest of a query at scale."""
        nearest = self._nearest.get(word)
        if nearest is None:
            similarity = self._matrix @ vector
            best = int(similarity.argmax())
            nearest = self._words[best] if similarity[best] >= self.threshold else ""
            if len(self._nearest) < _NEAREST_REMEMBERED:
                self._nearest[word] = nearest
        return nearest
