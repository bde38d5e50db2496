"""Run gate 1 on the partitions of a source that the loader is about to load.

The same discovery and fingerprints as ingestion decide what is new (a file whose size and times match its load on
record is not read; ``proactive_crm.landing.fingerprints``): a partition is validated (all of its files) when any of
its files is new or changed. Files are read with the loader's own parser into text columns (required
columns relaxed, so that a missing one becomes a finding instead of an exception), and validated in batches of
whole partitions. Volume history is ``raw.load_audit``: rows read per loaded partition of the source.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import statistics
from collections.abc import Iterator
from datetime import date
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from expectations.outcome import GateOutcome, QualityGateError, docs_root, finish_gate
from expectations.results import Finding, findings_from_checkpoint, merge_batches, require_critical_rows
from proactive_crm.config import Settings
from proactive_crm.landing.contract import SOURCES, Source
from proactive_crm.landing.discovery import LandingFile, discover
from proactive_crm.landing.erased_rows import Dropped, drop_erased, drop_erased_rejections
from proactive_crm.landing.erasure_list import ErasedKeys, read_erased_keys
from proactive_crm.landing.fingerprints import LoadedFile, loaded_files, look
from proactive_crm.landing.parse import ParsedFile, UnreadableFileError, parse_file
from proactive_crm.landing.validate import NUMERIC_RE, business_day_end, parse_timestamps  # the loader's readings
from proactive_crm.quality_config import CheckConfig, QualityConfig

log = logging.getLogger(__name__)
GATE = "landing"


@dataclasses.dataclass
class PartitionVolume:
    partition_date: date
    rows: int
    trailing_median: float | None
    history: int  # earlier partitions the median is taken over
    judged: bool  # enough history, and enough rows for a ratio to mean something

    @property
    def ratio(self) -> float | None:
        if not self.judged or self.trailing_median is None:
            return None
        if self.trailing_median == 0:
            return 1.0 if self.rows == 0 else float("inf")
        return self.rows / self.trailing_median


def _relaxed(source: Source) -> Source:
    """The source with every column optional: the parser then reads files that lack a required column."""
    return dataclasses.replace(source, columns=tuple(dataclasses.replace(c, required=False) for c in source.columns))


def _loaded(conn: psycopg.Connection, source: Source) -> tuple[dict[str, LoadedFile], dict[date, int]]:
    """The current load of each file and rows read per loaded partition, from raw.load_audit (empty before any load)."""
    with conn.transaction():
        if conn.execute("select to_regclass('raw.load_audit') is null").fetchone()[0]:
            return {}, {}
        current = "from raw.load_audit where source = %s and status = 'loaded' and superseded_by is null"
        files = loaded_files(conn, source.name)
        partitions = dict(
            conn.execute(
                f"select partition_date, sum(rows_read)::bigint {current} group by partition_date", (source.name,)
            ).fetchall()
        )
    return files, partitions


def _text_column(parsed: ParsedFile, name: str, mapping: dict[str, str] | None) -> pa.Array:
    """The column as the loader sees it before typing: blank is missing, value mappings applied."""
    n = parsed.table.num_rows
    if name not in parsed.table.column_names:
        return pa.nulls(n, pa.string())
    values = parsed.table.column(name).combine_chunks()
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(values), ""), False)
    values = pc.if_else(blank, pa.scalar(None, pa.string()), values)
    if mapping:
        mapped = pc.take(pa.array(list(mapping.values())), pc.index_in(values, value_set=pa.array(list(mapping))))
        values = pc.coalesce(mapped, values)
    return values


def _number(values: pa.Array) -> pa.Array:
    """Numbers where the text is one (as the loader reads them), missing elsewhere: ranges judge numbers only."""
    text = pc.utf8_trim_whitespace(values)
    parses = pc.fill_null(pc.match_substring_regex(text, NUMERIC_RE), False)
    return pc.cast(pc.if_else(parses, text, pa.scalar(None, pa.string())), pa.float64())


def batch_schema(source: Source) -> pa.Schema:
    """Every column the suite reads, whatever the files held."""
    from expectations.landing import number_column, utc_column

    fields = [pa.field(name, pa.string()) for name in ("_grain", "_file", "_partition_date")]
    fields += [pa.field("_line", pa.int64())]
    for column in source.columns:
        fields.append(pa.field(column.name, pa.string()))
        if column.min_value is not None or column.max_value is not None:
            fields.append(pa.field(number_column(column.name), pa.float64()))
        if column.type == "timestamp":
            fields.append(pa.field(utc_column(column.name), pa.timestamp("us", tz="UTC")))
    messages = ("_malformed_reason", "_missing_required_columns", "_unreadable")
    fields += [pa.field(name, pa.string()) for name in messages]
    fields += [pa.field(name, pa.float64()) for name in ("_volume_ratio", "_trailing_median")]
    fields += [pa.field("_rows_read", pa.int64())]
    return pa.schema(fields)


def _conform(columns: dict[str, pa.Array], rows: int, schema: pa.Schema) -> pa.Table:
    return pa.table(
        [columns[f.name] if f.name in columns else pa.nulls(rows, f.type) for f in schema], schema=schema
    )


def _constant(value: str, rows: int) -> pa.Array:
    return pc.fill_null(pa.nulls(rows, pa.string()), value)


def _record_table(parsed: ParsedFile, source: Source, settings: Settings, where: dict[str, str]) -> pa.Table:
    """The file's records and malformed records, in the batch's schema."""
    from expectations.landing import number_column, utc_column

    schema = batch_schema(source)
    rows = parsed.table.num_rows
    columns: dict[str, pa.Array] = {name: _constant(value, rows) for name, value in where.items()}
    columns["_grain"] = _constant("record", rows)
    columns["_line"] = pa.array(parsed.line_numbers, pa.int64())
    for column in source.columns:
        values = _text_column(parsed, column.name, settings.value_mappings.get(f"{source.name}.{column.name}"))
        columns[column.name] = values
        if column.min_value is not None or column.max_value is not None:
            columns[number_column(column.name)] = _number(values)
        if column.type == "timestamp":
            typed = parse_timestamps(pc.utf8_trim_whitespace(values), settings.store_time_zone)
            columns[utc_column(column.name)] = pc.cast(typed, pa.timestamp("us", tz="UTC"))
    tables = [_conform(columns, rows, schema)]
    if parsed.rejected:
        lines, _, reasons = zip(*parsed.rejected, strict=True)
        malformed = {name: _constant(value, len(lines)) for name, value in where.items()}
        malformed |= {
            "_grain": _constant("malformed", len(lines)),
            "_line": pa.array(lines, pa.int64()),
            "_malformed_reason": pa.array(reasons, pa.string()),
        }
        tables.append(_conform(malformed, len(lines), schema))
    return pa.concat_tables(tables)


@dataclasses.dataclass
class FilePart:
    """One file's share of a batch: its record table (None when unreadable) and its summary row."""

    file: str
    records: pa.Table | None
    summary: dict[str, object]


