"""Telling a French question from an English one."""

from __future__ import annotations

import re
from typing import Literal

from vectorstore.tokens import STOPWORDS_EN, STOPWORDS_FR, fold

Language = Literal["fr", "en"]

_FR_MARKERS = re.compile(
    r"\b(?:[ldjmnst]|qu)['’]\w|-t-(?:il|elle|on)\b|[éèêàçùûôîœ]", re.IGNORECASE
)
# Words that are stop words in one language but ordinary words in the other are left out.
_FR_ONLY = STOPWORDS_FR - STOPWORDS_EN - {"a", "on", "son", "est", "sur", "me", "de", "en", "ne"}
_EN_ONLY = STOPWORDS_EN - STOPWORDS_FR - {"on", "as", "son", "me"}
_FR_QUESTION = {"combien", "quand", "comment", "pourquoi", "quoi", "ou", "lequel", "laquelle"}
_EN_QUESTION = {"how", "why", "when", "where", "what", "who", "which", "whose"}


def detect_language(text: str) -> Language:
    """'fr' or 'en', from function words and French spelling; French when it cannot tell."""
    words = re.findall(r"[a-z]+", fold(text))
    fr = sum(w in _FR_ONLY or w in _FR_QUESTION for w in words)
    en = sum(w in _EN_ONLY or w in _EN_QUESTION for w in words)
    fr += 2 * len(_FR_MARKERS.findall(text))
    return "en" if en > fr else "fr"
