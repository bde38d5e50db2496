"""Gate 2, warehouse: the marts after the dbt build, validated inside PostgreSQL through a SQL datasource.

Every target table is a table asset with a whole-table batch definition and a suite of its own; one checkpoint
runs them all. Nothing is pulled into memory: column checks compile to SQL, and the checks that span tables or
rows (revenue reconciliation, feature drift) are ``UnexpectedRowsExpectation`` queries that return only the
offending rows.

One owner per check (CONTRIBUTING.md): this gate holds what dbt's tests cannot say about one row or one model:
existence, volume, freshness, reconciliation across tables, drift against an earlier run. Row-level rules (one row
per customer, a segment for each, KPI rates in [0, 1]) are dbt tests beside the model, which fail
``build_warehouse`` before this gate runs. The connection string is ``${CRM_WAREHOUSE_URL}``, read from the environment
when the checkpoint runs (GE's own URL validation refuses the unix-socket URLs of the embedded server).

``WarehouseLayout`` is what the runner found in ``information_schema`` this run, so a new KPI table is covered
without a code change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.data_context import AbstractDataContext

from expectations.gates import (
    configure_checkpoint,
    configure_postgres,
    configure_suite,
    configure_validation,
    with_severity,
)
from proactive_crm.quality_config import QualityConfig

GATE = "warehouse"
ORDERS = "core.fct_orders"
ORDER_LINES = "core.fct_order_lines"
CUSTOMERS = "core.dim_customers"
FEATURES = "ml.ml_customer_features"
REQUIRED_TABLES = (ORDERS, ORDER_LINES, CUSTOMERS)
KPI_SCHEMA = "kpi"
KPI_PREFIX = "kpi_"
# The date that says how recent a fact or feature table is. KPI marts use the first of FRESHNESS_FALLBACK they have
# (a running KPI period ends at the run date), then their first *_date column; `freshness.column` overrides, and
# gives a dimension table a freshness check too.
FRESHNESS_COLUMNS = {ORDERS: "ordered_date", ORDER_LINES: "ordered_date", FEATURES: "as_of_date"}
FRESHNESS_FALLBACK = ("as_of_date", "period_end")
FEATURE_KEYS = ("customer_id", "as_of_date")
NUMERIC_TYPES = ("smallint", "integer", "bigint", "numeric", "real", "double precision")


@dataclass
class WarehouseLayout:
    run_date: date
    tables: dict[str, list[tuple[str, str]]]  # existing target table -> [(column, data type)] in table order
    drift_features: list[str] = field(default_factory=list)
    baseline_run: date | None = None  # the run whose feature profile drift is measured against

    def columns(self, table: str) -> list[str]:
        return [name for name, _ in self.tables.get(table, [])]

    @property
    def kpi_tables(self) -> list[str]:
        return sorted(t for t in self.tables if t.startswith(f"{KPI_SCHEMA}.{KPI_PREFIX}"))

    def date_column(self, table: str, configured: str | None = None) -> str | None:
        """The column freshness is judged on: facts, KPI marts and features; dimensions only when configured."""
        if not configured and table not in FRESHNESS_COLUMNS and table not in self.kpi_tables:
            return None
        columns = self.tables.get(table, [])
        dates = [name for name, kind in columns if kind == "date"]
        preferred = [configured] if configured else [FRESHNESS_COLUMNS.get(table), *FRESHNESS_FALLBACK]
        for name in preferred:
            if name in dates:
                return name
        dated = [name for name in dates if name.endswith("_date")]
        return dated[0] if dated and not configured else None

    def numeric_columns(self, table: str) -> list[str]:
        return [name for name, kind in self.tables.get(table, []) if kind in NUMERIC_TYPES and name not in FEATURE_KEYS]


def _freshness(table: str, layout: WarehouseLayout, config: QualityConfig) -> list[gxe.Expectation]:
    check = config.check(GATE, "freshness", table)
    column = layout.date_column(table, check.params.get("column"))
    if column is None:
        return []
    lag = int(check["max_lag_days"])
    oldest = layout.run_date - timedelta(days=lag)
    return with_severity(
        gxe.ExpectColumnMaxToBeBetween, check,
        {"target": table, "column": column, "hint": f"the latest {column} in {table} should be between {oldest} and "
         f"{layout.run_date + timedelta(days=1)} (run date {layout.run_date}, max_lag_days {lag}): did ingestion "
         "load the latest partitions and did dbt build this model?"},
        column=column, min_value=oldest, max_value=layout.run_date + timedelta(days=1),
    )


def _orders(layout: WarehouseLayout, config: QualityConfig) -> list[gxe.Expectation]:
    expectations: list[gxe.Expectation] = []
    # Lines hold products only: an order's delivery charge is part of its total but of no line.
    has_shipping = "shipping_amount" in layout.columns(ORDERS)
    products_amount = "total_amount - shipping_amount" if has_shipping else "total_amount"
    if ORDER_LINES in layout.tables:
        check = config.check(GATE, "revenue_reconciles", ORDERS)
        tolerance = float(check["tolerance"])
        expectations += with_severity(
            gxe.UnexpectedRowsExpectation, check,
            {"target": ORDERS, "column": "total_amount", "hint": f"completed orders' total_amount (less shipping) in "
             f"{ORDERS} must equal the line_amount of their lines in {ORDER_LINES} (relative tolerance {tolerance}):"
             " look for lines lost or duplicated between staging and the marts, or a delivery charge the export"
             " puts in total_amount without a shipping_amount column"},
            unexpected_rows_query=(
                f"with orders as (select coalesce(sum({products_amount}), 0) as orders_total from {{batch}} "
                "where is_completed), "
                "lines as (select coalesce(sum(l.line_amount), 0) as lines_total "
                f"from {ORDER_LINES} as l join {{batch}} as o on o.order_id = l.order_id where o.is_completed) "
                "select orders_total, lines_total, orders_total - lines_total as difference "
                "from orders cross join lines "
                f"where abs(orders_total - lines_total) > {tolerance} * greatest(abs(orders_total), 1)"
            ),
            description="Revenue of completed orders reconciles between fct_orders and fct_order_lines",
        )
    if {"total_amount", "lines_amount"} <= set(layout.columns(ORDERS)):
        check = config.check(GATE, "order_totals_match_lines", ORDERS)
        tolerance = float(check["tolerance"])
        expectations += with_severity(
            gxe.UnexpectedRowsExpectation, check,
            {"target": ORDERS, "column": "lines_amount", "hint": "an order's total_amount less shipping differs "
             f"from the sum of its lines by more than {tolerance}: check the export's totals (order-level "
             "discounts, fees, instalment interest) and the order_lines deliveries of those orders"},
            unexpected_rows_query=(
                f"select order_id, total_amount, {products_amount} - coalesce(lines_amount, 0) as difference, "
                "lines_amount from {batch} "
                f"where is_completed and abs({products_amount} - coalesce(lines_amount, 0)) > {tolerance}"
            ),
            description="Each completed order's total matches its lines",
        )
    return expectations


def drift_query(layout: WarehouseLayout, max_psi: float) -> str:
    """Population stability index of every drift feature against the baseline run's bins, computed in SQL."""
    values = ", ".join(f"('{f}', cast(latest.{f} as double precision))" for f in layout.drift_features)
    floor = "1e-4"  # empty bins would make the index infinite
    return (
        "with latest as (select * from {batch} where as_of_date = (select max(as_of_date) from {batch})), "
        f"feature_values as (select v.feature, v.value from latest cross join lateral (values {values}) "
        "as v(feature, value) where v.value is not null), "
        "baseline as (select feature, edges, fractions from quality.feature_profiles "
        f"where table_name = '{FEATURES}' and run_date = date '{layout.baseline_run}'), "
        "observed as (select b.feature, width_bucket(v.value, b.edges) as bin, count(*) as n "
        "from feature_values as v join baseline as b on b.feature = v.feature group by b.feature, bin), "
        "shares as (select feature, bin, n / sum(n) over (partition by feature) as share from observed), "
        "expected as (select b.feature, e.ord - 1 as bin, e.share from baseline as b "
        "cross join lateral unnest(b.fractions) with ordinality as e(share, ord)), "
        f"psi as (select e.feature, sum((greatest(coalesce(s.share, 0), {floor}) - greatest(e.share, {floor})) "
        f"* ln(greatest(coalesce(s.share, 0), {floor}) / greatest(e.share, {floor}))) as psi "
        "from expected as e left join shares as s on s.feature = e.feature and s.bin = e.bin group by e.feature) "
        f"select feature, round(cast(psi as numeric), 4) as psi from psi where psi > {max_psi} order by psi desc"
    )


