"""Load a source's landing partitions into ``raw``: new or changed files only, one transaction per file.

For each file up to the run date: skip it when the same content is already loaded (its size and times match the
load on record, or else its checksum does: ``fingerprints``); otherwise parse, validate, and in one transaction
replace whatever an earlier delivery of that file loaded with the new rows and rejections, and record the load in
``raw.load_audit``.

One file, one fate: every file commits or fails on its own, so the connection must not hold an open transaction
(each ``conn.transaction()`` below is then a real transaction, not a savepoint inside one that a later error would
roll back). A file that cannot be read, that the landing gate refused, or that PostgreSQL refuses during COPY is
recorded as failed with its reason (its earlier load, if any, stays); the source's other files still load, and the
source then fails with every failed file named. A file that fails again unchanged on a later night (same checksum,
same fate) is recorded and logged as still failing, without failing that night again: the night it first failed
was red, and the warehouse goes on building on what loaded until the file is re-delivered.

Rows of customers on the erasure list (``proactive_crm.privacy``) are dropped before validation, inside the file's
own transaction, and counted as ``rows_erased``: read = loaded + rejected + erased.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from proactive_crm.config import Settings
from proactive_crm.landing.binary_copy import BinaryCopyEncoder, can_encode
from proactive_crm.landing.contract import PG_TYPES, SOURCES, Source
from proactive_crm.landing.discovery import LandingFile, discover
from proactive_crm.landing.erased_rows import Dropped, drop_erased, drop_erased_rejections
from proactive_crm.landing.erasure_list import ErasedKeys, read_erased_keys
from proactive_crm.landing.fingerprints import LoadedFile, loaded_files, look, remember_stat
from proactive_crm.landing.parse import (
    NotLineForLine,
    ParsedFile,
    UnreadableFileError,
    decoded,
    parse_text,
    stream_text,
)
from proactive_crm.landing.raw_purge import forget_linked
from proactive_crm.landing.raw_tables import (
    LINEAGE_COLUMNS,
    ensure_raw_schema,
    rejected_relation,
    rejected_schema,
    rejected_table,
)
from proactive_crm.landing.validate import business_day_end, validate
from proactive_crm.quality_config import QualityConfig

log = logging.getLogger(__name__)


class IngestionError(RuntimeError):
    """One or more files of a source could not be loaded; the message lists each with its fix."""


@dataclass
class FileResult:
    file: str
    partition_date: date
    status: str  # loaded | unchanged | failed | still_failing (failed before with the same content)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_erased: int = 0
    error: str | None = None
    checksum: str | None = None


@dataclass
class SourceResult:
    source: str
    files: list[FileResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def rows_erased(self) -> int:
        return sum(f.rows_erased for f in self.files)

    def summary(self) -> str:
        still = f", {self.count('still_failing')} still failing" if self.count("still_failing") else ""
        return (
            f"{self.source}: {self.count('loaded')} file(s) loaded, {self.count('unchanged')} unchanged, "
            f"{self.count('failed')} failed{still}; rows read {self.rows_read:,}, loaded {self.rows_loaded:,}, "
            f"rejected {self.rows_rejected:,}" + (f", erased {self.rows_erased:,}" if self.rows_erased else "")
        )


def _audit_state(conn: psycopg.Connection, source: Source) -> tuple[dict[str, LoadedFile], set[tuple[str, str]]]:
    """The current load of each file, and (file, checksum) pairs that failed before."""
    with conn.transaction():
        loaded = loaded_files(conn, source.name)
        failed = conn.execute(
            "select distinct source_file, checksum from raw.load_audit where source = %s and status = 'failed'",
            (source.name,),
        ).fetchall()
    return loaded, {(f, c) for f, c in failed}


def latest_timestamps(source: Source, run_date: date, settings: Settings) -> dict[str, datetime]:
    """Per timestamp column, the latest instant a row may carry: the end of the business day in the store's time
    zone plus the column's ``future_timestamps.tolerance_hours`` (the landing gate's own setting, default 24)."""
    config = QualityConfig.from_settings(settings)
    day_end = business_day_end(run_date, settings.store_time_zone)
    latest: dict[str, datetime] = {}
    for column in source.columns:
        if column.type != "timestamp":
            continue
        check = config.check("landing", "future_timestamps", source.name, column.name)
        if check.enabled:  # severity off: timestamps after the business day load
            tolerance = timedelta(hours=float(check.params.get("tolerance_hours", 24)))
            latest[column.name] = day_end + tolerance
    return latest


# Rows validated and sent per step: the server parses one batch while the next is validated (2 cores, 2 workers):
# the COPY's writer queues each batch and a thread of its own sends it, so ``write`` does not wait for the server.
COPY_BATCH_ROWS = 100_000


def _copy_ready(rows: pa.Table, lineage: dict[str, object]) -> pa.Table:
    """Append lineage and turn zone-aware timestamps into naive UTC (Arrow formats those ten times faster)."""
    for name, value in lineage.items():
        rows = rows.append_column(name, pa.repeat(value, rows.num_rows))
    for index, column in enumerate(rows.schema):
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            naive = pc.cast(pc.cast(rows.column(index), pa.timestamp("us", tz="UTC")), pa.timestamp("us"))
            rows = rows.set_column(index, column.name, naive)
    return rows


class CopyRefused(RuntimeError):
    """PostgreSQL refused a row during COPY; the message names the file's line and what to do."""


