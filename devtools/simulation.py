"""A closed loop on generated data: night after night decide -> gate -> publish -> simulated responses -> ingest.

Used by ``tests/integration/test_actions_loop.py`` (a few nights) and ``benchmarks/actions_loop.py`` (30 nights).
The generator has written the retailer's own behaviour up to ``measure_on``; the loop adds the responses of the
published actions (and the orders and reviews they lead to) on top, then builds the warehouse once more on
``measure_on`` so that every looped night's measurement window has passed. Environment: ``CRM_LANDING_DIR``,
``CRM_WAREHOUSE_URL``, ``CRM_STATE_DIR``, ``CRM_CONFIG`` (whose ``contact_policy`` is used) as for the nightly run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import psycopg

from proactive_crm.config import load_settings
from proactive_crm.landing.contract import SOURCES
from proactive_crm.warehouse import warehouse_url

UPLIFT_QUERY = """
select action_type, channel, count_treated, count_converted, conversion_rate, comparison_group,
    count_customers_treated, count_customers_untreated, retention_rate_treated, retention_rate_untreated,
    uplift_retention_rate, uplift_retention_ci_low, uplift_retention_ci_high, uplift_orders_per_action,
    uplift_orders_ci_low, uplift_orders_ci_high, count_untreated_responses
from actions.action_effectiveness
order by action_type = 'all' desc, action_type, channel = 'all' desc, channel
"""


@dataclass
class LoopResult:
    nights: list[date]
    seconds: dict[str, float] = field(default_factory=dict)
    published: dict[date, dict[str, int]] = field(default_factory=dict)
    conversions: dict[date, int] = field(default_factory=dict)


def _load(run_date: date, with_landing_gate: bool) -> None:
    if with_landing_gate:
        from proactive_crm.tasks.nightly import ingest

        for source in SOURCES:
            ingest(source, run_date)
        return
    from proactive_crm.landing.ingest import ingest_source

    settings = load_settings()
    with psycopg.connect(warehouse_url(settings)) as conn:
        for source in SOURCES:
            ingest_source(conn, source, run_date, settings)


def run_loop(
    first: date,
    last: date,
    measure_on: date,
    outbox: Path,
    seed: int = 0,
    with_landing_gate: bool = False,
    say: Callable[[str], None] = print,
) -> LoopResult:
    from devtools.synth.responses import simulate
    from proactive_crm.tasks import nightly as tasks
    from proactive_crm.tasks.nightly import WAREHOUSE_SELECTOR, build_layer, build_warehouse

    settings = load_settings()
    result = LoopResult(nights=[first + timedelta(days=i) for i in range((last - first).days + 1)])
    timings: dict[str, float] = {}

    def timed(name: str, step: Callable[[], object]) -> object:
        started = time.perf_counter()
        value = step()
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        return value

    for number, night in enumerate(result.nights):
        timed("ingest", lambda night=night: _load(night, with_landing_gate))
        if number == 0:
            timed("dbt build", lambda night=night: build_layer(f"staging {WAREHOUSE_SELECTOR}", night))
        else:
            timed("dbt build", lambda night=night: build_warehouse(night))
        decided = timed("decide", lambda night=night: tasks.decide_actions(night))
        timed("actions gate", lambda night=night: tasks.actions_gate(night))
        published = timed("publish", lambda night=night: tasks.publish_actions(night))
        written = timed("responses", lambda night=night: simulate(outbox, settings.landing_dir, night, seed))
        result.published[night] = published["published"]  # type: ignore[index]
        result.conversions[night] = written.conversions  # type: ignore[attr-defined]
        say(f"{night}: {decided['candidates']:,} candidates, published {published['published']}, "  # type: ignore[index]
            f"{written.conversions} conversions")  # type: ignore[attr-defined]
    timed("ingest", lambda: _load(measure_on, with_landing_gate))
    timed("dbt build", lambda: build_warehouse(measure_on))
    result.seconds = timings
    return result


def uplift_table(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(UPLIFT_QUERY).fetchall()


def placebo_line(conn: psycopg.Connection) -> str:
    """A/A check: the global control group against the holdouts, both never contacted by the action (first matured
    action per customer and type, as the mart compares); the difference should be noise (its interval contains 0).
    """
    rows = {
        group: (int(n), float(p))
        for group, n, p in conn.execute(
            "select comparison_group, count(*), avg(case when has_ordered_window then 1.0 else 0.0 end) from ("
            "select *, row_number() over (partition by customer_id, action_type order by run_date) as action_number "
            "from actions.action_outcomes where is_matured and not is_treated) as numbered "
            "where action_number = 1 group by 1"
        ).fetchall()
    }
    if len(rows) < 2:
        return "control group vs holdout: not enough untreated outcomes yet"
    (n_c, p_c), (n_h, p_h) = rows["control_group"], rows["holdout"]
    margin = 1.96 * (p_c * (1 - p_c) / n_c + p_h * (1 - p_h) / n_h) ** 0.5
    diff = p_c - p_h
    return (f"A/A, control group ({n_c:,}) vs holdout ({n_h:,}), both never contacted: retention "
            f"{100 * p_c:.1f}% vs {100 * p_h:.1f}%, difference {100 * diff:+.1f} pp, 95% CI "
            f"[{100 * (diff - margin):+.1f}, {100 * (diff + margin):+.1f}]")


def format_uplift_table(rows: list[tuple]) -> str:
    header = (f"{'action type':<23}{'channel':<12}{'sent':>6}{'conv.':>6}{'conv%':>6}  {'vs':<8}{'cust.T':>7}"
              f"{'cust.U':>7}{'ret.T':>6}{'ret.U':>6}{'uplift':>7}  {'95% CI':<15}{'orders/100':>10}  {'95% CI':<15}"
              f"{'U resp':>6}")
    lines = [header, "-" * len(header)]

    def pct(value: object) -> str:
        return f"{100 * float(value):.1f}" if value is not None else "-"

    def interval(low: object, high: object) -> str:
        return f"[{pct(low)}, {pct(high)}]" if low is not None else "-"

    for (action_type, channel, treated, converted, conversion, versus, customers_t, customers_u, ret_t, ret_u,
         uplift, low, high, orders, orders_low, orders_high, untreated_responses) in rows:
        versus = "control" if versus == "control_group" else versus
        lines.append(
            f"{action_type:<23}{channel:<12}{treated:>6,}{converted:>6,}{pct(conversion):>6}  {versus:<8}"
            f"{customers_t:>7,}{customers_u:>7,}{pct(ret_t):>6}{pct(ret_u):>6}{pct(uplift):>7}  "
            f"{interval(low, high):<15}{pct(orders):>10}  {interval(orders_low, orders_high):<15}"
            f"{untreated_responses:>6}"
        )
    lines.append(
        "vs: an action type against its own holdout, the programme ('all') against the global control group; cust.: "
        "customers compared (first matured action of the type); ret.: retention (a completed order within the "
        "window) of treated (T) and untreated (U), uplift in percentage points; orders/100: incremental completed "
        "orders per 100 actions; U resp: responses of untreated customers"
    )
    return "\n".join(lines)
