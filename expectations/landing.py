"""Gate 1, landing: the suite of one source, run on its new or changed partitions before they load.

The batch is one pandas frame per group of whole partitions (``expectations.landing_gate`` builds it with the
loader's own parser) holding two grains, told apart by ``_grain``:

- ``record`` rows: the contract columns as the text found in the file (blank = missing, ``value_mappings``
  applied), ``<column>__number`` / ``<column>__utc`` typed copies for range and time checks, and ``_file``,
  ``_line``, ``_partition_date`` to point at the record;
- ``malformed`` rows: records the parser could not split into fields, with ``_malformed_reason``;
- ``file`` rows, one per file: missing required columns, why it cannot be read, and (on the first file of each
  partition) the partition's row count against the trailing median of that source's earlier partitions.

Checks on values ignore missing values, so only the checks that count missing values or need a grain filter it.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.data_context import AbstractDataContext

from expectations.gates import configure_checkpoint, configure_suite, configure_validation, with_severity
from proactive_crm.landing.contract import Column, Source
from proactive_crm.landing.raw_tables import rejected_relation
from proactive_crm.landing.validate import INT_RE, NUMERIC_RE
from proactive_crm.quality_config import CheckConfig, QualityConfig

GATE = "landing"
GRAIN = "_grain"
RECORD = {"row_condition": f'{GRAIN}=="record"', "condition_parser": "pandas"}
FILE = {"row_condition": f'{GRAIN}=="file"', "condition_parser": "pandas"}
NOT_FILE = {"row_condition": f'{GRAIN}!="file"', "condition_parser": "pandas"}
INDEX_COLUMNS = ["_file", "_line"]

DATE = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
OFFSET = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)"
TYPE_PATTERNS = {
    "int": INT_RE.replace("^", r"^\s*").replace("$", r"\s*$"),
    "numeric": NUMERIC_RE.replace("^", r"^\s*").replace("$", r"\s*$"),
    "bool": r"(?i)^\s*(?:true|false|t|f|1|0|yes|y|no|n)\s*$",
    "date": rf"^\s*{DATE}\s*$",
    "timestamp": rf"^\s*{DATE}(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?)?{OFFSET}?\s*$",
}
TYPE_WORDS = {
    "int": "a whole number",
    "numeric": "a number with a decimal point and no separators",
    "bool": "true/false (also t/f, 1/0, yes/no)",
    "date": "a YYYY-MM-DD date",
    "timestamp": "an ISO-8601 timestamp",
}


def number_column(name: str) -> str:
    return f"{name}__number"


def utc_column(name: str) -> str:
    return f"{name}__utc"


def suite_name(source: Source) -> str:
    return f"{GATE}.{source.name}"


def unique_key(source: Source) -> list[str]:
    """The columns that identify a record within one partition (a newer version of a record may follow)."""
    key = list(source.key)
    if source.version_column and source.version_column not in key:
        key.append(source.version_column)
    return key


def _file_expectations(source: Source, config: QualityConfig) -> list[gxe.Expectation]:
    name = source.name
    target = {"target": name, "column": None, "unit": "files"}
    required = config.check(GATE, "required_columns", name)
    readable = config.check(GATE, "readable", name)
    malformed = config.check(GATE, "malformed_records", name)
    volume = config.check(GATE, "volume", name)
    expectations = with_severity(
        gxe.ExpectColumnValuesToBeNull,
        required,
        {**target, "hint": f"every file must have the required {name} columns "
         f"{', '.join(source.required_columns)} in its header (JSON: in at least one record); re-deliver the file"},
        column="_missing_required_columns",
        **FILE,
    )
    expectations += with_severity(
        gxe.ExpectColumnValuesToBeNull,
        readable,
        {**target, "hint": "the loader records an unreadable file as failed in raw.load_audit and fails the "
         "source's task after loading its other files; fix the encoding/compression/format and re-deliver"},
        column="_unreadable",
        **FILE,
    )
    expectations += with_severity(
        gxe.ExpectColumnValuesToBeNull,
        malformed,
        {"target": name, "column": None, "hint": f"records that cannot be split into fields (quoting, field "
         f"count, broken JSON) go to {rejected_relation(name)} with their line; many mean a broken export: re-deliver"},
        column="_malformed_reason",
        **NOT_FILE,
    )
    expectations += with_severity(
        gxe.ExpectColumnValuesToBeBetween,
        volume,
        {**target, "hint": f"compare the partition's row count with the {name} export of the source system: a "
         "partial or duplicated export changes the volume; if the change is real, it passes once the trailing "
         f"median catches up (thresholds: quality.landing.volume)"},
        column="_volume_ratio",
        min_value=volume["min_ratio"],
        max_value=volume["max_ratio"],
        **FILE,
    )
    return expectations


def _column_expectations(
    source: Source, column: Column, config: QualityConfig, day_ends_at: pd.Timestamp
) -> list[gxe.Expectation]:
    name = source.name
    meta = {"target": name, "column": column.name}

    def check(check_name: str) -> CheckConfig:
        return config.check(GATE, check_name, name, column.name)

    expectations: list[gxe.Expectation] = []
    if column.required:
        expectations += with_severity(
            gxe.ExpectColumnValuesToNotBeNull, check("required_values"),
            {**meta, "hint": f"rows without {column.name} are rejected into {rejected_relation(name)}; "
             f"the export must fill {column.name} in every row"},
            column=column.name, **RECORD,
        )
    if column.type != "text":
        expectations += with_severity(
            gxe.ExpectColumnValuesToMatchRegex, check("types"),
            {**meta, "hint": f"{column.name} must be {TYPE_WORDS[column.type]}; rows that are not are "
             f"rejected into {rejected_relation(name)}"},
            column=column.name, regex=TYPE_PATTERNS[column.type],
        )
    if column.allowed is not None:
        expectations += with_severity(
            gxe.ExpectColumnValuesToBeInSet, check("enumerations"),
            {**meta, "hint": f"{column.name} must be one of {', '.join(column.allowed)}; map other values "
             f"with value_mappings['{name}.{column.name}'] in the pipeline configuration"},
            column=column.name, value_set=list(column.allowed),
        )
    if column.min_value is not None or column.max_value is not None:
        bounds = {"min_value": column.min_value, "max_value": column.max_value}
        allowed = (
            f"at least {column.min_value:g}" if column.max_value is None
            else f"at most {column.max_value:g}" if column.min_value is None
            else f"between {column.min_value:g} and {column.max_value:g}"
        )
        expectations += with_severity(
            gxe.ExpectColumnValuesToBeBetween, check("ranges"),
            {**meta, "hint": f"{column.name} must be {allowed} (contract); rows outside are rejected into "
             f"{rejected_relation(name)}"},
            column=number_column(column.name), **{k: v for k, v in bounds.items() if v is not None},
        )
    if column.decimals is not None:
        expectations += with_severity(
            gxe.ExpectColumnValuesToNotMatchRegex, check("decimal_places"),
            {**meta, "hint": f"{column.name} has more than {column.decimals} decimal places: raw.{name} keeps the "
             "value exactly as delivered, and the marts report amounts rounded to cents; if the export rounds "
             "differently elsewhere, totals and lines may not reconcile"},
            column=column.name, regex=rf"\.\d{{{column.decimals + 1},}}",
        )
    if column.type == "timestamp":
        future = check("future_timestamps")
        tolerance = float(future.params.get("tolerance_hours", 0))
        latest = day_ends_at + pd.Timedelta(hours=tolerance)
        expectations += with_severity(
            gxe.ExpectColumnValuesToBeBetween, future,
            {**meta, "hint": f"{column.name} lies after {latest:%Y-%m-%d %H:%M} UTC, the end of the business "
             f"day plus {tolerance:g} h; the loader rejects such rows into {rejected_relation(name)}: check the "
             "exporting system's clock and time zone (timestamps without an offset are read in store_time_zone)"},
            column=utc_column(column.name), max_value=latest,
        )
    return expectations


def _record_expectations(source: Source, config: QualityConfig, day_ends_at: pd.Timestamp) -> list[gxe.Expectation]:
    expectations: list[gxe.Expectation] = []
    for column in source.columns:
        expectations += _column_expectations(source, column, config, day_ends_at)
    key = unique_key(source)
    expectations += with_severity(
        gxe.ExpectCompoundColumnsToBeUnique, config.check(GATE, "unique_ids", source.name),
        {"target": source.name, "column": ",".join(key), "hint": f"the same {'/'.join(key)} appears more than "
         "once in one partition: was a file delivered twice under two names, or does the export repeat rows?"},
        column_list=["_partition_date", *key], **RECORD,
    )
    return expectations


def configure_landing_suite(
    context: AbstractDataContext, source: Source, config: QualityConfig, day_ends_at: pd.Timestamp
) -> gx.ExpectationSuite:
    """The source's expectations; ``day_ends_at`` is the end of the run's business day (UTC), which timestamps
    may pass by each column's ``future_timestamps.tolerance_hours``."""
    expectations = _file_expectations(source, config) + _record_expectations(source, config, day_ends_at)
    return configure_suite(context, suite_name(source), expectations)


def configure_landing_gate(
    context: AbstractDataContext, source: Source, config: QualityConfig, day_ends_at: pd.Timestamp
) -> gx.Checkpoint:
    """Pandas datasource, dataframe asset and batch definition of the source, its suite, the gate's checkpoint."""
    datasource = context.data_sources.add_or_update_pandas(GATE)
    asset = datasource.add_dataframe_asset(source.name)
    batch = asset.add_batch_definition_whole_dataframe("partitions")
    suite = configure_landing_suite(context, source, config, day_ends_at)
    validation = configure_validation(context, suite.name, batch, suite)
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": 20,
                     "unexpected_index_column_names": INDEX_COLUMNS}
    return configure_checkpoint(context, GATE, [validation], result_format)
