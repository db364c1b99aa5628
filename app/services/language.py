"""Telling a French question from an English one."""

from __future__ import annotations

import re
from typing import Literal

from vectorstore.tokens import STOPWORDS_EN, STOPWORDS_FR, fold

Language = Literal["fr", "en"]

# An elision before a lower-case word ("l'article", "qu'il"; "d'Albret" is a name's), "-t-il".
_FR_MARKERS = re.compile(r"\b(?:[ldjmnstLDJMNST]|[Qq]u)['’][a-zà-ÿœ]|-t-(?:il|elle|on)\b")
_ACCENTED = re.compile(r"[éèêàçùûôîœ]", re.IGNORECASE)
_LETTERS = re.compile(r"[^\W\d_]+")
# Words that are stop words in one language but ordinary words in the other are left out.
_FR_ONLY = STOPWORDS_FR - STOPWORDS_EN - {"a", "on", "son", "est", "sur", "me", "de", "en", "ne"}
_EN_ONLY = STOPWORDS_EN - STOPWORDS_FR - {"on", "as", "son", "me"}
_FR_QUESTION = {"combien", "quand", "comment", "pourquoi", "quoi", "ou", "lequel", "laquelle"}
_EN_QUESTION = {"how", "why", "when", "where", "what", "who", "which", "whose"}


def detect_language(text: str) -> Language:
    """'fr' or 'en', from function words and French spelling; French when it cannot tell.

    French spelling is an elision ("l'article", "qu'il"), "-t-il", or an accented letter in a
    word written in lower case: a name keeps its accents in English ("How many visitors did
    the Quimperlé Lantern Festival attract?", "What did Sébastien Lecornu say?"), where
    counted they outweighed the English function words around them. Each counts for two
    function words."""
    words = re.findall(r"[a-z]+", fold(text))
    fr = sum(w in _FR_ONLY or w in _FR_QUESTION for w in words)
    en = sum(w in _EN_ONLY or w in _EN_QUESTION for w in words)
    accented = sum(
        len(_ACCENTED.findall(word)) for word in _LETTERS.findall(text) if not word[0].isupper()
    )
    fr += 2 * (len(_FR_MARKERS.findall(text)) + accented)
    return "en" if en > fr else "fr"
