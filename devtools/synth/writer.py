"""Write landing partitions: ``<out>/<source>/dt=YYYY-MM-DD/part-00000.csv`` (or ``.jsonl.gz`` for web events).

Rows arrive as lists of strings in contract column order. CSV: header line, RFC-4180 quoting, ``\\n`` line
ends, "" for a missing value. JSON lines: one object per line; an empty optional value is left out, ``None``
is written as null (only defects do that). gzip output carries no file name and a zero timestamp so the same
rows give byte-identical files. A file is opened only when its first rows arrive, so days without rows have no
file; rows can be appended in chunks (the first day's customer file holds every existing customer).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from proactive_crm.landing.contract import SOURCES

JSONL_SOURCES = frozenset({"web_events"})
GZIP_LEVEL = 6
JSON_BATCH = 20_000


class RawLine(str):
    """A JSON line written verbatim (a defect that is not valid JSON)."""


Row = Sequence[str | None] | RawLine


def encode_json_row(keys: tuple[str, ...], row: Sequence[str | None]) -> str:
    # Values are ids, timestamps, enumerations, URLs and search terms without quotes or backslashes (see vocab),
    # so quoting them directly is valid JSON and several times faster than json.dumps per row.
    parts = [f'"{k}":null' if v is None else f'"{k}":"{v}"' for k, v in zip(keys, row, strict=False) if v != ""]
    return "{" + ",".join(parts) + "}"


class PartitionFile:
    """One open landing file; ``append`` returns the physical line number of the first appended row."""

    def __init__(self, path: Path, columns: tuple[str, ...], jsonl: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.columns = columns
        self.jsonl = jsonl
        self.rows = 0
        self._raw: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()
        if jsonl:
            self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, compresslevel=GZIP_LEVEL, mtime=0)
            self._next_line = 1
        else:
            self._text = io.TextIOWrapper(self._raw, encoding="utf-8", newline="")
            self._csv = csv.writer(self._text, lineterminator="\n")
            self._csv.writerow(columns)
            self._next_line = 2

    def append(self, rows: list[Row]) -> int:
        first = self._next_line
        if self.jsonl:
            for lo in range(0, len(rows), JSON_BATCH):  # bounded text buffers
                batch = rows[lo : lo + JSON_BATCH]
                lines = (r if isinstance(r, RawLine) else encode_json_row(self.columns, r) for r in batch)
                text = "".join(line + "\n" for line in lines)
                self._gz.write(text.encode("utf-8"))
        else:
            self._csv.writerows(rows)
        self._next_line += len(rows)
        self.rows += len(rows)
        return first

    def close(self) -> None:
        if self.jsonl:
            self._gz.close()
            self._raw.close()
        else:
            self._text.close()


class PartitionWriter:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.rows_written: dict[str, int] = {}
        self.files_written: dict[str, int] = {}

    def path_for(self, source: str, dt: str) -> Path:
        name = "part-00000.jsonl.gz" if source in JSONL_SOURCES else "part-00000.csv"
        return self.out_dir / source / f"dt={dt}" / name

    def open(self, source: str, dt: str) -> PartitionFile:
        return PartitionFile(self.path_for(source, dt), SOURCES[source].column_names, source in JSONL_SOURCES)

    def close(self, file: PartitionFile, source: str) -> None:
        file.close()
        self.rows_written[source] = self.rows_written.get(source, 0) + file.rows
        self.files_written[source] = self.files_written.get(source, 0) + 1

    def relative(self, file: PartitionFile) -> str:
        return file.path.relative_to(self.out_dir).as_posix()
