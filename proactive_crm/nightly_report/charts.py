"""Vega-Lite charts (through Altair) of the nightly report; each takes the rows of ``data`` and returns a spec dict.

Charts stretch to their container's width (phones and laptops alike) and render as SVG, so a browser test can find
their data marks.
"""

from __future__ import annotations

from typing import Any

import altair as alt

from proactive_crm.nightly_report.data import Kpi

Spec = dict[str, Any]
HEIGHT = 180
STATUS_COLOURS = alt.Scale(domain=["pass", "warning", "critical"], range=["#2e7d32", "#f9a825", "#c62828"])


def _spec(chart: alt.TopLevelMixin) -> Spec:
    return chart.properties(width="container").configure_view(stroke=None).to_dict()


def _data(rows: list[dict[str, Any]]) -> alt.Data:
    return alt.Data(values=rows)


def kpi_trend(rows: list[dict[str, Any]], kpi: Kpi, currency: str) -> Spec:
    axis_format = {"rate": ".0%", "money": ",.0f", "count": ",d"}[kpi.kind]
    title = f"{kpi.label} ({currency})" if kpi.kind == "money" and currency else kpi.label
    chart = (
        alt.Chart(_data(rows))
        .mark_line(point=True)
        .encode(
            x=alt.X("period_start:T", timeUnit="yearmonth", title=None, axis=alt.Axis(format="%b %y", labelAngle=0)),
            y=alt.Y(f"{kpi.column}:Q", title=title, axis=alt.Axis(format=axis_format)),
            tooltip=[
                alt.Tooltip("period_start:T", timeUnit="yearmonth", title="month"),
                alt.Tooltip(f"{kpi.column}:Q", format=axis_format.replace(",d", ","), title=kpi.label),
            ],
        )
        .properties(height=HEIGHT)
    )
    return _spec(chart)


