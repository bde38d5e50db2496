"""What the nightly report shows, read from the marts, the quality results, the model registry and the load audit.

Every reader returns plain rows (lists of dicts) so the charts and the tests see the same numbers. A section whose
tables a run never built (no actions yet, a warehouse without scores) returns no rows rather than failing the report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import psycopg.rows

from proactive_crm.run_summary import load_accounting, top_rejection_reasons


@dataclass(frozen=True)
class Kpi:
    column: str
    label: str
    kind: str  # money, count, rate
    definition: str


# The paper's Table 2 KPIs and their companions; the definitions are those of the KPI marts
# (dbt_project/models/marts/kpi/_kpi__models.yml) and of the semantic layer's metrics.
KPIS = (
    Kpi("revenue", "Revenue", "money", "Total amount of completed orders."),
    Kpi("count_orders", "Completed orders", "count", "Orders with status completed."),
    Kpi("average_order_value", "Average order value", "money", "Revenue / completed orders."),
    Kpi(
        "retention_rate",
        "Retention rate",
        "rate",
        "(Customers at period end - new customers) / customers at period start: active customers of the previous "
        "month still active this month.",
    ),
    Kpi(
        "satisfaction_rate",
        "Satisfaction rate",
        "rate",
        "Customers whose latest rating in the month is 4 or 5 / active customers.",
    ),
    Kpi("positive_review_share", "Positive reviews", "rate", "Reviews rated 4 or 5 / all reviews (not complaints)."),
    Kpi("complaint_rate", "Complaint rate", "rate", "Customers who complained / active customers."),
    Kpi(
        "repurchase_rate",
        "Repurchase rate",
        "rate",
        "Buyers with 2 or more lifetime completed orders / customers with a completed order in the month.",
    ),
    Kpi(
        "pareto_revenue_share",
        "Pareto revenue share",
        "rate",
        "Revenue from the customers who make the top 80% of lifetime revenue / revenue.",
    ),
)

TREND_MONTHS = 13
QUALITY_NIGHTS = 30


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows(conn: psycopg.Connection, query: str, params: tuple = ()) -> list[dict[str, Any]]:
    """Rows as dicts of JSON-ready values; no rows when a table does not exist (yet)."""
    try:
        with conn.transaction(), conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            return [{k: _plain(v) for k, v in row.items()} for row in cur.execute(query, params).fetchall()]
    except psycopg.errors.UndefinedTable:
        return []


def kpi_trend(conn: psycopg.Connection, run_date: date) -> list[dict[str, Any]]:
    """The overall monthly KPI rows of the last 13 months up to run_date's month (to date), oldest first."""
    columns = ", ".join(k.column for k in KPIS)
    rows = _rows(
        conn,
        f"select period_start, period_end, count_customers, {columns} from kpi.kpi_customer_health_monthly "
        "where dimension = 'overall' and period_start <= %s order by period_start desc limit %s",
        (run_date, TREND_MONTHS),
    )
    return list(reversed(rows))


