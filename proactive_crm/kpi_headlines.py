"""Headline KPIs of a business day, for the demo and the run log, read from the KPI marts.

The figures are the overall rows of ``kpi.kpi_customer_health_daily`` (the day) and ``_monthly`` (the month to
date, and the months before it for the trend); their definitions are in
``dbt_project/models/marts/kpi/_kpi__models.yml``.
"""

from __future__ import annotations

from datetime import date

import psycopg

HEADLINE_SQL = """
select
    daily.count_customers, monthly.count_customers,
    daily.revenue, monthly.revenue,
    daily.count_orders, monthly.count_orders,
    daily.average_order_value, monthly.average_order_value,
    daily.satisfaction_rate, monthly.satisfaction_rate,
    daily.rated_satisfaction_rate, monthly.rated_satisfaction_rate,
    daily.retention_rate, monthly.retention_rate,
    daily.complaint_rate, monthly.complaint_rate,
    daily.repurchase_rate, monthly.repurchase_rate,
    daily.pareto_revenue_share, monthly.pareto_revenue_share,
    daily.count_lifecycle_active, daily.count_lifecycle_at_risk, daily.count_lifecycle_lapsed
from kpi.kpi_customer_health_daily as daily
left join kpi.kpi_customer_health_monthly as monthly
    on monthly.period_start = date_trunc('month', daily.period_start)::date
    and monthly.dimension = 'overall'
where daily.period_start = %s and daily.dimension = 'overall'
"""


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _money(value: object, currency: str) -> str:
    return "n/a" if value is None else f"{float(value):,.2f} {currency}".rstrip()


def _count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def format_headline_kpis(conn: psycopg.Connection, run_date: date, currency: str = "") -> str:
    """A few lines: the day's headline KPIs with the month to date beside them."""
    row = conn.execute(HEADLINE_SQL, (run_date,)).fetchone()
    if row is None:
        return f"No KPIs for {run_date}: build the warehouse for that day first (crm_nightly build_warehouse)."
    (customers, customers_m, revenue, revenue_m, orders, orders_m, aov, aov_m, satisfaction, satisfaction_m,
     rated, rated_m, retention, retention_m, complaints, complaints_m, repurchase, repurchase_m, pareto, pareto_m,
     active, at_risk, lapsed) = row
    lines = [
        f"Headline KPIs for {run_date} (store-local day; month to date in brackets; definitions: kpi marts docs)",
        f"  active customers      {_count(customers):>12}   ({_count(customers_m)})",
        f"  revenue               {_money(revenue, currency):>12}   ({_money(revenue_m, currency)})",
        f"  completed orders      {_count(orders):>12}   ({_count(orders_m)})",
        f"  average order value   {_money(aov, currency):>12}   ({_money(aov_m, currency)})",
        f"  satisfaction rate     {_percent(satisfaction):>12}   ({_percent(satisfaction_m)}); "
        f"among rating customers {_percent(rated)} ({_percent(rated_m)})",
        f"  retention rate        {_percent(retention):>12}   ({_percent(retention_m)}) vs the previous day (month)",
        f"  complaint rate        {_percent(complaints):>12}   ({_percent(complaints_m)})",
        f"  repurchase rate       {_percent(repurchase):>12}   ({_percent(repurchase_m)})",
        f"  Pareto revenue share  {_percent(pareto):>12}   ({_percent(pareto_m)})",
        f"  customer base         active {_count(active)}, at risk {_count(at_risk)}, lapsed {_count(lapsed)}",
    ]
    return "\n".join(lines)


TREND_SQL = """
select period_start, count_customers, count_orders, revenue, average_order_value, satisfaction_rate,
    complaint_rate, repurchase_rate
from kpi.kpi_customer_health_monthly
where dimension = 'overall' and period_start <= %s
order by period_start desc
limit %s
"""


def format_monthly_trend(conn: psycopg.Connection, run_date: date, months: int = 12, currency: str = "") -> str:
    """The last ``months`` calendar months up to the run date's (to date), one line each: the context a single
    day lacks (a quiet day, a season, an export that thins out)."""
    rows = conn.execute(TREND_SQL, (run_date, months)).fetchall()
    if not rows:
        return f"No monthly KPIs up to {run_date}."
    header = (
        f"{'month':<8} {'customers':>10} {'orders':>8} {'revenue':>16} {'AOV':>10} "
        f"{'satisfied':>10} {'complaints':>10} {'repurchase':>10}"
    )
    lines = [f"Monthly trend ({currency or 'store currency'}; the last month runs to {run_date})", header]
    for month, customers, orders, revenue, aov, satisfaction, complaints, repurchase in reversed(rows):
        lines.append(
            f"{month:%Y-%m}  {_count(customers):>10} {_count(orders):>8} "
            f"{_money(revenue, ''):>16} {_money(aov, ''):>10} {_percent(satisfaction):>10} "
            f"{_percent(complaints):>10} {_percent(repurchase):>10}"
        )
    return "\n".join(lines)
