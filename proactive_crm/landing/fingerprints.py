"""Which landing files are new or changed, without reading the ones that are not.

``raw.load_audit`` keeps, beside each loaded file's SHA-256, the file's size, modification time and change time as
the loader saw them before reading it. A file whose three match its current load is unchanged and is neither read
nor hashed: a night's cost follows the new files, not the landing history (which the loader and the landing gate
used to read and hash whole every night). Any difference, or a load recorded before these columns existed, means
reading and hashing the file; the checksum then decides, as before.

The change time (``st_ctime_ns``) is there because a re-delivery can keep the size and the modification time: a
copy that preserves times (``cp -p``, ``rsync -a``) of a file whose fix did not change its length. No user can set
the change time; any write, rename or copy sets it, so such a re-delivery is still read. The price is one re-hash
of every file after the landing folder itself is copied or restored, after which the new times are recorded
(``remember_stat``) and the nights are cheap again.

Filesystems stamp times from a coarse clock (a few milliseconds, a second on some), so a file rewritten at the same
size within one tick of the look that recorded it would keep its stat. As git does with "racily clean" files, the
times of a file changed less than ``SETTLED_NS`` before the look are not recorded: the next night reads it once more.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row

from proactive_crm.landing.discovery import LandingFile, checksum

SETTLED_NS = 1_000_000_000


@dataclass(frozen=True)
class LoadedFile:
    """The current load of one landing file, as ``raw.load_audit`` records it."""

    load_id: int
    checksum: str
    size: int | None
    mtime_ns: int | None
    ctime_ns: int | None

    def matches(self, seen: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns) == (seen.st_size, seen.st_mtime_ns, seen.st_ctime_ns)


@dataclass(frozen=True)
class Look:
    """What one look at a landing file found: its stat, and its bytes and checksum when it had to be read."""

    stat: os.stat_result
    checksum: str
    data: bytes | None  # None when the stat matched the load on record (the file was not read)
    unchanged: bool
    looked_at_ns: int

    def times(self) -> tuple[int | None, int | None]:
        """(mtime_ns, ctime_ns) to record: none for a file changed too shortly before the look to trust them."""
        if self.looked_at_ns - max(self.stat.st_mtime_ns, self.stat.st_ctime_ns) < SETTLED_NS:
            return None, None
        return self.stat.st_mtime_ns, self.stat.st_ctime_ns


def loaded_files(conn: psycopg.Connection, source_name: str) -> dict[str, LoadedFile]:
    """The current (loaded, not superseded) load of each of the source's files, by path relative to the landing root.

    ``select *``: the landing gate reads this before the loader has added the stat columns to an older warehouse,
    where they are missing, and such loads are then read and hashed once.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "select * from raw.load_audit where source = %s and status = 'loaded' and superseded_by is null",
            (source_name,),
        ).fetchall()
    return {
        row["source_file"]: LoadedFile(
            row["load_id"], row["checksum"], row["file_bytes"], row.get("file_mtime_ns"), row.get("file_ctime_ns")
        )
        for row in rows
    }


def look(file: LandingFile, loaded: LoadedFile | None) -> Look:
    """Stat the file; read and hash it only when the stat differs from its load on record.

    The stat is taken before the read, so a file written while it is read differs from its record the next night
    and is read again then. Raises ``OSError`` when the file cannot be read.
    """
    seen = file.path.stat()
    looked_at = time.time_ns()
    if loaded is not None and loaded.matches(seen):
        return Look(seen, loaded.checksum, None, True, looked_at)
    data = file.path.read_bytes()
    digest = checksum(data)
    return Look(seen, digest, data, loaded is not None and loaded.checksum == digest, looked_at)


def remember_stat(conn: psycopg.Connection, loaded: LoadedFile, found: Look) -> None:
    """Record the times of a file found unchanged by its checksum (touched, copied, restored, or loaded too soon
    after it was written to trust them), so that the next night trusts the stat instead of re-reading the file."""
    with conn.transaction():
        conn.execute(
            "update raw.load_audit set file_mtime_ns = %s, file_ctime_ns = %s where load_id = %s",
            (*found.times(), loaded.load_id),
        )
