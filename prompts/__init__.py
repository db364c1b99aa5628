"""The texts the service frames its answers with, one file per purpose and language.

`load_prompt("extractive", "fr")` reads `prompts/extractive_fr.toml` once and keeps it; a purpose
whose prompt serves every language has one file (`load_prompt("judge")`: `prompts/judge.toml`).
`load_examples` gives a file's worked examples, each a list of strings (the model's few shots).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent


@lru_cache
def _load(purpose: str, language: str | None) -> dict[str, Any]:
    name = f"{purpose}_{language}.toml" if language else f"{purpose}.toml"
    with (_HERE / name).open("rb") as handle:
        return tomllib.load(handle)


def load_prompt(purpose: str, language: str | None = None) -> dict[str, str]:
    """The named template set (its text fields); FileNotFoundError names the missing file."""
    return {k: str(v) for k, v in _load(purpose, language).items() if not isinstance(v, list)}


def load_examples(purpose: str, language: str | None = None) -> list[list[str]]:
    """The file's worked examples (its `examples` list of lists of strings), maybe none."""
    return [
        [str(field) for field in example]
        for example in _load(purpose, language).get("examples", [])
    ]