def _partition_tables(
    files: list[LandingFile], source: Source, settings: Settings, partition_date: date, erased: ErasedKeys
) -> tuple[list[FilePart], int]:
    """Each file of one partition as a FilePart, and the rows read in the partition.

    Rows of erased customers are not validated (the loader drops them): no finding may quote them."""
    relaxed = _relaxed(source)
    parts: list[FilePart] = []
    rows_read = 0
    for file in files:
        where = {"_file": file.relative_to(settings.landing_dir), "_partition_date": partition_date.isoformat()}
        summary: dict[str, object] = {"_grain": "file", **where, "_rows_read": 0}
        data = file.path.read_bytes()
        try:
            parsed, missing = parse_file(file, source, data), None
        except UnreadableFileError as strict:
            # Read again with every column optional: if that works, the loader's objection was a missing required
            # column, and the file's records can still be checked.
            missing = str(strict).removeprefix(f"{file.label}: ")  # _file names the file
            try:
                parsed = parse_file(file, relaxed, data)
            except UnreadableFileError:
                summary["_unreadable"] = missing
                parts.append(FilePart(str(where["_file"]), None, summary))
                continue
        summary["_missing_required_columns"] = missing
        summary["_rows_read"] = parsed.rows_read
        rows_read += parsed.rows_read
        dropped = Dropped()
        parsed.rejected = drop_erased_rejections(parsed.rejected, erased, dropped)
        parsed = drop_erased(parsed, source.name, erased, dropped)
        parts.append(FilePart(str(where["_file"]), _record_table(parsed, source, settings, where), summary))
    return parts, rows_read