def cohort_retention(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return _rows(
        conn,
        "select cohort_month, months_since_first_order, count_cohort_customers, count_buying_customers, "
        "retention_share from kpi.kpi_cohort_retention_monthly "
        "where cohort_month >= (select max(cohort_month) from kpi.kpi_cohort_retention_monthly) - interval '12 months'"
        " order by cohort_month, months_since_first_order",
    )


def segment_transitions(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return _rows(
        conn,
        "select from_as_of_date, as_of_date, from_segment, to_segment, count_customers "
        "from kpi.kpi_segment_transitions order by from_segment, to_segment",
    )


def pareto_curve(conn: psycopg.Connection, points: int = 100) -> list[dict[str, Any]]:
    """Cumulative share of lifetime revenue against the share of buying customers, best customers first."""
    return _rows(
        conn,
        """
        with ranked as (
            select
                row_number() over (order by total_revenue desc, customer_id) as position,
                count(*) over () as customers,
                sum(total_revenue) over (order by total_revenue desc, customer_id) as running_revenue,
                sum(total_revenue) over () as revenue
            from core.dim_customers
            where total_revenue > 0
        )
        select
            cast(position as double precision) / customers as customer_share,
            cast(running_revenue / revenue as double precision) as revenue_share
        from ranked
        where position = customers or position %% greatest(customers / %s, 1) = 0
        order by position
        """,
        (points,),
    )


def quality_history(conn: psycopg.Connection, run_date: date) -> list[dict[str, Any]]:
    """Per night and gate over the last 30 nights: passed, warning (a warning check failed) or critical."""
    return _rows(
        conn,
        """
        select
            run_date,
            gate,
            count(success) as count_evaluated,
            count(*) filter (where success is false and severity = 'critical') as count_critical,
            count(*) filter (where success is false and severity = 'warning') as count_warning,
            case
                when count(*) filter (where success is false and severity = 'critical') > 0 then 'critical'
                when count(*) filter (where success is false and severity = 'warning') > 0 then 'warning'
                else 'pass'
            end as status
        from quality.validation_results
        where run_date > %s and run_date <= %s
        group by run_date, gate
        order by run_date, gate
        """,
        (run_date - timedelta(days=QUALITY_NIGHTS), run_date),
    )


def serving_models(conn: psycopg.Connection, run_date: date) -> list[dict[str, Any]]:
    """What scored tonight (as of run_date + 1): the champion version or the rules, and why."""
    return _rows(
        conn,
        "select model, model_version, method, is_fallback, fallback_reason, rows_scored, main_metric, "
        "metric_value, best_baseline, baseline_value from ml.scoring_runs where as_of_date = %s order by model",
        (run_date + timedelta(days=1),),
    )


def model_versions(models_dir: Path) -> list[dict[str, Any]]:
    """The held-out main metric of every trained version next to its baselines, from the model registry
    (``<models_dir>/<model>/<version>/metrics.json``)."""
    rows: list[dict[str, Any]] = []
    if not models_dir.exists():
        return rows
    for model_path in sorted(p for p in models_dir.iterdir() if p.is_dir()):
        for version_path in sorted(p for p in model_path.iterdir() if (p / "metrics.json").exists()):
            metrics = json.loads((version_path / "metrics.json").read_text(encoding="utf-8"))
            main = metrics.get("main_metric")
            for method, values in (metrics.get("results") or {}).items():
                value = values.get(main) if main else None
                if isinstance(value, int | float):
                    rows.append(
                        {
                            "model": model_path.name,
                            "version": version_path.name,
                            "method": method,
                            "metric": main,
                            "value": float(value),
                        }
                    )
    return rows


def actions_by_type(conn: psycopg.Connection, run_date: date) -> list[dict[str, Any]]:
    return _rows(
        conn,
        "select action_type, channel, outcome, count(*) as count_actions from actions.decisions "
        "where run_date = %s group by action_type, channel, outcome order by action_type, channel, outcome",
        (run_date,),
    )


def suppression_reasons(conn: psycopg.Connection, run_date: date) -> list[dict[str, Any]]:
    return _rows(
        conn,
        "select suppression_reason, count(*) as count_actions from actions.decisions "
        "where run_date = %s and outcome = 'suppressed' group by suppression_reason order by 2 desc",
        (run_date,),
    )


def uplift_history(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Uplift of the programme on the retention outcome per decision month: treated customers against the global
    control group, each customer's first matured action of the month, with a 95% interval (normal approximation,
    the formula of actions.action_effectiveness)."""
    return _rows(
        conn,
        """
        with firsts as (
            select distinct on (customer_id, date_trunc('month', run_date))
                cast(date_trunc('month', run_date) as date) as decision_month,
                comparison_group,
                cast(has_ordered_window as integer) as retained
            from actions.action_outcomes
            where is_matured and comparison_group in ('treated', 'control_group')
            order by customer_id, date_trunc('month', run_date), run_date, action_id
        ),
        groups as (
            select
                decision_month,
                count(*) filter (where comparison_group = 'treated') as n1,
                avg(retained) filter (where comparison_group = 'treated') as p1,
                count(*) filter (where comparison_group = 'control_group') as n0,
                avg(retained) filter (where comparison_group = 'control_group') as p0
            from firsts
            group by decision_month
        )
        select
            decision_month,
            n1 as count_treated,
            n0 as count_control_group,
            cast(p1 as double precision) as retention_rate_treated,
            cast(p0 as double precision) as retention_rate_control,
            cast(p1 - p0 as double precision) as uplift,
            cast(p1 - p0 - 1.96 * sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0) as double precision) as ci_low,
            cast(p1 - p0 + 1.96 * sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0) as double precision) as ci_high
        from groups
        where n1 > 0 and n0 > 0
        order by decision_month
        """,
    )


def effectiveness(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """The current effectiveness rows per action type (all channels) and for the programme."""
    return _rows(
        conn,
        "select action_type, comparison_group, count_customers_treated, count_customers_untreated, "
        "retention_rate_treated, retention_rate_untreated, uplift_retention_rate, uplift_retention_ci_low, "
        "uplift_retention_ci_high, measured_through_date from actions.action_effectiveness "
        "where channel = 'all' order by action_type = 'all' desc, action_type",
    )


def landing_accounting(conn: psycopg.Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows read, loaded and rejected per source over the current loads, and the most frequent rejection reasons."""
    try:
        with conn.transaction():
            loads = load_accounting(conn)
            reasons = top_rejection_reasons(conn, limit=10)
    except psycopg.errors.UndefinedTable:
        return [], []
    names = ("source", "files_loaded", "rows_read", "rows_loaded", "rows_rejected", "rows_erased", "files_failed")
    return (
        [dict(zip(names, row, strict=True)) for row in loads],
        [{"source": s, "reason": r, "count_rows": n} for s, r, n in reasons],
    )
