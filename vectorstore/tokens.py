"""Word tokens for lexical matching, fit for French and English.

Lower-cased and accent-folded ("Élysée" and "elysee" match), elisions split off ("l'IA" gives
"ia", "d’OpenAI" gives "openai"), stop words dropped, and a light plural folding ("milliards" and
"milliard" match). Numbers are kept whole ("97", "2025", "1,5").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Characters typed for an apostrophe besides ' and ’: the modifier letter (which regular
# expressions take for a letter, gluing "lʼusine" into one word), the prime, the acute accent
# and the full-width one. Each becomes ’.
_APOSTROPHES = str.maketrans(dict.fromkeys("\u02bc\u2032\u00b4\uff07", "\u2019"))


def canonical(text: str) -> str:
    """Text as the service compares it: NFC, and every apostrophe ' or ’.

    Documents, their names and questions all pass through it, so "Été" typed with a combining
    accent, or "lʼusine" with a modifier letter, finds what "Été" and "l’usine" find.
    """
    return unicodedata.normalize("NFC", text).translate(_APOSTROPHES)


# Elided articles and pronouns: "l'IA", "d’OpenAI", "qu'il".
ELISION = re.compile(r"\b(?:l|d|qu|n|s|c|j|m|t|jusqu|lorsqu|puisqu|quoiqu)['’]", re.IGNORECASE)
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")

STOPWORDS_FR = frozenset(
    """
a ai aie au aux avec avait avez avoir ce ceci cela celle celles celui ces cet cette chez comme
dans de des du elle elles en entre est et etaient etait etc ete etre eu il ils je la le les
leur leurs lui ma mais me meme mes moi mon ne nos notre nous on ont ou par pas plus pour qu que
quel quelle quelles quels qui sa sans se ses si son sont sur ta te tes toi ton tous tout toute
toutes tu un une vos votre vous y a-t-il est-ce ca cest
""".split()
)

STOPWORDS_EN = frozenset(
    """
a about after an and any are as at be been before being but by can could did do does doing for
much many
from had has have having he her here hers him his how i if in into is it its itself me more
most my no nor not of on or our out over own she should so some such than that the their them
then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your
""".split()
)

STOPWORDS = STOPWORDS_FR | STOPWORDS_EN


def fold(text: str) -> str:
    """Lower case without accents."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=32768)
def fold_text(text: str) -> str:
    """`fold` for a passage or sentence of the corpus, remembered: answering weighs the same
    sentences for many questions, and folding is the slow part of it."""
    return fold(text)


@lru_cache(maxsize=65536)
def fold_word(word: str) -> str:
    """`fold` for one word, remembered: answering folds the same words again and again."""
    return fold(word)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light plural folding: 'milliards' -> 'milliard', 'automatisees' -> 'automatisee'."""
    if len(word) > 4 and word[-1] in "sx" and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Content tokens of a text, in order, for BM25 and overlap scores."""
    # Folding never turns a blank into a word character or back, so the tokens of a text are
    # those of its blank-separated pieces in turn, each folded once and then remembered.
    tokens: list[str] = []
    for piece in ELISION.sub(" ", text).split():
        tokens += _piece_tokens(piece)
    return tokens


@lru_cache(maxsize=65536)
def _piece_tokens(piece: str) -> tuple[str, ...]:
    words = _WORD.findall(fold(piece))
    return tuple(stem(w) for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit()))


_LETTERS = re.compile(r"[^\W\d_]+")


def surface_words(text: str) -> list[str]:
    """Lower-cased words of three letters or more, elisions and stop words left out."""
    words = _LETTERS.findall(ELISION.sub(" ", text.lower()))
    return [w for w in words if len(w) > 2 and fold_word(w) not in STOPWORDS]
