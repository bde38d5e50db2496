"""CLI: python -m devtools.synth --customers N --days D --seed S --out DIR [--end-date YYYY-MM-DD]
[--dirty] [--quiet]."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from devtools.synth.config import DEFAULT_DIRTY_RATE, DEFAULT_END_DATE, SynthConfig
from devtools.synth.simulate import generate


def parse_args(argv: list[str] | None = None) -> SynthConfig:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.synth",
        description="Generate a synthetic retailer's landing files (landing contract) plus ground truth in _truth/.",
    )
    parser.add_argument("--customers", type=int, required=True, help="number of customers (e.g. 20000)")
    parser.add_argument("--days", type=int, required=True, help="days of history ending at --end-date")
    parser.add_argument("--seed", type=int, required=True, help="random seed; same arguments give identical files")
    parser.add_argument("--out", type=Path, required=True, help="landing directory to write")
    parser.add_argument(
        "--end-date",
        type=date.fromisoformat,
        default=DEFAULT_END_DATE,
        help=f"last simulated day, inclusive (default {DEFAULT_END_DATE.isoformat()})",
    )
    parser.add_argument("--dirty", action="store_true", help="inject delivery defects (listed in _truth/defects.csv)")
    parser.add_argument(
        "--dirty-rate",
        type=float,
        default=DEFAULT_DIRTY_RATE,
        help=f"share of rows hit by each kind of defect (default {DEFAULT_DIRTY_RATE})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    parser.add_argument("--overwrite", action="store_true", help="replace data an earlier run left in --out")
    args = parser.parse_args(argv)
    try:
        return SynthConfig(
            customers=args.customers,
            days=args.days,
            seed=args.seed,
            out_dir=args.out,
            end_date=args.end_date,
            dirty=args.dirty,
            dirty_rate=args.dirty_rate,
            quiet=args.quiet,
            overwrite=args.overwrite,
        )
    except ValueError as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    try:
        summary = generate(cfg)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not cfg.quiet:
        print(f"[synth] wrote {cfg.out_dir}:", file=sys.stderr)
        for line in summary.lines():
            print(f"  {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
