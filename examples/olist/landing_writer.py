"""Writing the landing folders: ``<out>/<source>/dt=YYYY-MM-DD/part-00000.csv`` per partition."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pandas as pd

from examples.olist.mapping_rules import WRITTEN_SOURCES


def _check_out(out: Path, overwrite: bool) -> list[str]:
    """The source folders already under ``out``; an error unless they may be replaced."""
    existing = [name for name in WRITTEN_SOURCES if (out / name).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{out} already holds {existing}; pass --overwrite to replace these folders")
    return existing


def write_landing(tables: dict[str, pd.DataFrame], out: str | os.PathLike, overwrite: bool = False) -> None:
    """Write ``<out>/<source>/dt=YYYY-MM-DD/part-00000.csv`` (header, minimal RFC-4180 quoting, UTF-8)."""
    out = Path(out)
    existing = _check_out(out, overwrite)
    for name in existing:
        shutil.rmtree(out / name)
    for name, df in tables.items():
        cols = [c for c in df.columns if c != "dt"]
        for dt, part in df.groupby("dt", sort=True):
            folder = out / name / f"dt={dt}"
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / "part-00000.csv", "w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
                writer.writerow(cols)
                writer.writerows(part[cols].itertuples(index=False, name=None))