def cohort_heatmap(rows: list[dict[str, Any]]) -> Spec:
    base = alt.Chart(_data(rows)).encode(
        x=alt.X("months_since_first_order:O", title="months since the first order"),
        y=alt.Y("cohort_month:O", timeUnit="yearmonth", title="cohort (month of first order)"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("retention_share:Q", title="buying again", scale=alt.Scale(scheme="blues", domain=[0, 1])),
        tooltip=[
            alt.Tooltip("cohort_month:T", timeUnit="yearmonth", title="cohort"),
            alt.Tooltip("months_since_first_order:O", title="months later"),
            alt.Tooltip("count_cohort_customers:Q", title="cohort customers", format=","),
            alt.Tooltip("count_buying_customers:Q", title="buying", format=","),
            alt.Tooltip("retention_share:Q", title="share", format=".1%"),
        ],
    )
    return _spec((cells).properties(height=max(HEIGHT, 22 * len({r["cohort_month"] for r in rows}))))


def segment_sizes(rows: list[dict[str, Any]]) -> Spec:
    chart = (
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(
            y=alt.Y("to_segment:N", sort="-x", title=None),
            x=alt.X("sum(count_customers):Q", title="customers today"),
            tooltip=[alt.Tooltip("to_segment:N", title="segment"), alt.Tooltip("sum(count_customers):Q", format=",")],
        )
        .properties(height=HEIGHT + 60)
    )
    return _spec(chart)


def segment_moves(rows: list[dict[str, Any]]) -> Spec:
    base = alt.Chart(_data(rows)).encode(
        x=alt.X("to_segment:N", title="segment today", axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("from_segment:N", title="segment at the start of the month"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("count_customers:Q", title="customers", scale=alt.Scale(scheme="purples", type="log")),
        tooltip=["from_segment:N", "to_segment:N", alt.Tooltip("count_customers:Q", format=",")],
    )
    labels = base.mark_text(fontSize=10).encode(text=alt.Text("count_customers:Q", format=","))
    return _spec((cells + labels).properties(height=HEIGHT + 120))


def pareto(rows: list[dict[str, Any]]) -> Spec:
    line = (
        alt.Chart(_data(rows))
        .mark_line(point=alt.OverlayMarkDef(size=12))
        .encode(
            x=alt.X("customer_share:Q", title="share of buying customers (best first)", axis=alt.Axis(format="%")),
            y=alt.Y("revenue_share:Q", title="share of lifetime revenue", axis=alt.Axis(format="%")),
            tooltip=[
                alt.Tooltip("customer_share:Q", format=".1%", title="customers"),
                alt.Tooltip("revenue_share:Q", format=".1%", title="revenue"),
            ],
        )
    )
    rule = alt.Chart(alt.Data(values=[{"y": 0.8}])).mark_rule(strokeDash=[4, 4], color="grey").encode(y="y:Q")
    return _spec((line + rule).properties(height=HEIGHT + 40))


def quality_grid(rows: list[dict[str, Any]]) -> Spec:
    chart = (
        alt.Chart(_data(rows))
        .mark_rect(stroke="white")
        .encode(
            x=alt.X(
                "run_date:O", timeUnit="yearmonthdate", title="night", axis=alt.Axis(format="%d %b", labelAngle=-60)
            ),
            y=alt.Y("gate:N", title=None, sort=["landing", "warehouse", "actions"]),
            color=alt.Color("status:N", scale=STATUS_COLOURS, title="status"),
            tooltip=[
                alt.Tooltip("run_date:T", title="night"),
                "gate:N",
                "status:N",
                alt.Tooltip("count_evaluated:Q", title="evaluated"),
                alt.Tooltip("count_critical:Q", title="critical failed"),
                alt.Tooltip("count_warning:Q", title="warnings"),
            ],
        )
        .properties(height=110)
    )
    return _spec(chart)


def model_metrics(rows: list[dict[str, Any]], model: str, metric_label: str) -> Spec:
    chart = (
        alt.Chart(_data(rows))
        .mark_line(point=True)
        .encode(
            x=alt.X("version:O", title="version", axis=alt.Axis(labelAngle=-30)),
            y=alt.Y("value:Q", title=metric_label, scale=alt.Scale(zero=False)),
            color=alt.Color("method:N", title="method"),
            strokeDash=alt.condition(alt.datum.method == "xgboost", alt.value([1, 0]), alt.value([4, 3])),
            tooltip=["version:N", "method:N", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(height=HEIGHT)
    )
    return _spec(chart)


def actions_by_type(rows: list[dict[str, Any]]) -> Spec:
    chart = (
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(
            y=alt.Y("action_type:N", title=None),
            x=alt.X("sum(count_actions):Q", title="candidate actions tonight"),
            color=alt.Color("outcome:N", title="outcome"),
            tooltip=["action_type:N", "channel:N", "outcome:N", alt.Tooltip("sum(count_actions):Q", format=",")],
        )
        .properties(height=HEIGHT + 40)
    )
    return _spec(chart)


def actions_by_channel(rows: list[dict[str, Any]]) -> Spec:
    chart = (
        alt.Chart(_data([r for r in rows if r["outcome"] == "selected"]))
        .mark_bar()
        .encode(
            y=alt.Y("channel:N", title=None),
            x=alt.X("sum(count_actions):Q", title="published actions tonight"),
            color=alt.Color("action_type:N", title="action type"),
            tooltip=["channel:N", "action_type:N", alt.Tooltip("sum(count_actions):Q", format=",")],
        )
        .properties(height=HEIGHT - 40)
    )
    return _spec(chart)


def suppression(rows: list[dict[str, Any]]) -> Spec:
    chart = (
        alt.Chart(_data(rows))
        .mark_bar(color="#8d6e63")
        .encode(
            y=alt.Y("suppression_reason:N", sort="-x", title=None),
            x=alt.X("count_actions:Q", title="suppressed candidates tonight"),
            tooltip=["suppression_reason:N", alt.Tooltip("count_actions:Q", format=",")],
        )
        .properties(height=HEIGHT)
    )
    return _spec(chart)


def uplift(rows: list[dict[str, Any]]) -> Spec:
    base = alt.Chart(_data(rows)).encode(
        x=alt.X("decision_month:T", timeUnit="yearmonth", title="month of the decision", axis=alt.Axis(format="%b %y"))
    )
    bars = base.mark_rule(strokeWidth=2).encode(
        y=alt.Y("ci_low:Q", title="uplift in retention (treated - control)", axis=alt.Axis(format="%")),
        y2="ci_high:Q",
    )
    points = base.mark_point(filled=True, size=60).encode(
        y="uplift:Q",
        tooltip=[
            alt.Tooltip("decision_month:T", timeUnit="yearmonth", title="month"),
            alt.Tooltip("uplift:Q", format=".1%"),
            alt.Tooltip("ci_low:Q", format=".1%", title="95% low"),
            alt.Tooltip("ci_high:Q", format=".1%", title="95% high"),
            alt.Tooltip("count_treated:Q", title="treated"),
            alt.Tooltip("count_control_group:Q", title="control"),
        ],
    )
    zero = alt.Chart(alt.Data(values=[{"y": 0}])).mark_rule(color="grey").encode(y="y:Q")
    return _spec((bars + points + zero).properties(height=HEIGHT))


def landing(rows: list[dict[str, Any]]) -> Spec:
    long = [
        {"source": r["source"], "rows": r[column], "kind": kind}
        for r in rows
        for column, kind in (("rows_loaded", "loaded"), ("rows_rejected", "rejected"))
    ]
    chart = (
        alt.Chart(_data(long))
        .mark_bar()
        .encode(
            y=alt.Y("source:N", title=None),
            x=alt.X("rows:Q", title="rows (current loads)", stack="zero"),
            color=alt.Color(
                "kind:N", scale=alt.Scale(domain=["loaded", "rejected"], range=["#546e7a", "#c62828"]), title=None
            ),
            tooltip=["source:N", "kind:N", alt.Tooltip("rows:Q", format=",")],
        )
        .properties(height=HEIGHT)
    )
    return _spec(chart)