COPY_LINE_RE = re.compile(r"\bline (\d+)")


def _copy_refusal(exc: psycopg.Error, relative: str, file_lines: list[int], table: str) -> CopyRefused:
    """The COPY error with the line of the landing file it came from (COPY counts the rows it was sent)."""
    context = (exc.diag.context or "") if isinstance(exc, psycopg.Error) else ""
    match = COPY_LINE_RE.search(context)
    line = None
    if match and 0 < int(match.group(1)) <= len(file_lines):
        line = file_lines[int(match.group(1)) - 1]
    where = f"line {line}" if line is not None else "an unknown line"
    problem = (exc.diag.message_primary if isinstance(exc, psycopg.Error) else None) or str(exc).split("\n")[0]
    return CopyRefused(
        f"{relative}: PostgreSQL refused {where} while loading {table} ({problem}); nothing of this file was "
        "loaded (an earlier delivery of it, if any, stays): fix that line in the export and re-deliver the file"
    )


def _batches(parsed: ParsedFile, rows: int = COPY_BATCH_ROWS) -> Iterator[ParsedFile]:
    for start in range(0, parsed.table.num_rows, rows):
        yield parsed.slice(start, min(start + rows, parsed.table.num_rows))


@dataclass
class Streamed:
    """What one pass over a file's rows did: rows read, loaded, rejected (line, raw text, reason) and erased."""

    read: int = 0
    loaded: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    dropped: Dropped = field(default_factory=Dropped)


def _stream_rows(
    cur: psycopg.Cursor,
    source: Source,
    batches: Iterable[ParsedFile],
    file_rejected: list[tuple[int, str, str]],
    lineage: dict[str, object],
    settings: Settings,
    latest: dict[str, datetime] | None = None,
    keys: ErasedKeys | None = None,
) -> Streamed:
    """Validate the parsed rows batch by batch and COPY each batch's good rows.

    ``file_rejected``: records the parser already rejected. Rows of people on the erasure list are dropped first
    and counted in the result's ``dropped``.
    """
    sent_lines: list[np.ndarray] = []  # the file line of every row sent, to name it if PostgreSQL refuses one
    done = Streamed(read=len(file_rejected))
    done.rejected = drop_erased_rejections(list(file_rejected), keys or ErasedKeys(), done.dropped)
    try:
        _stream_batches(cur, source, batches, lineage, settings, latest, sent_lines, keys or ErasedKeys(), done)
    except (psycopg.DataError, psycopg.IntegrityError) as exc:
        lines = np.concatenate(sent_lines).tolist() if sent_lines else []
        raise _copy_refusal(exc, str(lineage["_source_file"]), lines, f"raw.{source.name}") from exc
    done.rejected.sort()
    return done


