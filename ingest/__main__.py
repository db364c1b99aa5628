"""`python -m ingest [PATH ...] [--feed URL ...] [--sitemap URL ...]`: ingest articles into Chroma
(default, when given nothing: the shipped sample)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import ValidationError
from tqdm import tqdm

from config import Settings
from ingest.feeds import Entry, FetchError, ingest_feed
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
    parser.add_argument(
        "--feed",
        action="append",
        default=[],
        metavar="URL",
        help="an RSS 2.0 or Atom feed: fetch and ingest every article it links to (repeatable)",
    )
    parser.add_argument(
        "--sitemap",
        action="append",
        default=[],
        metavar="URL",
        help="a sitemap or sitemap index: fetch and ingest every page it lists (repeatable)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    args = parser.parse_args(argv)
    failed = False
    try:
        settings = Settings()
        embedder = make_embedder(settings)
        if args.reset:
            ChromaStore.drop(settings)
        store = ChromaStore.from_settings(settings, embedder.fingerprint)
        urls = [*args.feed, *args.sitemap]
        reports = []
        if args.paths or not urls:
            reports.append(
                ingest_paths(
                    args.paths or [settings.data_dir],
                    store,
                    embedder,
                    settings,
                    on_progress=_progress_quiet if args.quiet else _progress,
                )
            )
        for url in urls:
            try:
                reports.append(ingest_feed(url, store, embedder, settings, on_entry=_say(args)))
            except FetchError as exc:
                print(f"ingest: cannot read the feed {exc}", file=sys.stderr)
                failed = True
    except ValidationError as exc:
        print(f"ingest: invalid settings: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"ingest: {exc.message}", file=sys.stderr)
        return 2
    for report in reports:
        for path, why in report.skipped:
            print(f"skipped {path}: {why}", file=sys.stderr)
        print(f"ingest: {report.summary()}")
    return 1 if failed else 0


def _say(args: argparse.Namespace) -> Callable[[Entry], None]:
    def say(entry: Entry) -> None:
        if not args.quiet:
            print(f"  {entry.date or '----------'}  {entry.link}", file=sys.stderr)

    return say


def _progress_quiet(files: list[Path]) -> Iterable[Path]:
    return files


def _progress(files: list[Path]) -> Iterable[Path]:
    if len(files) < _PROGRESS_FROM:
        return files
    return tqdm(files, desc="ingest", unit="doc", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
