"""The end of every gate run: record the results, log them, and stop the run on a critical failure.

A new gate (such as gate 3 on the action tables) builds its checkpoint with ``expectations.gates``, turns the
result into findings with ``expectations.results.findings_from_checkpoint``, adds example rows of its SQL checks
with ``add_examples`` and ends with ``finish_gate``; ``quality.validation_results``, the failure message, the Data
Docs index and ``format_gate_summary`` then work for it unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
import psycopg.rows

from expectations.queries import substitute_batch
from expectations.results import Finding, counts, jsonable, observed_text
from expectations.store import write_results
from proactive_crm.config import Settings

log = logging.getLogger(__name__)
MAX_WARNINGS_SHOWN = 3  # the critical failures are what the reader must act on


class QualityGateError(RuntimeError):
    """A critical expectation failed; the message names each one, where, what was observed and what to check."""


def docs_root(settings: Settings) -> Path:
    return settings.state_dir / "quality" / "data_docs"


@dataclass
class GateOutcome:
    gate: str
    run_date: date
    targets: list[str]
    findings: list[Finding] = field(default_factory=list)
    docs: Path | None = None

    @property
    def evaluated(self) -> int:
        return counts(self.findings)[0]

    @property
    def failed_critical(self) -> list[Finding]:
        return [f for f in self.findings if f.failed and f.severity == "critical"]

    @property
    def failed_warning(self) -> list[Finding]:
        return [f for f in self.findings if f.failed and f.severity == "warning"]

    def summary(self) -> str:
        status = "FAILED" if self.failed_critical else "passed"
        targets = ", ".join(self.targets) if len(self.targets) <= 2 else f"{len(self.targets)} targets"
        return (
            f"{self.gate} gate {status} for {targets} on {self.run_date}: {self.evaluated} "
            f"expectations, {len(self.failed_critical)} critical failed, {len(self.failed_warning)} warning(s)"
        )

    def failure_message(self, consequence: str) -> str:
        lines = [f"{self.summary()}; {consequence}.", "Critical:"]
        lines += [f.describe() for f in self.failed_critical]
        # a check whose critical tier failed has failed its warning tier too: say it once
        critical = {(f.target, f.check, f.column) for f in self.failed_critical}
        warnings = [f for f in self.failed_warning if (f.target, f.check, f.column) not in critical]
        if warnings:
            lines.append("Warnings (recorded, not blocking):")
            lines += [f.describe() for f in warnings[:MAX_WARNINGS_SHOWN]]
            if len(warnings) > MAX_WARNINGS_SHOWN:
                lines.append(f"- and {len(warnings) - MAX_WARNINGS_SHOWN} more warning(s)")
        lines.append(
            f"All results: select * from quality.validation_results where run_date = '{self.run_date}' "
            f"and gate = '{self.gate}'" + (f"; Data Docs: {self.docs}" if self.docs else "")
        )
        return "\n".join(lines)


def add_examples(
    conn: psycopg.Connection,
    findings: list[Finding],
    batch: str | None = None,
    limit: int = 5,
    batch_query: str | None = None,
) -> None:
    """The first rows a failed query expectation found, for the message: GE's SUMMARY results carry only the
    count, and COMPLETE ones would carry every unexpected value of every column check. ``batch`` is what GE put in
    place of ``{batch}``: by default the finding's table (a table asset); for a query asset, ``batch_query`` is
    substituted the way GE does it."""
    for finding in findings:
        query = finding.details.get("query")
        if not finding.failed or not query or "exception" in finding.details:
            continue
        if batch_query is not None:
            text = substitute_batch(query, batch_query)
        else:
            text = query.replace("{batch}", batch or finding.target)
        with conn.transaction(), conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            rows = cur.execute(f"select * from ({text}) as unexpected limit {int(limit)}").fetchall()
        finding.details["unexpected_rows"] = jsonable(rows)
        finding.observed = observed_text(finding.details)


def finish_gate(
    conn: psycopg.Connection,
    outcome: GateOutcome,
    consequence: str,
    run_id: str | None = None,
) -> GateOutcome:
    """Record every finding (replacing an earlier run of the same day), log failures, raise on a critical one."""
    write_results(conn, outcome.run_date, outcome.gate, outcome.targets, outcome.findings, run_id)
    for finding in outcome.failed_warning:
        log.warning("quality warning: %s", finding.describe().removeprefix("- "))
    for finding in outcome.failed_critical:
        log.error("quality CRITICAL: %s", finding.describe().removeprefix("- "))
    if outcome.failed_critical:
        raise QualityGateError(outcome.failure_message(consequence))
    log.info("%s", outcome.summary())
    return outcome