def _stream_batches(
    cur: psycopg.Cursor,
    source: Source,
    batches: Iterable[ParsedFile],
    lineage: dict[str, object],
    settings: Settings,
    latest: dict[str, datetime] | None,
    sent_lines: list[np.ndarray],
    keys: ErasedKeys,
    done: Streamed,
) -> None:
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    binary: BinaryCopyEncoder | None = None  # binary COPY where every column has an encoder; CSV otherwise
    with ExitStack() as stack:
        copy = None  # opened with the first batch that has rows, so a file of rejects sends no COPY
        for parsed in batches:
            done.read += parsed.table.num_rows
            batch = drop_erased(parsed, source.name, keys, done.dropped)
            checked = validate(batch, source, settings.store_time_zone, settings.value_mappings, latest)
            done.rejected.extend(checked.rejected)
            if checked.rows.num_rows == 0:
                continue
            rows = _copy_ready(checked.rows, lineage)
            if copy is None:
                pg_types = _pg_types(source, rows.column_names)
                if can_encode(pg_types):
                    binary = BinaryCopyEncoder(rows.column_names, pg_types)
                statement = sql.SQL("copy {} ({}) from stdin (format {})").format(
                    sql.Identifier("raw", source.name),
                    sql.SQL(", ").join(map(sql.Identifier, rows.column_names)),
                    sql.SQL("binary" if binary else "csv"),
                )
                copy = stack.enter_context(cur.copy(statement, writer=QueuedLibpqWriter(cur)))
                if binary:
                    copy.write(binary.header())
            sent_lines.append(rows.column("_line_number").to_numpy())
            if binary:
                for part in binary.encode(rows):
                    if part:
                        copy.write(part)
            else:
                buffer = io.BytesIO()
                pa_csv.write_csv(rows, buffer, options)
                copy.write(buffer.getbuffer())
            done.loaded += rows.num_rows
        if copy is not None and binary:
            copy.write(binary.trailer())


def _pg_types(source: Source, names: list[str]) -> list[str]:
    """The PostgreSQL type of each column sent, as the raw table declares it."""
    types = {c.name: PG_TYPES[c.type] for c in source.columns}
    types |= {name: ddl.split()[0] for name, ddl in LINEAGE_COLUMNS.items()}
    return [types[name] for name in names]


def _storable(text: str | None) -> str | None:
    """Rejected raw text as PostgreSQL can keep it: NUL (which text cannot hold) shown as the symbol for null."""
    return text.replace("\x00", "\u2400") if text else text


def _copy_rejected(cur: psycopg.Cursor, source: Source, lineage: dict, rejected: list[tuple[int, str, str]]) -> None:
    if not rejected:
        return
    statement = sql.SQL(
        "copy {} (_load_id, _source_file, _partition_date, _line_number, raw_record, reason) from stdin"
    ).format(sql.Identifier(rejected_schema(source), rejected_table(source)))
    with cur.copy(statement) as copy:
        for line, raw, reason in rejected:
            copy.write_row(
                (
                    lineage["_load_id"],
                    lineage["_source_file"],
                    lineage["_partition_date"],
                    line,
                    _storable(raw),
                    _storable(reason),
                )
            )


def _record_failure(
    conn: psycopg.Connection,
    run_id: str | None,
    file: LandingFile,
    relative: str,
    digest: str | None,
    size: int | None,
    error: str,
    started_at: datetime,
    seconds: float,
) -> None:
    with conn.transaction():
        conn.execute(
            "insert into raw.load_audit (run_id, source, partition_date, source_file, checksum, file_bytes, "
            "status, error, started_at, finished_at, read_seconds) "
            "values (%s, %s, %s, %s, %s, %s, 'failed', %s, %s, now(), %s)",
            (run_id, file.source, file.partition_date, relative, digest, size, _storable(error), started_at, seconds),
        )


def _replace_previous_load(cur: psycopg.Cursor, source: Source, relative: str, load_id: int) -> None:
    """A re-delivered file replaces what its earlier delivery loaded."""
    previous = [
        row[0]
        for row in cur.execute(
            "select load_id from raw.load_audit where source_file = %s and status = 'loaded' "
            "and superseded_by is null and load_id <> %s",
            (relative, load_id),
        )
    ]
    if not previous:
        return
    for schema, table in (("raw", source.name), (rejected_schema(source), rejected_table(source))):
        cur.execute(
            sql.SQL("delete from {} where _load_id = any(%s)").format(sql.Identifier(schema, table)), (previous,)
        )
    cur.execute("update raw.load_audit set superseded_by = %s where load_id = any(%s)", (load_id, previous))


