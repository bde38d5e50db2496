"""Run parameters of the generator and the random streams derived from the seed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

DEFAULT_END_DATE = date(2026, 10, 31)
DEFAULT_DIRTY_RATE = 0.003  # share of rows hit by each kind of defect


@dataclass(frozen=True)
class SynthConfig:
    customers: int
    days: int
    seed: int
    out_dir: Path
    end_date: date = DEFAULT_END_DATE
    dirty: bool = False
    dirty_rate: float = DEFAULT_DIRTY_RATE
    quiet: bool = False
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("--customers must be at least 1")
        if self.days < 1:
            raise ValueError("--days must be at least 1")
        if not 0 <= self.dirty_rate <= 0.2:
            raise ValueError("dirty rate must be between 0 and 0.2")

    @property
    def start_date(self) -> date:
        return self.end_date - timedelta(days=self.days - 1)


# Independent streams: the dirty-data stream must not disturb the behaviour streams, so that a --dirty run
# holds exactly the rows of the clean run with the same seed, plus the injected defects.
STREAMS = ("catalogue", "population", "daily", "web", "dirty")


def random_streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)}
