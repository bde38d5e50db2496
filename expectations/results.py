"""Validation results as the pipeline records and reports them, independent of Great Expectations' objects.

Every expectation carries ``meta = {check, target, column, hint}`` (set by the suites); a ``Finding`` is one
expectation's outcome with its severity, a readable observed value and what to check. Findings that are not GE
expectations (a table that does not exist, a check skipped for lack of history) use the same shape.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from proactive_crm.landing.contract import PERSONAL_COLUMNS

MAX_EXAMPLES = 5


@dataclass
class Finding:
    gate: str
    target: str  # landing: the source; warehouse: schema.table
    suite: str
    check: str  # the configuration key that sets its severity
    expectation: str  # GE expectation type (or the pipeline's own check name)
    column: str | None
    severity: str  # critical | warning
    success: bool | None  # None: not evaluated (the reason is in details["note"])
    observed: str | None
    hint: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    key: str = ""  # identifies the same expectation across batches of one run

    @property
    def failed(self) -> bool:
        return self.success is False

    @property
    def where(self) -> str:
        files = self.details.get("files")
        if files:
            shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
            return f"file {shown}"
        return f"table {self.target}" if self.gate != "landing" else f"source {self.target}"

    def describe(self) -> str:
        column = f" [{self.column}]" if self.column else ""
        line = f"- {self.where}: {self.check} ({self.expectation}{column}): observed {self.observed}"
        return line + (f". Check: {self.hint}" if self.hint else "")


def jsonable(value: Any) -> Any:
    """Plain JSON types for values GE returns (numpy scalars, Decimal, timestamps, NaN)."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):  # numpy's float64 too
        return None if math.isnan(value) else float(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return jsonable(value.item())
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    text = str(value)
    return None if text in ("nan", "NaT", "<NA>") else text


def _short(value: Any, limit: int = 160) -> str:
    """One example for a message; the pipeline's own messages (text) are kept whole up to a longer limit, and
    anything shortened is cut at a word or list boundary, never inside a column name."""
    if isinstance(value, float):
        value = float(f"{value:.4g}")
    if isinstance(value, str):
        limit = max(limit, 600)
    text = value if isinstance(value, str) else json.dumps(jsonable(value), default=str)
    if len(text) <= limit:
        return text
    cut = text[: limit - 4]
    boundary = max(cut.rfind(", "), cut.rfind(" "))
    return (cut[:boundary] if boundary > limit // 2 else cut).rstrip(",; ") + " ..."


def observed_text(details: dict[str, Any]) -> str | None:
    """A one-line observed value: a row count and share with examples, or the metric's value."""
    if "note" in details:
        return details["note"]
    if "exception" in details:
        return f"not evaluated ({details['exception']})"
    if "unexpected_count" in details:
        count, total = details["unexpected_count"], details.get("element_count") or 0
        share = f" ({100 * count / total:.2f}%)" if total else ""
        examples = details.get("examples") or []
        shown = f", e.g. {'; '.join(_short(e) for e in examples[:MAX_EXAMPLES])}" if count and examples else ""
        return f"{count:,} of {total:,} {details.get('unit', 'rows')}{share}{shown}"
    if "unexpected_rows" in details:
        rows = details["unexpected_rows"]
        shown = "; ".join(_short(r) for r in rows[:MAX_EXAMPLES])
        return f"{details.get('observed_value', len(rows))} row(s): {shown}" if rows else "0 rows"
    if "observed_value" in details:
        return _short(details["observed_value"])
    return None


def _examples(result: dict[str, Any], column: str | None) -> list[Any]:
    """The first failing values, with their file and line when the batch has them."""
    indexed = result.get("partial_unexpected_index_list") or []
    if indexed and isinstance(indexed[0], dict):
        examples = []
        for entry in indexed[:MAX_EXAMPLES]:
            value = entry.get(column) if column else {k: v for k, v in entry.items() if not k.startswith("_")}
            if column in PERSONAL_COLUMNS:  # the file and line find the row; the value stays out of the results
                value = "(value withheld: personal data)"
            where = entry.get("_file")
            line = entry.get("_line")
            # the pipeline's own messages (missing columns, unreadable file, malformed record) read as text
            plain = isinstance(value, float) or (isinstance(value, str) and str(column).startswith("_"))
            shown = _short(value) if plain else repr(jsonable(value))
            if where is not None and line is not None and not _missing(line):
                examples.append(f"{where}:{int(line)}: {shown}")
            elif where is not None:
                examples.append(f"{where}: {shown}")
            else:
                examples.append(jsonable(entry))
        return examples
    if column in PERSONAL_COLUMNS:
        return []
    return [jsonable(v) for v in (result.get("partial_unexpected_list") or [])[:MAX_EXAMPLES]]


def _missing(value: Any) -> bool:
    return value is None or str(value) in ("nan", "<NA>", "NaT", "None")


def _exception_message(info: Any) -> str | None:
    """GE reports an expectation it could not compute either directly or per metric that failed."""
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        return str(info.get("exception_message")) if info.get("raised_exception") else None
    messages = [_exception_message(v) for v in info.values()]
    return "; ".join(sorted({m for m in messages if m})) or None


def finding_from_result(gate: str, suite: str, result: Any) -> Finding:
    """One GE ``ExpectationValidationResult`` as a Finding."""
    config = result.expectation_config
    meta = dict(config.meta or {})
    kwargs = config.kwargs
    column = meta["column"] if "column" in meta else kwargs.get("column")
    raw = dict(result.result or {})
    details: dict[str, Any] = {k: v for k, v in meta.items() if k not in ("check", "target", "column", "hint")}
    message = _exception_message(result.exception_info)
    if message:
        details["exception"] = message[:300]
    if "unexpected_count" in raw:
        details["element_count"] = int(raw.get("element_count") or 0) - int(raw.get("missing_count") or 0)
        details["unexpected_count"] = int(raw["unexpected_count"] or 0)  # None on an empty batch
        details["examples"] = _examples(raw, kwargs.get("column"))
        indexed = [e for e in raw.get("partial_unexpected_index_list") or [] if isinstance(e, dict)]
        details["files"] = sorted({str(e["_file"]) for e in indexed if e.get("_file")})
    elif "details" in raw and isinstance(raw["details"], dict) and "unexpected_rows" in raw["details"]:
        details["unexpected_rows"] = jsonable(raw["details"]["unexpected_rows"])[:50]
        details["observed_value"] = jsonable(raw.get("observed_value"))
    elif "observed_value" in raw:
        details["observed_value"] = jsonable(raw["observed_value"])
    if kwargs.get("unexpected_rows_query"):  # to look at the rows (SUMMARY results do not carry them)
        details["query"] = kwargs["unexpected_rows_query"]
    for name in ("min_value", "max_value", "mostly"):
        if kwargs.get(name) is not None:
            details[name] = jsonable(kwargs[name])
    details = jsonable(details)
    return Finding(
        gate=gate,
        target=meta.get("target", ""),
        suite=suite,
        check=meta.get("check", config.type),
        expectation=config.type,
        column=column,
        severity=getattr(config.severity, "value", config.severity) or "critical",
        success=bool(result.success),
        observed=observed_text(details),
        hint=meta.get("hint", ""),
        details=details,
        key=str(config.id),
    )


def findings_from_checkpoint(gate: str, checkpoint_result: Any) -> list[Finding]:
    findings = []
    for validation in checkpoint_result.run_results.values():
        suite = validation.suite_name
        findings.extend(finding_from_result(gate, suite, r) for r in validation.results)
    return findings


def _merge(seen: Finding, finding: Finding) -> None:
    a, b = seen.details, finding.details
    if "unexpected_count" in a and "unexpected_count" in b and "exception" not in a and "exception" not in b:
        a["element_count"] += b["element_count"]
        a["unexpected_count"] += b["unexpected_count"]
        a["examples"] = (a.get("examples") or []) + (b.get("examples") or [])
        a["files"] = sorted(set(a.get("files") or []) | set(b.get("files") or []))
        # `mostly` is judged on all rows of the run, so the result does not depend on the batch size
        allowed = (1 - float(a.get("mostly", 1.0))) * a["element_count"]
        seen.success = a["unexpected_count"] <= allowed + 1e-9
    else:
        if finding.failed and not seen.failed:
            seen.details = b
        seen.success = None if seen.success is None and finding.success is None else not (seen.failed or finding.failed)
    seen.observed = observed_text(seen.details)


def merge_batches(batches: Iterable[list[Finding]]) -> list[Finding]:
    """One finding per expectation over several batches of the same suite (large catch-up runs)."""
    merged: dict[str, Finding] = {}
    for findings in batches:
        for finding in findings:
            if finding.key in merged:
                _merge(merged[finding.key], finding)
            else:
                merged[finding.key] = finding
    return list(merged.values())


def require_critical_rows(findings: list[Finding], min_rows: int) -> list[Finding]:
    """A share tier (``critical_above``) fails only when at least ``min_rows`` rows fail: one bad record in a
    three-line file is a third of it, and the warning tier already reports it."""
    for finding in findings:
        shared = float(finding.details.get("mostly", 1.0)) < 1.0
        if shared and finding.failed and finding.details.get("unexpected_count", min_rows) < min_rows:
            finding.success = True
            finding.details["passed_below_critical_min_rows"] = min_rows
    return findings


def counts(findings: Iterable[Finding]) -> tuple[int, int, int]:
    """(evaluated, failed critical, failed warning)."""
    evaluated = failed_critical = failed_warning = 0
    for f in findings:
        if f.success is None:
            continue
        evaluated += 1
        if f.failed and f.severity == "critical":
            failed_critical += 1
        elif f.failed:
            failed_warning += 1
    return evaluated, failed_critical, failed_warning