def load_file(
    conn: psycopg.Connection,
    source: Source,
    file: LandingFile,
    data: bytes,
    digest: str,
    landing_dir: Path,
    settings: Settings,
    run_id: str | None,
    latest: dict[str, datetime] | None = None,
    times: tuple[int | None, int | None] = (None, None),
) -> FileResult:
    """Load one file in one transaction: audit row, replacement of an earlier delivery, rows, rejections.

    A file that cannot be read or that PostgreSQL refuses is recorded as failed in a transaction of its own.
    """
    relative = file.relative_to(landing_dir)
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    try:
        # CSV: Arrow's reader checks UTF-8 as it converts each field, so the whole-file check is left to it
        text = decoded(file, source, data, check_utf8=file.format != "csv")
        read_seconds = time.perf_counter() - t0
        return _load_text(
            conn, source, file, text, data, digest, relative, settings, run_id, latest, started_at, read_seconds, times
        )
    except (UnreadableFileError, CopyRefused) as exc:
        _record_failure(conn, run_id, file, relative, digest, len(data), str(exc), started_at, time.perf_counter() - t0)
        return FileResult(relative, file.partition_date, "failed", error=str(exc))


def _load_rows(
    cur: psycopg.Cursor,
    source: Source,
    file: LandingFile,
    data: bytes,
    text: bytes,
    lineage: dict[str, object],
    settings: Settings,
    latest: dict[str, datetime] | None,
    keys: ErasedKeys,
) -> Streamed:
    """Parse, validate and COPY the file's rows, parsing while the server loads the rows parsed before.

    Most files are one record per line, which Arrow's streaming readers map line for line; the rows go out as they
    are read, inside a savepoint. When the reader meets anything else (``NotLineForLine``: a blank line, a record
    spanning lines, a malformed record...), the savepoint takes back what was sent and the file is read whole by
    ``parse_text``, whose slower readers reject the bad records by line, as before streaming.
    """
    conn = cur.connection
    try:
        with conn.transaction():
            return _stream_rows(
                cur, source, stream_text(file, source, text, COPY_BATCH_ROWS), [], lineage, settings, latest, keys
            )
    except NotLineForLine as exc:
        log.info("%s: read whole (%s)", lineage["_source_file"], exc)
    if file.format == "csv":  # its text was not checked for UTF-8 (load_file): the check names the bad byte
        text = decoded(file, source, data)
    parsed = parse_text(file, source, text)
    return _stream_rows(cur, source, _batches(parsed), parsed.rejected, lineage, settings, latest, keys)


def _load_text(
    conn: psycopg.Connection,
    source: Source,
    file: LandingFile,
    text: bytes,
    data: bytes,
    digest: str,
    relative: str,
    settings: Settings,
    run_id: str | None,
    latest: dict[str, datetime] | None,
    started_at: datetime,
    read_seconds: float,
    times: tuple[int | None, int | None],
) -> FileResult:
    t1 = time.perf_counter()
    with conn.transaction(), conn.cursor() as cur:
        load_id = cur.execute(
            "insert into raw.load_audit (run_id, source, partition_date, source_file, checksum, file_bytes, "
            "file_mtime_ns, file_ctime_ns, status, started_at, read_seconds) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, 'loaded', %s, %s) returning load_id",
            (
                run_id,
                source.name,
                file.partition_date,
                relative,
                digest,
                len(data),
                *times,  # (mtime_ns, ctime_ns); none recorded: the next night reads the file again
                started_at,
                read_seconds,
            ),
        ).fetchone()[0]
        cur.execute("set local timezone = 'UTC'")  # timestamps are COPY'd as UTC wall-clock times
        _replace_previous_load(cur, source, relative, load_id)
        lineage = {"_source_file": relative, "_partition_date": file.partition_date, "_load_id": load_id}
        done = _load_rows(cur, source, file, data, text, lineage, settings, latest, read_erased_keys(cur))
        loaded, rejected, dropped = done.loaded, done.rejected, done.dropped
        if done.read != loaded + len(rejected) + dropped.rows:  # the invariant; raising rolls the file back
            raise AssertionError(
                f"{relative}: read {done.read} rows but loaded {loaded} + rejected {len(rejected)} "
                f"+ erased {dropped.rows}"
            )
        if dropped.linked:  # an erased customer's new orders / visitor ids: their lines and events go too
            forget_linked(cur, dropped.linked)
        try:
            _copy_rejected(cur, source, lineage, rejected)
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            lines = [line for line, _, _ in rejected]
            raise _copy_refusal(exc, relative, lines, rejected_relation(source)) from exc
        cur.execute(
            "update raw.load_audit set rows_read = %s, rows_loaded = %s, rows_rejected = %s, rows_erased = %s, "
            "finished_at = now(), load_seconds = %s where load_id = %s",
            (done.read, loaded, len(rejected), dropped.rows, time.perf_counter() - t1, load_id),
        )
    return FileResult(relative, file.partition_date, "loaded", done.read, loaded, len(rejected), dropped.rows)


