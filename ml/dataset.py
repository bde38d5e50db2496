"""The rows one model trains and is evaluated on: customer snapshots at each cut-off of a time split.

Its own module so that building it (``ml.pipeline``) and writing a registry version from it (``ml.registry_version``)
both import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from ml.features import Feature
from ml.split import TimeSplit


@dataclass
class Dataset:
    frame: pd.DataFrame
    base_spec: list[Feature]
    derived: list[str]
    split: TimeSplit
    bgnbd_params: dict[str, dict]
    sample_per_10k: int | None = None

    def rows(self, cutoffs: tuple[date, ...] | list[date]) -> pd.DataFrame:
        wanted = pd.to_datetime(pd.Series(list(cutoffs)))
        return self.frame[self.frame["as_of_date"].isin(wanted)].reset_index(drop=True)
