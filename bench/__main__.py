"""`python -m bench`: measure the service against plain LlamaIndex, and at scale; print a table.

Writes `bench.json`, `bench.md` and `bench.png` into `--out-dir` (default `bench/results/`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from bench.report import markdown, plot, targets, write_json
from bench.run import BenchConfig, quick_config, run


def _scales(text: str) -> tuple[str, ...]:
    scales = tuple(s.strip() for s in text.split(",") if s.strip())
    for scale in scales:
        if scale != "full" and not (scale.replace(".", "", 1).isdigit() and float(scale) >= 1):
            raise argparse.ArgumentTypeError(f"{scale!r}: a scale is a number >= 1 or 'full'")
    return scales


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(c) for c in text.split(",") if c.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("concurrency levels are integers >= 1")
    return levels


def parse(argv: list[str] | None) -> BenchConfig:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a run of under a minute")
    parser.add_argument(
        "--scales",
        type=_scales,
        help="corpus sizes, multiples of the sample's chunks or 'full' (default 1,10,100); "
        "'' for none",
    )
    parser.add_argument("--concurrency", type=_levels, help="levels (default 1,8,32)")
    parser.add_argument("--seconds", type=float, help="at most this long per level (default 10)")
    parser.add_argument("--requests", type=int, help="at most this many per level (default 4000)")
    parser.add_argument("--out-dir", type=Path, help="default bench/results")
    parser.add_argument("--work-dir", type=Path, help="default bench/.work (man-page cache too)")
    args = parser.parse_args(argv)
    config = BenchConfig()
    if args.quick:
        config = quick_config(config)
    overrides = {
        "scales": args.scales,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "max_requests": args.requests,
        "out_dir": args.out_dir,
        "work_dir": args.work_dir,
    }
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})


def main(argv: list[str] | None = None) -> int:
    config = parse(argv)
    results = run(config)
    results["targets"] = [t.as_dict() for t in targets(results)]
    table = markdown(results)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    write_json(results, config.out_dir / "bench.json")
    (config.out_dir / "bench.md").write_text(table, encoding="utf-8")
    plot(results, config.out_dir / "bench.png")
    print(table)
    print(f"wrote {config.out_dir / 'bench.json'}, bench.md and bench.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