def ingest_source(
    conn: psycopg.Connection,
    source_name: str,
    run_date: date,
    settings: Settings,
    run_id: str | None = None,
    refused: dict[str, str] | None = None,
) -> SourceResult:
    """Load every new or changed file of one source up to ``run_date``, each in its own transaction.

    ``refused`` maps files (relative to the landing root) that the landing gate refused to the gate's reason: they
    are recorded as failed without loading. Raises ``IngestionError`` after the other files have loaded when any
    file failed for the first time.
    """
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise RuntimeError(
            "ingest_source needs a connection without an open transaction, so that each file commits on its own: "
            "commit (or use an autocommit connection) before calling it"
        )
    source = SOURCES[source_name]
    refused = refused or {}
    ensure_raw_schema(conn, [source])
    files = discover(settings.landing_dir, source, run_date)
    already, failed_before = _audit_state(conn, source)
    latest = latest_timestamps(source, run_date, settings)
    result = SourceResult(source.name)
    for file in files:
        outcome = _ingest_file(conn, source, file, already, settings, run_id, refused, latest)
        if outcome.status == "failed" and (outcome.file, outcome.checksum) in failed_before:
            outcome.status = "still_failing"
            log.warning("still failing, unchanged since it first failed: %s", outcome.error)
        elif outcome.status == "failed":
            log.error("%s", outcome.error)
        result.files.append(outcome)
    log.info("%s", result.summary())
    failures = [f for f in result.files if f.status == "failed"]
    if failures:
        loaded = result.count("loaded")
        raise IngestionError(
            f"{len(failures)} {source.name} file(s) could not be loaded; each is recorded as failed in "
            f"raw.load_audit and the source's other files were handled ({loaded} loaded, "
            f"{result.count('unchanged')} unchanged):\n" + "\n".join(f"- {f.error}" for f in failures)
        )
    return result


def _ingest_file(
    conn: psycopg.Connection,
    source: Source,
    file: LandingFile,
    already: dict[str, LoadedFile],
    settings: Settings,
    run_id: str | None,
    refused: dict[str, str],
    latest: dict[str, datetime],
) -> FileResult:
    """One file's fate; any error is recorded against the file, except a lost connection (the task retries)."""
    relative = file.relative_to(settings.landing_dir)
    started_at = datetime.now(UTC)
    loaded = already.get(relative)
    try:
        found = look(file, loaded)
    except OSError as exc:
        error = f"{relative}: cannot be read from the landing folder ({exc.strerror or exc}); check its permissions"
        _record_failure(conn, run_id, file, relative, None, None, error, started_at, 0.0)
        return FileResult(relative, file.partition_date, "failed", error=error)
    digest = found.checksum
    if found.unchanged:
        if loaded is not None and found.data is not None:  # same content under a new stat: trust the new one
            remember_stat(conn, loaded, found)
        return FileResult(relative, file.partition_date, "unchanged", checksum=digest)
    data = found.data
    assert data is not None  # a file whose stat matched its load is unchanged
    if relative in refused:
        _record_failure(conn, run_id, file, relative, digest, len(data), refused[relative], started_at, 0.0)
        return FileResult(relative, file.partition_date, "failed", error=refused[relative], checksum=digest)
    try:
        outcome = load_file(
            conn, source, file, data, digest, settings.landing_dir, settings, run_id, latest, found.times()
        )
        outcome.checksum = digest
        return outcome
    except Exception as exc:
        if conn.closed or conn.broken:
            raise
        log.exception("unexpected error while loading %s", relative)
        error = (
            f"{relative}: unexpected error while loading ({type(exc).__name__}: {str(exc)[:300]}); nothing of this "
            "file was loaded: please report it with the file"
        )
        _record_failure(conn, run_id, file, relative, digest, len(data), error, started_at, 0.0)
        return FileResult(relative, file.partition_date, "failed", error=error, checksum=digest)
