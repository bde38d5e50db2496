"""Run gate 2 on the marts after the dbt build, and keep this run's feature profile for the next run's drift check.

What is validated comes from ``information_schema``: the fixed core tables, every ``kpi.kpi_*`` table (its
``*_rate`` / ``*_share`` columns), and ``ml.ml_customer_features`` once it exists. A core or KPI table that is
missing is a finding of its own (``table_exists``); the feature table and the drift check are recorded as not
evaluated until the features, or a previous run's profile, exist.
"""

from __future__ import annotations

import logging
import re
from datetime import date

import psycopg

from expectations.outcome import GateOutcome, add_examples, docs_root, finish_gate
from expectations.results import Finding, findings_from_checkpoint
from expectations.store import ensure_quality_schema
from proactive_crm.config import Settings
from proactive_crm.quality_config import QualityConfig

log = logging.getLogger(__name__)
GATE = "warehouse"
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def _columns(conn: psycopg.Connection, tables: tuple[str, ...], kpi_schema: str, kpi_prefix: str) -> dict:
    rows = conn.execute(
        "select table_schema || '.' || table_name, column_name, data_type from information_schema.columns "
        "where table_schema || '.' || table_name = any(%s) "
        "or (table_schema = %s and table_name like %s) "
        "order by table_schema, table_name, ordinal_position",
        (list(tables), kpi_schema, kpi_prefix.replace("_", r"\_") + "%"),
    ).fetchall()
    layout: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        layout.setdefault(table, []).append((column, kind))
    return layout


def discover_layout(conn: psycopg.Connection, run_date: date, config: QualityConfig):
    """What the warehouse holds this run: target tables, their columns, drift features and the drift baseline."""
    from expectations import warehouse as wh

    with conn.transaction():
        tables = _columns(conn, (*wh.REQUIRED_TABLES, wh.FEATURES), wh.KPI_SCHEMA, wh.KPI_PREFIX)
        baseline = conn.execute(
            "select max(run_date) from quality.feature_profiles where table_name = %s and run_date < %s",
            (wh.FEATURES, run_date),
        ).fetchone()[0]
    layout = wh.WarehouseLayout(run_date, tables, baseline_run=baseline)
    if wh.FEATURES in tables:
        wanted = config.check(GATE, "feature_drift", wh.FEATURES)["features"] or layout.numeric_columns(wh.FEATURES)
        available = set(layout.numeric_columns(wh.FEATURES))
        layout.drift_features = [f for f in wanted if f in available and IDENTIFIER.match(f)]
        ignored = sorted(set(wanted) - set(layout.drift_features))
        if ignored:
            log.warning("feature_drift: %s not numeric columns of %s; not profiled", ", ".join(ignored), wh.FEATURES)
    return layout


def _note(table: str, check: str, severity: str, note: str, success: bool | None = None, hint: str = "") -> Finding:
    return Finding(
        gate=GATE,
        target=table,
        suite=f"{GATE}.{table}",
        check=check,
        expectation=check,
        column=None,
        severity=severity,
        success=success,
        observed=note,
        hint=hint,
        details={"note": note},
        key=f"{table}:{check}",
    )


def structural_findings(layout, config: QualityConfig) -> list[Finding]:
    """Findings GE cannot produce: tables that are not there, and checks that cannot run yet."""
    from expectations import warehouse as wh

    findings = []
    expected = list(wh.REQUIRED_TABLES) + ([] if layout.kpi_tables else [f"{wh.KPI_SCHEMA}.{wh.KPI_PREFIX}*"])
    for table in expected:
        check = config.check(GATE, "table_exists", table)
        if table in layout.tables or not check.enabled:
            continue
        findings.append(
            _note(table, "table_exists", check.severity, f"{table} does not exist", False,
                  "dbt did not build it: see the build_warehouse task log and dbt_project/models/marts")
        )
    drift = config.check(GATE, "feature_drift", wh.FEATURES)
    if drift.enabled:
        if wh.FEATURES not in layout.tables:
            findings.append(_note(wh.FEATURES, "feature_drift", drift.severity,
                                  f"not evaluated: {wh.FEATURES} does not exist yet"))
        elif layout.baseline_run is None:
            findings.append(_note(wh.FEATURES, "feature_drift", drift.severity,
                                  "not evaluated: no earlier run's feature profile to compare with (first run)"))
    return findings