def _trailing(history: dict[date, int], partition: date, window: int) -> list[int]:
    earlier = sorted(d for d in history if d < partition)[-window:]
    return [history[d] for d in earlier]


def _batches(
    partitions: dict[date, list[LandingFile]],
    source: Source,
    settings: Settings,
    config: QualityConfig,
    history: dict[date, int],
    volumes: list[PartitionVolume],
    erased: ErasedKeys,
) -> Iterator[tuple[pd.DataFrame, list[FilePart]]]:
    """Frames of whole partitions, each up to ``batch_max_rows`` rows, with the files they hold; the volume of each
    partition is judged against the partitions before it, including new ones earlier in this run (a catch-up run)."""
    volume = config.check(GATE, "volume", source.name)
    limit = int(config.option(GATE, "batch_max_rows"))
    schema = batch_schema(source)
    parts: list[FilePart] = []
    for partition_date, files in partitions.items():
        partition_parts, rows_read = _partition_tables(files, source, settings, partition_date, erased)
        earlier = _trailing(history, partition_date, int(volume["trailing_partitions"]))
        median = statistics.median(earlier) if earlier else None
        # a handful of rows a day varies by more than the ratios allow: judge volumes once they mean something
        enough = len(earlier) >= int(volume["min_history"]) and (median or 0) >= float(volume["min_median_rows"])
        measured = PartitionVolume(partition_date, rows_read, median, len(earlier), enough)
        volumes.append(measured)
        history[partition_date] = rows_read
        if partition_parts:
            partition_parts[0].summary["_volume_ratio"] = measured.ratio
            partition_parts[0].summary["_trailing_median"] = measured.trailing_median
        parts += partition_parts
        if sum(p.records.num_rows for p in parts if p.records is not None) + len(parts) >= limit:
            yield _frame(parts, schema), parts
            parts = []
    if parts:
        yield _frame(parts, schema), parts


def _frame(parts: list[FilePart], schema: pa.Schema) -> pd.DataFrame:
    tables = [p.records for p in parts if p.records is not None]
    files = pa.Table.from_pylist([{f.name: p.summary.get(f.name) for f in schema} for p in parts], schema=schema)
    return pa.concat_tables([*tables, files]).combine_chunks().to_pandas()


def _volume_note(findings: list[Finding], volumes: list[PartitionVolume], volume: CheckConfig) -> None:
    skipped = {
        v.partition_date.isoformat(): {"rows": v.rows, "earlier": v.history, "trailing_median": v.trailing_median}
        for v in volumes
        if v.ratio is None
    }
    min_rows = volume["min_median_rows"]
    judged = {
        v.partition_date.isoformat(): {"rows": v.rows, "trailing_median": v.trailing_median, "ratio": v.ratio}
        for v in volumes
        if v.ratio is not None
    }
    for finding in findings:
        if finding.check != "volume":
            continue
        finding.details["partitions"] = judged
        if skipped:
            finding.details["not_evaluated"] = skipped
        if not judged:
            finding.success = None
            finding.details["note"] = (
                f"not evaluated: {len(skipped)} new partition(s) with fewer than {volume['min_history']} earlier "
                f"partitions or a trailing median below {min_rows} rows (quality.landing.volume)"
            )
            finding.observed = finding.details["note"]
        elif finding.failed:
            bad = [
                f"dt={d}: {v['rows']:,} rows vs trailing median {v['trailing_median']:,.0f} (x{v['ratio']:.2f})"
                for d, v in judged.items()
                if not (finding.details.get("min_value", 0) <= v["ratio"] <= finding.details.get("max_value", 1e18))
            ]
            finding.observed = "; ".join(bad[:5])


