"""Generate Hillstrom-shaped test rows with a planted e-mail effect (tests/fixtures/hillstrom_sample.csv).

The original file carries no licence that clearly allows redistribution (../shared/data/hillstrom/PROVENANCE.md:
published for analysis on the MineThatData blog, no formal licence found), so the tests do not ship its rows.
These rows have its columns, value ranges and arm shares; the truth is planted: the women's e-mail raises the
visit rate only for customers who bought women's merchandise (+20 points), the men's e-mail only for those who
bought men's (+10 points); everyone else visits at the base rate whatever the arm.

    .venv/bin/python -m examples.hillstrom.make_sample --rows 3000 --out tests/fixtures/hillstrom_sample.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from examples.hillstrom.data import CHANNELS, CONTROL, TREATMENTS, ZIP_CODES

SEGMENTS = (TREATMENTS["mens"], TREATMENTS["womens"], CONTROL)
HISTORY_SEGMENTS = ((100, "1) $0 - $100"), (200, "2) $100 - $200"), (350, "3) $200 - $350"), (500, "4) $350 - $500"),
                    (750, "5) $500 - $750"), (1000, "6) $750 - $1,000"), (np.inf, "7) $1,000 +"))


def make_sample(rows: int, seed: int = 18) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    history = np.round(np.clip(rng.lognormal(5.1, 0.8, rows), 29.99, 3345.93), 2)
    mens = rng.random(rows) < 0.55
    womens = ~mens | (rng.random(rows) < 0.2)
    segment = rng.choice(SEGMENTS, rows)
    recency = rng.integers(1, 13, rows)
    base = 0.06 + 0.06 * (recency <= 3)
    lift = np.where((segment == TREATMENTS["womens"]) & womens, 0.20, 0.0)
    lift += np.where((segment == TREATMENTS["mens"]) & mens, 0.10, 0.0)
    visit = rng.random(rows) < base + lift
    conversion = visit & (rng.random(rows) < 0.08)
    spend = np.where(conversion, np.round(rng.uniform(30, 500, rows), 2), 0.0)
    return pd.DataFrame({
        "recency": recency,
        "history_segment": [next(label for top, label in HISTORY_SEGMENTS if h < top) for h in history],
        "history": history,
        "mens": mens.astype(int),
        "womens": womens.astype(int),
        "zip_code": rng.choice(ZIP_CODES, rows, p=[0.4, 0.45, 0.15]),
        "newbie": (rng.random(rows) < 0.5).astype(int),
        "channel": rng.choice(CHANNELS, rows, p=[0.44, 0.44, 0.12]),
        "segment": segment,
        "visit": visit.astype(int),
        "conversion": conversion.astype(int),
        "spend": spend,
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    make_sample(args.rows, args.seed).to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
