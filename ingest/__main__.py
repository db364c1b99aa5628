"""`python -m ingest [PATH ...]`: ingest articles into Chroma (default: the shipped sample)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError
from tqdm import tqdm

from config import Settings
from ingest.pipeline import ingest_paths
from vectorstore import ChromaStore, ServiceError, make_embedder

_PROGRESS_FROM = 20  # files; fewer finish before a bar would help


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Clean, chunk and embed articles (.txt, .md, .html) into Chroma.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="files or folders (default: DATA_DIR, the shipped sample articles)",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="empty the collection first (needed to switch embedders)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    args = parser.parse_args(argv)
    try:
        settings = Settings()
        embedder = make_embedder(settings)
        if args.reset:
            ChromaStore.drop(settings)
        store = ChromaStore.from_settings(settings, embedder.fingerprint)
        paths = args.paths or [settings.data_dir]
        report = ingest_paths(
            paths,
            store,
            embedder,
            settings,
            on_progress=_progress_quiet if args.quiet else _progress,
        )
    except ValidationError as exc:
        print(f"ingest: invalid settings: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"ingest: {exc.message}", file=sys.stderr)
        return 2
    for path, why in report.skipped:
        print(f"skipped {path}: {why}", file=sys.stderr)
    print(f"ingest: {report.summary()}")
    return 0


def _progress_quiet(files: list[Path]) -> Iterable[Path]:
    return files


def _progress(files: list[Path]) -> Iterable[Path]:
    if len(files) < _PROGRESS_FROM:
        return files
    return tqdm(files, desc="ingest", unit="doc", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