def run_landing_gate(
    conn: psycopg.Connection,
    source_name: str,
    run_date: date,
    settings: Settings,
    run_id: str | None = None,
) -> GateOutcome | None:
    """Validate the source's new or changed partitions; None when there is nothing new.

    Raises ``FilesRefused`` (after recording every result) when a critical expectation fails; it names the files
    the failure refuses (each validated alone) and the caller loads the source's other files.
    """
    source = SOURCES[source_name]
    config = QualityConfig.from_settings(settings)
    loaded, history = _loaded(conn, source)
    partitions: dict[date, list[LandingFile]] = {}
    for file in discover(settings.landing_dir, source, run_date):
        partitions.setdefault(file.partition_date, []).append(file)
    changed = {
        day: files
        for day, files in sorted(partitions.items())
        if any(not look(f, loaded.get(f.relative_to(settings.landing_dir))).unchanged for f in files)
    }
    if not changed:
        log.info("landing gate: no new or changed %s partitions up to %s", source.name, run_date)
        return None
    for day in changed:  # a re-delivered partition is judged against the others, not its earlier self
        history.pop(day, None)

    from expectations.gates import new_context, run_identifier, write_docs_index
    from expectations.landing import configure_landing_gate

    root = docs_root(settings)
    context = new_context(root, GATE, source.name)
    checkpoint = configure_landing_gate(
        context, source, config, pd.Timestamp(business_day_end(run_date, settings.store_time_zone))
    )
    volumes: list[PartitionVolume] = []
    results = []
    refused: dict[str, str] = {}
    min_rows = int(config.option(GATE, "critical_min_rows"))
    with conn.transaction():  # the loader needs the connection idle afterwards
        erased = read_erased_keys(conn)
    for frame, parts in _batches(changed, source, settings, config, history, volumes, erased):
        result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=run_identifier(run_date))
        findings = findings_from_checkpoint(GATE, result)
        results.append(findings)
        critical = [f for f in require_critical_rows(copy.deepcopy(findings), min_rows) if _critical(f)]
        if critical:
            refused |= _refused_files(checkpoint, parts, critical, source, min_rows)
    findings = require_critical_rows(merge_batches(results), min_rows)
    _volume_note(findings, volumes, config.check(GATE, "volume", source.name))
    outcome = GateOutcome(GATE, run_date, [source.name], findings, write_docs_index(root))
    log.info(
        "landing gate: %s partition(s) of %s validated (%s to %s)",
        len(changed), source.name, min(changed), max(changed),
    )
    try:
        return finish_gate(
            conn, outcome, f"the refused file(s) are recorded as failed and not loaded; the other {source.name} files "
            "load", run_id,
        )
    except QualityGateError as exc:
        raise FilesRefused(str(exc), outcome, refused) from None


class FilesRefused(QualityGateError):
    """A critical landing finding: the files it points at are refused, the source's other files still load."""

    def __init__(self, message: str, outcome: GateOutcome, refused: dict[str, str]) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.refused = refused  # file relative to the landing root -> why the gate refused it


def _critical(finding: Finding) -> bool:
    return finding.failed and finding.severity == "critical"


def _refusal(file: str, findings: list[Finding], note: str = "") -> str:
    def reason(f: Finding) -> str:
        column = f" [{f.column}]" if f.column else ""
        return f"{f.check}{column}: observed {f.observed}" + (f". Check: {f.hint}" if f.hint else "")

    reasons = "; ".join(reason(f) for f in findings[:3])
    return f"{file}: refused by the landing gate{note}: {reasons}"


def _refused_files(
    checkpoint: Any, parts: list[FilePart], critical: list[Finding], source: Source, min_rows: int
) -> dict[str, str]:
    """The files of a batch that a critical finding refuses: each file is validated alone, so a file is refused
    for what is wrong with it, not with its neighbours. A finding that no single file reproduces (the same id in two
    files of one partition, say) refuses the files it names, or the whole batch when it names none."""
    from expectations.results import finding_from_result

    schema = batch_schema(source)
    validation = checkpoint.validation_definitions[0]
    refused: dict[str, str] = {}
    explained: set[str] = set()
    for part in parts:
        frame = _frame([part], schema)
        result = validation.run(batch_parameters={"dataframe": frame}, result_format=checkpoint.result_format)
        own = [finding_from_result(GATE, validation.suite.name, r) for r in result.results]
        own = [f for f in require_critical_rows(own, min_rows) if _critical(f)]
        if own:
            refused[part.file] = _refusal(part.file, own)
            explained |= {f.key for f in own}
    unexplained = [f for f in critical if f.key not in explained]
    for finding in unexplained:
        named = [p.file for p in parts if p.file in (finding.details.get("files") or [])] or [p.file for p in parts]
        for file in named:
            refused.setdefault(file, _refusal(file, [finding], " (with the other files of its batch)"))
    return refused

