"""Find the landing files of a source that belong to a run."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from proactive_crm.landing.contract import Source

PARTITION_RE = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")
SUFFIXES = {".csv": "csv", ".jsonl": "jsonl"}


class LandingLayoutError(ValueError):
    """A landing folder or file does not follow the contract's layout."""


@dataclass(frozen=True)
class LandingFile:
    source: str
    partition_date: date
    path: Path
    format: str | None  # csv | jsonl; None for a file the source does not accept (it fails its load)
    compressed: bool
    root: Path | None = None  # the landing root it was found under: messages name the file relative to it

    def relative_to(self, root: Path) -> str:
        return self.path.relative_to(root).as_posix()

    @property
    def label(self) -> str:
        """The file as messages name it: relative to the landing root, as in raw.load_audit.source_file."""
        return self.relative_to(self.root) if self.root is not None else str(self.path)


def file_format(path: Path) -> tuple[str, bool] | None:
    """(format, gzip-compressed) from the file name, or None for files that are not landing data."""
    suffixes = path.suffixes
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    core = suffixes[-2] if compressed and len(suffixes) >= 2 else (suffixes[-1] if suffixes else "")
    fmt = SUFFIXES.get(core)
    return (fmt, compressed) if fmt else None


def discover(landing_dir: Path, source: Source, up_to: date) -> list[LandingFile]:
    """Every data file of ``source`` in a partition dated on or before ``up_to``, oldest first.

    Hidden files and temporary uploads (``_`` or ``.`` prefixes, as Spark and Hive write them) are skipped, so a
    partition that is still being written does not get half-loaded.
    """
    source_dir = landing_dir / source.name
    if not source_dir.is_dir():
        return []
    files: list[LandingFile] = []
    for partition in sorted(source_dir.iterdir()):
        if partition.name.startswith((".", "_")) or not partition.is_dir():
            continue
        match = PARTITION_RE.match(partition.name)
        if not match:
            raise LandingLayoutError(
                f"{partition}: partition folders must be named dt=YYYY-MM-DD (see the landing contract in README.md)"
            )
        try:
            partition_date = date.fromisoformat(match.group(1))
        except ValueError as exc:
            raise LandingLayoutError(f"{partition}: {match.group(1)} is not a calendar date") from exc
        if partition_date > up_to:
            continue
        for path in sorted(partition.iterdir()):
            if path.name.startswith((".", "_")) or not path.is_file():
                continue
            fmt, compressed = file_format(path) or (None, False)
            accepted = fmt if fmt in source.formats else None
            files.append(LandingFile(source.name, partition_date, path, accepted, compressed, landing_dir))
    return files


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
