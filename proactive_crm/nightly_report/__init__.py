"""The nightly HTML report: what analysts and CRM managers look at each morning.

``write_report(run_date)`` writes ``<CRM_STATE_DIR>/reports/crm_nightly_<run_date>.html``, one self-contained file
(styles, the Vega-Lite runtime and the data inlined) that opens offline on a laptop or a phone. The DAG's last task
and ``make demo`` call it after publishing.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg

from proactive_crm.config import Settings, load_settings
from proactive_crm.nightly_report import charts, data
from proactive_crm.nightly_report.render import Section, Table, render_html

__all__ = ["KPI_COLUMNS", "report_path", "write_report", "build_html", "format_kpi"]

KPI_COLUMNS = tuple(k.column for k in data.KPIS)


def report_path(settings: Settings, run_date: date) -> Path:
    return settings.state_dir / "reports" / f"crm_nightly_{run_date}.html"


def docs_dir(settings: Settings) -> Path:
    return settings.state_dir / "dbt_docs"


def format_kpi(value: Any, kind: str, currency: str = "") -> str:
    """How a KPI value is shown in the report (the browser test parses these back)."""
    if value is None:
        return "n/a"
    if kind == "rate":
        return f"{float(value):.1%}"
    if kind == "money":
        return f"{float(value):,.2f} {currency}".rstrip()
    return f"{int(value):,}"


def _tiles(trend: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    if not trend:
        return []
    current, previous = trend[-1], (trend[-2] if len(trend) > 1 else None)
    tiles = []
    for kpi in data.KPIS:
        before = (
            f"{previous['period_start'][:7]}: {format_kpi(previous[kpi.column], kpi.kind, currency)}"
            if previous
            else "no previous month"
        )
        tiles.append(
            {
                "column": kpi.column,
                "label": kpi.label,
                "value": format_kpi(current[kpi.column], kpi.kind, currency),
                "previous": before,
                "definition": kpi.definition,
                "chart_id": f"chart-kpi-{kpi.column}",
                "spec": charts.kpi_trend(trend, kpi, currency),
            }
        )
    return tiles


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _segments(conn: psycopg.Connection) -> Section:
    moves = data.segment_transitions(conn)
    section = Section("segments", "RFM segments")
    if not moves:
        section.empty = "No customer standings yet (kpi.kpi_segment_transitions is empty or not built)."
        return section
    moved = sum(r["count_customers"] for r in moves if r["from_segment"] != r["to_segment"])
    total = sum(r["count_customers"] for r in moves)
    section.intro = (
        f"Segment sizes today (standing as of {moves[0]['as_of_date']}) and how customers moved since "
        f"{moves[0]['from_as_of_date']}: {moved:,} of {total:,} customers changed segment."
    )
    section.charts = [
        ("Customers per segment", charts.segment_sizes(moves)),
        ("Moves between segments", charts.segment_moves(moves)),
    ]
    return section


def _models(conn: psycopg.Connection, run_date: date, models_dir: Path) -> Section:
    from ml.evaluate import METRIC_LABELS

    serving = data.serving_models(conn, run_date)
    versions = data.model_versions(models_dir)
    section = Section(
        "models",
        "Serving models",
        intro="What scored tonight, and the held-out main metric of every trained version next to its baselines "
        "(the same evaluation rows; a model is promoted only when it beats every baseline).",
    )
    if serving:
        section.tables.append(
            Table(
                ["model", "serving", "main metric", "model", "best baseline", "baseline", "customers scored"],
                [
                    [
                        r["model"],
                        r["model_version"] if r["method"] == "xgboost" else f"rules ({r['fallback_reason']})",
                        METRIC_LABELS.get(r["main_metric"], r["main_metric"] or "-"),
                        "-" if r["metric_value"] is None else f"{r['metric_value']:.3f}",
                        r["best_baseline"] or "-",
                        "-" if r["baseline_value"] is None else f"{r['baseline_value']:.3f}",
                        f"{r['rows_scored']:,}",
                    ]
                    for r in serving
                ],
            )
        )
    for model in sorted({r["model"] for r in versions}):
        rows = [r for r in versions if r["model"] == model]
        label = METRIC_LABELS.get(rows[0]["metric"], rows[0]["metric"])
        section.charts.append((f"{model}: {label} per version", charts.model_metrics(rows, model, label)))
    if not serving and not versions:
        section.empty = "No scoring run and no trained model yet (train with the crm_train DAG or python -m ml train)."
    elif not versions:
        section.empty = f"No trained model version in {models_dir}: the cold-start rules score."
    return section


def _actions(conn: psycopg.Connection, run_date: date) -> Section:
    by_type = data.actions_by_type(conn, run_date)
    reasons = data.suppression_reasons(conn, run_date)
    history = data.uplift_history(conn)
    current = data.effectiveness(conn)
    section = Section(
        "actions",
        "Proactive actions",
        intro="Tonight's candidate actions by type, outcome and channel, why candidates were suppressed, and whether "
        "the actions work: the programme's uplift on retention (share of customers ordering within the measurement "
        "window) against the global control group per decision month, with 95% intervals.",
    )
    if by_type:
        section.charts.append(("Candidates by action type and outcome", charts.actions_by_type(by_type)))
        if any(r["outcome"] == "selected" for r in by_type):
            section.charts.append(("Published actions by channel", charts.actions_by_channel(by_type)))
    if reasons:
        section.charts.append(("Suppression reasons", charts.suppression(reasons)))
    if history:
        section.charts.append(("Uplift against the control group (95% interval)", charts.uplift(history)))
    if current:
        section.tables.append(
            Table(
                ["action type", "compared with", "treated", "untreated", "retention treated", "untreated",
                 "uplift", "95% interval"],
                [
                    [
                        r["action_type"],
                        r["comparison_group"] or "-",
                        f"{r['count_customers_treated'] or 0:,}",
                        f"{r['count_customers_untreated'] or 0:,}",
                        _pct(r["retention_rate_treated"]),
                        _pct(r["retention_rate_untreated"]),
                        _pct(r["uplift_retention_rate"]),
                        f"{_pct(r['uplift_retention_ci_low'])} to {_pct(r['uplift_retention_ci_high'])}",
                    ]
                    for r in current
                ],
            )
        )
    if not by_type:
        section.empty = f"No actions decided for {run_date}."
    elif not history:
        section.empty = "No matured measurement window yet: uplift appears once actions have had their window."
    return section


def _landing(conn: psycopg.Connection) -> Section:
    loads, reasons = data.landing_accounting(conn)
    section = Section(
        "landing",
        "Rejected at landing",
        intro="Rows loaded, rejected and erased per source over the current loads; every rejected row is kept in "
        "raw.<source>_rejected (customers: restricted.customers_rejected) with its file, line and reason; a failed "
        "file is kept out whole and named in raw.load_audit.",
    )
    if not loads:
        section.empty = "Nothing loaded yet (no raw.load_audit)."
        return section
    section.charts.append(("Rows per source", charts.landing(loads)))
    section.tables.append(
        Table(
            ["source", "files", "read", "loaded", "rejected", "erased", "failed files"],
            [
                [r["source"], f"{r['files_loaded']:,}", f"{r['rows_read']:,}", f"{r['rows_loaded']:,}",
                 f"{r['rows_rejected']:,}", f"{r['rows_erased']:,}", f"{r['files_failed']:,}"]
                for r in loads
            ],
        )
    )
    if reasons:
        section.tables.append(
            Table(["source", "reason", "rows"], [[r["source"], r["reason"], f"{r['count_rows']:,}"] for r in reasons])
        )
    else:
        section.intro += " No row was rejected."
    return section


def vega_runtime(settings: Settings) -> tuple[str, str]:
    """The vega-embed bundle (Vega, Vega-Lite, vega-embed in one script) and its versions.

    vl-convert bundles it offline but takes about 10 s on a busy 2-core machine, so it is kept per vl-convert
    version under CRM_STATE_DIR/cache.
    """
    import vl_convert

    versions = f"{vl_convert.get_vega_version()}, vega-embed {vl_convert.get_vega_embed_version()}"
    cache = settings.state_dir / "cache" / f"vega-embed-vl-convert-{vl_convert.__version__}.js"
    if cache.exists():
        return cache.read_text(encoding="utf-8"), versions
    bundle = vl_convert.javascript_bundle()
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(bundle, encoding="utf-8")
    os.replace(tmp, cache)
    return bundle, versions


def build_html(conn: psycopg.Connection, run_date: date, settings: Settings, models_dir: Path, docs_link: str) -> str:
    trend = data.kpi_trend(conn, run_date)
    cohorts = data.cohort_retention(conn)
    curve = data.pareto_curve(conn)
    gates = data.quality_history(conn, run_date)
    sections = [
        Section("kpis", "Headline KPIs"),
        Section(
            "cohorts",
            "Cohort retention",
            intro="Customers by the month of their first completed order; each cell is the share of the cohort "
            "with a completed order in a later month.",
            charts=[("", charts.cohort_heatmap(cohorts))] if cohorts else [],
            empty="" if cohorts else "No completed orders yet.",
        ),
        _segments(conn),
        Section(
            "pareto",
            "Pareto curve",
            intro="Share of lifetime revenue made by the best customers; the dashed line marks 80% of revenue.",
            charts=[("", charts.pareto(curve))] if curve else [],
            empty="" if curve else "No customer with revenue yet.",
        ),
        Section(
            "quality",
            "Quality gates, last 30 nights",
            intro="Per night and gate: pass, warning (a warning check failed, the run went on) or critical (the gate "
            "stopped the run). Details per expectation in quality.validation_results and the Data Docs.",
            charts=[("", charts.quality_grid(gates))] if gates else [],
            empty="" if gates else "No quality gate results recorded yet.",
        ),
        _models(conn, run_date, models_dir),
        _actions(conn, run_date),
        _landing(conn),
    ]
    month_start = run_date.replace(day=1)
    context = {
        "run_date": run_date.isoformat(),
        "month_start": month_start.isoformat(),
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "docs_link": docs_link,
        "tiles": _tiles(trend, settings.currency),
        "kpi_intro": f"Month to date ({month_start:%B %Y}, up to {run_date}) with the previous month and the last "
        f"{data.TREND_MONTHS} months; overall rows of kpi.kpi_customer_health_monthly.",
        "kpi_empty": f"No KPIs up to {run_date}: build the warehouse for that day first.",
        "sections": sections,
    }
    return render_html(context, *vega_runtime(settings))


def write_report(run_date: date, settings: Settings | None = None, url: str | None = None) -> Path:
    """Write the night's report and return its path (replacing an earlier report of the same day)."""
    from ml.config import ml_config
    from proactive_crm.warehouse import connect, warehouse_url

    settings = settings or load_settings()
    path = report_path(settings, run_date)
    docs = docs_dir(settings) / "index.html"
    link = os.path.relpath(docs, path.parent) if docs.exists() else ""
    with connect(url or warehouse_url(settings), autocommit=True) as conn:
        html = build_html(conn, run_date, settings, ml_config(settings).models_dir, link)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path
