"""`python -m eval`: run the question set, print the table, write JSON and Markdown, gate on floors.

python -m eval                                   # in-process over data/articles
python -m eval --url http://127.0.0.1:8000       # against a running service
python -m eval --min hit_at_1=0.95 --min markers_valid=1
python -m eval --backend extractive               # the model-free answers
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from contextlib import AbstractContextManager
from pathlib import Path

from config import PROJECT_ROOT, Settings
from eval import client
from eval.dataset import DEFAULT_QUESTIONS, DatasetError, load_questions
from eval.metrics import METRICS
from eval.report import table, write
from eval.runner import run
from vectorstore import make_embedder

DEFAULT_FLOORS = PROJECT_ROOT / "eval" / "floors.toml"


def _threshold(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    if name not in METRICS:
        raise argparse.ArgumentTypeError(f"unknown metric {name!r}; one of {', '.join(METRICS)}")
    try:
        return name, float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: the floor must be a number") from exc


def load_floors(path: Path) -> dict[str, float]:
    """METRIC = FLOOR pairs from a TOML file; ValueError names an unknown metric."""
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    unknown = set(raw) - set(METRICS)
    if unknown:
        raise ValueError(f"{path}: unknown metrics {sorted(unknown)}; known: {', '.join(METRICS)}")
    return {name: float(value) for name, value in raw.items()}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running service; default: in-process over --articles")
    parser.add_argument("--articles", type=Path, default=PROJECT_ROOT / "data" / "articles")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument(
        "--out",
        type=Path,
        default=PROJECT_ROOT / "eval" / "reports",
        help="folder for eval.json and eval.md",
    )
    parser.add_argument(
        "--floors",
        type=Path,
        default=DEFAULT_FLOORS,
        help="TOML file of METRIC = FLOOR (default: eval/floors.toml)",
    )
    parser.add_argument("--no-floors", action="store_true", help="report only, gate on nothing")
    parser.add_argument(
        "--backend",
        choices=["local", "extractive", "openai", "llama-cpp"],
        help="in-process: who writes the answers (default: LLM_BACKEND, else the bundled model)",
    )
    parser.add_argument(
        "--min",
        dest="overrides",
        action="append",
        type=_threshold,
        default=[],
        metavar="METRIC=FLOOR",
        help="fail (exit 1) when METRIC is under FLOOR",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        questions = load_questions(args.questions)
        floors = {} if args.no_floors else load_floors(args.floors)
    except (OSError, DatasetError, ValueError) as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return 2
    floors.update(args.overrides)
    target: AbstractContextManager[client.HttpTarget] = (
        # In-process, the service's access log would bury the table: warnings only.
        client.remote(args.url)
        if args.url
        else client.in_process(
            args.articles,
            log_level="WARNING",
            **({"llm_backend": args.backend} if args.backend else {}),
        )
    )
    embedder = make_embedder(Settings(embedder_backend="use"))
    with target as service:
        summary, results = run(
            questions,
            service,
            embedder.embed,
            args.top_k,
            floors,
            args.url or f"in-process over {args.articles.name}/",
        )
    rows = [r.as_dict() for r in results]
    write(args.out, summary, rows)
    print(table(summary))
    print(f"reports: {args.out / 'eval.json'}, {args.out / 'eval.md'}")
    if summary["failures"]:
        print(f"eval: under the floor: {', '.join(summary['failures'])}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
