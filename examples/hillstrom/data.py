"""Kevin Hillstrom's randomised e-mail test (MineThatData, 2008) as input for the decision step's uplift learner.

64,000 customers were randomly sent a men's e-mail, a women's e-mail or nothing; visit, conversion and spend were
recorded in the two weeks after. It is the one kind of data on which an uplift ranking can be checked against the
truth, so ``benchmarks/uplift_hillstrom.py`` trains the project's learner (``proactive_crm.actions.uplift``) on it.
The features are Hillstrom's own columns, mapped to numbers the way ``uplift.features`` maps a decision: numbers
as they are, categories one-hot in a fixed column order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_SOURCE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hillstrom" / "hillstrom.csv.zip"
COLUMNS = ("recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie", "channel", "segment",
           "visit", "conversion", "spend")
CONTROL = "No E-Mail"
TREATMENTS = {"mens": "Mens E-Mail", "womens": "Womens E-Mail"}
ZIP_CODES = ("Urban", "Surburban", "Rural")  # "Surburban" is the source's spelling
CHANNELS = ("Web", "Phone", "Multichannel")
FEATURE_NAMES = ("recency", "history", "mens", "womens", "newbie",
                 *(f"zip_{z.lower()}" for z in ZIP_CODES), *(f"channel_{c.lower()}" for c in CHANNELS))


def load(path: Path = DEFAULT_SOURCE) -> pd.DataFrame:
    """The CSV (also inside its zip) with its columns checked; a missing file says where to put it."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: the Hillstrom data set is not there. Copy hillstrom.csv(.zip) there "
            "(see ../shared/data/hillstrom/PROVENANCE.md) or pass --source FILE."
        )
    frame = pd.read_csv(path)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected Hillstrom's {list(COLUMNS)}")
    return frame


def features(frame: pd.DataFrame) -> np.ndarray:
    """recency, history, the men's/women's/newbie flags, zip code and purchase channel one-hot."""
    numeric = frame[["recency", "history", "mens", "womens", "newbie"]].astype(float).to_numpy()
    zips = np.stack([(frame["zip_code"] == z).to_numpy(dtype=float) for z in ZIP_CODES], axis=1)
    channels = np.stack([(frame["channel"] == c).to_numpy(dtype=float) for c in CHANNELS], axis=1)
    return np.hstack([numeric, zips, channels])


def comparison(frame: pd.DataFrame, treatment: str) -> pd.DataFrame:
    """One e-mail against no e-mail: the rows of both arms with a boolean ``treated``."""
    rows = frame[frame["segment"].isin([TREATMENTS[treatment], CONTROL])].reset_index(drop=True)
    return rows.assign(treated=(rows["segment"] == TREATMENTS[treatment]).to_numpy())