def _features(layout: WarehouseLayout, config: QualityConfig) -> list[gxe.Expectation]:
    check = config.check(GATE, "feature_drift", FEATURES)
    if not layout.drift_features or layout.baseline_run is None:
        return []
    max_psi = float(check["max_psi"])
    return with_severity(
        gxe.UnexpectedRowsExpectation, check,
        {"target": FEATURES, "column": ",".join(layout.drift_features), "baseline_run": str(layout.baseline_run),
         "hint": f"these features moved against the run of {layout.baseline_run} (population stability index "
         f"above {max_psi}): check upstream changes (a source, a mapping, a dbt model) before trusting scores"},
        unexpected_rows_query=drift_query(layout, max_psi),
        description="Key features keep their distribution from the previous run",
    )


def table_expectations(table: str, layout: WarehouseLayout, config: QualityConfig) -> list[gxe.Expectation]:
    expectations = with_severity(
        gxe.ExpectTableRowCountToBeBetween, config.check(GATE, "not_empty", table),
        {"target": table, "column": None, "hint": f"{table} is empty: did dbt build it from empty staging models?"},
        min_value=1,
    )
    expectations += _freshness(table, layout, config)
    if table == ORDERS:
        expectations += _orders(layout, config)
    elif table == FEATURES:
        expectations += _features(layout, config)
    return expectations


def configure_warehouse_gate(
    context: AbstractDataContext, layout: WarehouseLayout, config: QualityConfig
) -> gx.Checkpoint:
    """The postgres datasource, a table asset and suite per target table, and the gate's checkpoint."""
    datasource = configure_postgres(context, GATE)
    validations = []
    for table in sorted(layout.tables):
        schema, name = table.split(".", 1)
        asset = datasource.add_table_asset(table, table_name=name, schema_name=schema)
        batch = asset.add_batch_definition_whole_table("whole table")
        suite = configure_suite(context, f"{GATE}.{table}", table_expectations(table, layout, config))
        validations.append(configure_validation(context, suite.name, batch, suite))
    return configure_checkpoint(context, GATE, validations)