def _profile_rows(conn: psycopg.Connection, layout, bins: int) -> list[tuple]:
    """Per feature of the latest as_of_date: counts, mean, stddev, quantile bin edges and the share in each bin."""
    from expectations import warehouse as wh

    if not layout.drift_features:
        return []
    values = ", ".join(f"('{f}', cast(latest.{f} as double precision))" for f in layout.drift_features)
    source = (
        f"with latest as (select * from {wh.FEATURES} where as_of_date = (select max(as_of_date) "
        f"from {wh.FEATURES})), feature_values as (select latest.as_of_date, v.feature, v.value from latest "
        f"cross join lateral (values {values}) as v(feature, value)) "
    )
    quantiles = [i / bins for i in range(1, bins)]
    stats = conn.execute(
        source + "select feature, max(as_of_date), count(*), count(*) - count(value), avg(value), "
        "stddev_samp(value), percentile_cont(%s::double precision[]) within group (order by value) "
        "from feature_values group by feature",
        (quantiles,),
    ).fetchall()
    rows = []
    for feature, as_of, n, nulls, mean, stddev, edges in stats:
        if n == nulls:
            continue
        edges = sorted(set(edges))
        shares = dict(
            conn.execute(
                source + "select width_bucket(value, %s::double precision[]), count(*) from feature_values "
                "where feature = %s and value is not null group by 1",
                (edges, feature),
            ).fetchall()
        )
        counted = n - nulls
        fractions = [shares.get(b, 0) / counted for b in range(len(edges) + 1)]
        rows.append((layout.run_date, wh.FEATURES, feature, as_of, n, nulls, mean, stddev, edges, fractions))
    return rows


def store_feature_profile(conn: psycopg.Connection, layout, config: QualityConfig) -> int:
    """Replace this run's profile: the baseline of the next run's drift check."""
    from expectations import warehouse as wh

    bins = int(config.check(GATE, "feature_drift", wh.FEATURES)["bins"])
    with conn.transaction():
        rows = _profile_rows(conn, layout, bins)
        conn.execute(
            "delete from quality.feature_profiles where run_date = %s and table_name = %s",
            (layout.run_date, wh.FEATURES),
        )
        with conn.cursor() as cur:
            cur.executemany(
                "insert into quality.feature_profiles (run_date, table_name, feature, as_of_date, row_count, "
                "null_count, mean, stddev, edges, fractions) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
    return len(rows)


def run_warehouse_gate(
    conn: psycopg.Connection, run_date: date, settings: Settings, run_id: str | None = None
) -> GateOutcome:
    """Validate the marts in the database; raise ``QualityGateError`` after recording results on a critical failure.

    The GE datasource reads ``CRM_WAREHOUSE_URL`` from the environment: the caller sets it (``warehouse_url``
    does) to the database ``conn`` is connected to.
    """
    from expectations.gates import new_context, run_identifier, write_docs_index
    from expectations.warehouse import configure_warehouse_gate

    config = QualityConfig.from_settings(settings)
    ensure_quality_schema(conn)
    layout = discover_layout(conn, run_date, config)
    findings = structural_findings(layout, config)
    root = docs_root(settings)
    if layout.tables:
        context = new_context(root, GATE, "marts")
        checkpoint = configure_warehouse_gate(context, layout, config)
        findings += findings_from_checkpoint(GATE, checkpoint.run(run_id=run_identifier(run_date)))
        add_examples(conn, findings)
    profiled = store_feature_profile(conn, layout, config) if layout.drift_features else 0
    log.info("warehouse gate: %s table(s) validated, %s feature(s) profiled", len(layout.tables), profiled)
    from expectations import warehouse as wh

    # every target the gate knows, so that a re-run also replaces the rows of a table that was missing before
    known = {*wh.REQUIRED_TABLES, wh.FEATURES, f"{wh.KPI_SCHEMA}.{wh.KPI_PREFIX}*"}
    targets = sorted(set(layout.tables) | known | {f.target for f in findings})
    outcome = GateOutcome(GATE, run_date, targets, findings, write_docs_index(root))
    return finish_gate(conn, outcome, "nothing downstream of the warehouse runs (no scores, no actions published)",
                       run_id)
