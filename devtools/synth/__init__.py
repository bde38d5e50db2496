"""Synthetic retailer: writes landing-contract files with planted, known behaviour (``python -m devtools.synth``).

``generate(SynthConfig(...))`` simulates customers day by day and writes each day's partitions as it goes,
plus the ground truth in ``<out>/_truth/``. See ``simulate.py`` for the loop and ``population.py`` /
``orders.py`` / ``experience.py`` / ``web.py`` for the behaviour that later stages are checked against.
"""

import sys
from datetime import date
from pathlib import Path

from devtools.synth.config import SynthConfig
from devtools.synth.simulate import Summary, generate

__all__ = ["SynthConfig", "Summary", "command", "generate"]


def command(
    out: Path, customers: int, days: int, seed: int, end_date: date, *, dirty: bool = False, overwrite: bool = False
) -> list[str]:
    """The ``python -m devtools.synth`` command line for a retailer, for callers that run the generator in a process
    of its own (the demo; bench-scale, which measures its peak memory)."""
    return [
        sys.executable, "-m", "devtools.synth",
        "--customers", str(customers), "--days", str(days), "--seed", str(seed),
        "--out", str(out), "--end-date", end_date.isoformat(),
        *(["--dirty"] if dirty else []), *(["--overwrite"] if overwrite else []),
    ]
