"""What every gate shares: an ephemeral context with a Data Docs site, severity tiers, one checkpoint per gate.

Data Docs: a site's builder removes pages of validations its own context does not hold, and each gate runs in a
process of its own (one per Airflow task), so every gate and target builds its own site under
``<docs_root>/<gate>/<target>/`` and ``write_docs_index`` links them from ``<docs_root>/index.html``.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.core.batch_definition import BatchDefinition
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context import AbstractDataContext
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations import Expectation

from expectations.queries import portable_rows_query
from proactive_crm.quality_config import CheckConfig

# GE pins this logger to INFO and announces a temporary docs directory for every ephemeral context.
logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
WAREHOUSE_URL = "${CRM_WAREHOUSE_URL}"


def site_name(gate: str, target: str) -> str:
    return f"{gate}.{target}"


def new_context(docs_root: Path | None, gate: str, target: str) -> AbstractDataContext:
    """An ephemeral context (suites are code, nothing to persist) whose Data Docs go to docs_root/gate/target."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # no tqdm bars in task logs
    sites = {}
    if docs_root is not None:
        sites[site_name(gate, target)] = {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_root / gate / target),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    context.variables.data_docs_sites = sites
    return context


def with_severity(
    make: Callable[..., Expectation], check: CheckConfig, meta: dict[str, Any], **kwargs: Any
) -> list[Expectation]:
    """The expectations a check contributes: none when off; one at its severity; for a row-level warning with
    ``critical_above``, a second one that is critical when more than that share of rows fails."""
    if not check.enabled:
        return []
    if "unexpected_rows_query" in kwargs:
        kwargs["unexpected_rows_query"] = portable_rows_query(kwargs["unexpected_rows_query"])
    base_meta = {"check": check.name, **meta}
    expectations = [make(**kwargs, severity=check.severity, meta={**base_meta, "tier": "any row"})]
    has_mostly = "mostly" in getattr(make, "__fields__", {})
    if check.severity == "warning" and check.critical_above is not None and has_mostly:
        expectations.append(
            make(
                **kwargs,
                mostly=round(1 - check.critical_above, 6),
                severity="critical",
                meta={**base_meta, "tier": f"more than {check.critical_above:.0%} of rows"},
            )
        )
    return expectations


def configure_postgres(context: AbstractDataContext, name: str):
    """The warehouse as a GE SQL datasource. The URL is read from ``CRM_WAREHOUSE_URL`` when a checkpoint runs:
    GE's own URL validation refuses the unix-socket URLs of the embedded server, its config variables do not."""
    return context.data_sources.add_or_update_postgres(name, connection_string=WAREHOUSE_URL)


def configure_suite(context: AbstractDataContext, name: str, expectations: list[Expectation]) -> gx.ExpectationSuite:
    return context.suites.add_or_update(gx.ExpectationSuite(name=name, expectations=expectations))


def configure_validation(
    context: AbstractDataContext, name: str, batch: BatchDefinition, suite: gx.ExpectationSuite
) -> gx.ValidationDefinition:
    return context.validation_definitions.add_or_update(gx.ValidationDefinition(name=name, data=batch, suite=suite))


def configure_checkpoint(
    context: AbstractDataContext,
    name: str,
    validations: list[gx.ValidationDefinition],
    result_format: dict[str, Any] | None = None,
) -> gx.Checkpoint:
    """The gate's one checkpoint: its validations, Data Docs updated after every run."""
    actions = [UpdateDataDocsAction(name="data_docs", site_names=list(context.variables.data_docs_sites or {}))]
    return context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=name,
            validation_definitions=validations,
            actions=actions if context.variables.data_docs_sites else [],
            result_format=result_format or RESULT_FORMAT,
        )
    )


def run_identifier(run_date: date) -> RunIdentifier:
    """Data Docs list validations by run: name them after the business day they validate."""
    return RunIdentifier(run_name=run_date.isoformat())


def write_docs_index(docs_root: Path) -> Path:
    """``<docs_root>/index.html`` linking the site of every gate and target (rewritten atomically)."""
    docs_root.mkdir(parents=True, exist_ok=True)
    sites = sorted(p.parent.relative_to(docs_root) for p in docs_root.glob("*/*/index.html"))
    items = "\n".join(
        f'<li><a href="{html.escape(site.as_posix())}/index.html">{html.escape(site.as_posix())}</a></li>'
        for site in sites
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Data quality</title></head><body>"
        "<h1>Data quality: latest validation per gate and target</h1>"
        "<p>History: table <code>quality.validation_results</code>.</p>"
        f"<ul>\n{items}\n</ul></body></html>\n"
    )
    index = docs_root / "index.html"
    temporary = index.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, index)
    return index
