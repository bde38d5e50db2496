"""Headline KPIs of a business day, for the demo and the run log, read from the KPI marts.

The figures are the overall rows of ``kpi.kpi_customer_health_daily`` (the day) and ``_monthly`` (the month to
date); their definitions are in ``dbt_project/models/marts/kpi/_kpi__models.yml``.
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
        f"Headline KPIs for {run_date} (UTC day; month to date in brackets; definitions: kpi marts docs)",
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
