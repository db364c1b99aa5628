"""The texts the service frames its answers with, one file per purpose and language.

`load_prompt("extractive", "fr")` reads `prompts/extractive_fr.toml` once and keeps it.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


@lru_cache
def load_prompt(purpose: str, language: str) -> dict[str, str]:
    """The named template set; FileNotFoundError names the missing file."""
    path = _HERE / f"{purpose}_{language}.toml"
    with path.open("rb") as handle:
        return {key: str(value) for key, value in tomllib.load(handle).items()}
