"""What each task of the ``crm_nightly`` DAG does, callable and testable without Airflow.

In the order of the night: ``ensure_roles`` -> ``ingest`` (gate 1, then the loader) -> ``build_layer`` /
``build_warehouse`` (dbt) -> ``warehouse_gate`` (gate 2) -> ``score_nightly`` -> ``decide_actions`` -> ``actions_gate``
(gate 3) -> ``publish_actions`` -> ``apply_retention`` -> ``dbt_docs`` -> ``nightly_report``. ``run_task`` is what the
DAG's tasks call: the business day from the Airflow run, the step, and which errors fail without a retry.
Each replaces its own output for the run date, so a re-run of a night gives the same result.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import sql

from proactive_crm.actions.policy import load_policy, outbox_dir
from proactive_crm.actions.store import ensure_actions_schema
from proactive_crm.actions.triggers import night_vars
from proactive_crm.config import ConfigError, Settings, load_settings
from proactive_crm.landing.contract import SOURCES
from proactive_crm.landing.ingest import SourceResult, ingest_source
from proactive_crm.landing.raw_tables import ensure_raw_schema
from proactive_crm.store_calendar import local_date
from proactive_crm.tasks.retries import fail_without_retry
from proactive_crm.warehouse import connect, warehouse_url

log = logging.getLogger(__name__)

# Everything after staging: intermediate models, the core / kpi / ml marts and the snapshots (tagged by folder in
# dbt_project.yml). One dbt invocation, so dbt orders the nodes and runs each model's tests right after it.
WAREHOUSE_SELECTOR = "tag:warehouse"
# The staging layer (the DAG's build_staging).
STAGING_SELECTOR = "staging"
# The first landing partition stg_web__events' data tests check (models/staging/web/_web__models.yml); unset or
# empty: every row. An environment variable, not a dbt var: a changed var makes dbt re-parse the whole project for
# both builds of the night, a changed env_var only the file that reads it.
STAGING_WEB_WINDOW = "CRM_STAGING_WEB_EVENTS_FROM"


def business_date(data_interval_start: datetime, settings: Settings) -> date:
    """The day a run processes: the store-local date on which its data interval starts.

    The 02:00 run on the 2nd covers the interval that starts 02:00 on the 1st, so it loads partitions up to the 1st.
    """
    return local_date(data_interval_start, settings.store_time_zone)


def ensure_roles() -> dict[str, list[str]]:
    """The night's first task (and ``make demo``, ``python -m proactive_crm roles``): roles and grants, idempotent."""
    from proactive_crm.privacy.roles import ensure_roles as ensure_roles_and_grants

    with connect(warehouse_url(load_settings()), autocommit=True) as conn:
        return ensure_roles_and_grants(conn)


def ingest(source_name: str, run_date: date, run_id: str | None = None) -> dict[str, object]:
    """Gate 1, then the loader: every file commits or fails on its own; the task fails when a file failed tonight."""
    from expectations.landing_gate import FilesRefused, run_landing_gate

    settings = load_settings()
    with connect(warehouse_url(settings)) as conn:
        # Gate 1 first: a critical finding refuses the files it points at; the source's other files still load.
        try:
            gate, refused = run_landing_gate(conn, source_name, run_date, settings, run_id), {}
        except FilesRefused as exc:
            gate, refused = exc.outcome, exc.refused
            log.error("%s", exc)
        result: SourceResult = ingest_source(conn, source_name, run_date, settings, run_id, refused)
    return {
        "source": result.source,
        "files_loaded": result.count("loaded"),
        "files_unchanged": result.count("unchanged"),
        "files_still_failing": result.count("still_failing"),  # failed on an earlier night, unchanged since
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        "rows_erased": result.rows_erased,
        "quality_warnings": len(gate.failed_warning) if gate else 0,
    }


def warehouse_gate(run_date: date, run_id: str | None = None) -> dict[str, object]:
    """Gate 2 on the marts; raises ``QualityGateError`` on a critical failure, so nothing downstream runs."""
    from expectations.warehouse_gate import run_warehouse_gate

    settings = load_settings()
    url = warehouse_url(settings)  # also exports CRM_WAREHOUSE_URL, which the GE datasource reads
    with connect(url) as conn:
        outcome = run_warehouse_gate(conn, run_date, settings, run_id)
    return {
        "expectations": outcome.evaluated,
        "failed_warning": len(outcome.failed_warning),
        "data_docs": str(outcome.docs),
    }


def _build_vars(settings: Settings, run_date: date) -> dict[str, Any] | None:
    """The night's one set of dbt vars, so the builds, the trigger run and the docs share one parse of the project.

    They come from the contact policy, which only the action triggers read: an unreadable policy must not keep the
    warehouse and the KPI marts from being built, so the builds then go without them (dbt parses once more) and
    ``decide_actions`` fails on the policy, naming the file, as it always did."""
    try:
        return night_vars(settings, run_date)
    except ConfigError as exc:
        log.warning("contact policy unreadable, building without the action trigger vars: %s", exc)
        return None


def build_layer(selector: str, run_date: date, full_refresh: bool = False) -> dict[str, object]:
    from proactive_crm.dbt_runner import build

    settings = load_settings()
    url = warehouse_url(settings)
    with connect(url) as conn:
        # Every raw table exists, even for a source that has never delivered (no web tracking, no responses yet).
        ensure_raw_schema(conn, list(SOURCES.values()))
        ensure_actions_schema(conn)  # the actions effectiveness mart reads the decisions from the first night on
        staging = STAGING_SELECTOR in selector.split()
        through, window = _staging_window(conn) if staging else (0, "")
        with _environment(**({STAGING_WEB_WINDOW: window} if staging else {})):
            results = build(selector, url, settings, run_date, conn, full_refresh, _build_vars(settings, run_date))
        if staging:
            _mark_staging_tested(conn, through)
        if WAREHOUSE_SELECTOR in selector.split():
            _record_zone(conn, settings)
    return {
        "selector": selector,
        "nodes": len(results),
        "seconds": round(sum(r.execution_seconds for r in results), 2),
    }


def _staging_window(conn: psycopg.Connection) -> tuple[int, str]:
    """The newest load id before a staging build, and the first partition of the web event loads not yet tested.

    Every web event a load not yet tested delivered lies in or after that partition (late and re-delivered files
    included: their partition is the file's), and so does an event that a re-delivery's deleted rows let through
    as the first delivery. Empty, so every row is tested, until a staging build has passed; 'infinity' when no
    web events arrived since."""
    row = conn.execute(
        "select coalesce(max(load_id), 0), "
        "bool_or(staging_tested_at is not null), "
        "min(partition_date) filter (where source = 'web_events' and staging_tested_at is null) "
        "from raw.load_audit"
    ).fetchone()
    conn.commit()
    through, any_tested, first = row if row else (0, None, None)
    if not any_tested:
        return int(through), ""
    return int(through), first.isoformat() if first else "infinity"


def _mark_staging_tested(conn: psycopg.Connection, through: int) -> None:
    """After the staging tests passed: the loads up to ``through`` leave the window. A failed build raises before
    this, so its loads are tested again the next time."""
    conn.execute(
        "update raw.load_audit set staging_tested_at = now() where staging_tested_at is null and load_id <= %s",
        (through,),
    )
    conn.commit()


def _forget_staging_tested() -> None:
    with connect(warehouse_url(load_settings())) as conn:
        conn.execute("update raw.load_audit set staging_tested_at = null where staging_tested_at is not null")


def build_warehouse(run_date: date, full_refresh: bool = False) -> dict[str, object]:
    """Build the warehouse layers for a business day; ``full_refresh`` rebuilds the incremental models too.

    A night skips dbt's unit tests, as dbt recommends for production runs: they check the SQL logic on fixtures,
    which changes only with the code, and run in CI (tests/integration/test_warehouse_kpis.py) and in every full
    refresh. The data tests run every night.

    When pipeline.yml's store_time_zone differs from the zone the warehouse was built with, the night rebuilds every
    incremental model or refuses, as ``on_store_time_zone_change`` says (proactive_crm/warehouse_calendar.py).
    """
    from proactive_crm.warehouse_calendar import needs_full_refresh

    settings = load_settings()
    selector = WAREHOUSE_SELECTOR
    with connect(warehouse_url(settings)) as conn:
        full_refresh = needs_full_refresh(conn, settings) or full_refresh
        conn.commit()
    analyze_raw()
    if full_refresh:
        summary = build_layer(selector, run_date, full_refresh=True)
        _forget_staging_tested()  # a full refresh tests everything: the next staging build tests every row again
    else:
        with _environment(DBT_EXCLUDE_RESOURCE_TYPES="unit_test"):
            summary = build_layer(selector, run_date)
    return {**summary, "full_refresh": full_refresh}


def _record_zone(conn: psycopg.Connection, settings: Settings) -> None:
    """After a successful build of the incremental models: the zone their days are in."""
    from proactive_crm.warehouse_calendar import record_zone

    record_zone(conn, settings.store_time_zone)
    conn.commit()


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables for the dbt subprocess started inside the block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def analyze_raw() -> None:
    """Planner statistics for the raw tables the night just loaded, before dbt joins them.

    Autovacuum analyzes a table only some time after a large load; until then the planner can take a freshly
    loaded table for a small one and choose nested-loop joins that run for minutes instead of seconds.
    """
    with connect(warehouse_url(load_settings()), autocommit=True) as conn:
        ensure_raw_schema(conn, list(SOURCES.values()))
        for source in SOURCES:
            conn.execute(sql.SQL("analyze {}").format(sql.Identifier("raw", source)))


def score_nightly(run_date: date) -> list[dict[str, Any]]:
    """Score every customer as of the business day + 1 with each model's champion (the rules while there is none)."""
    from ml.config import ml_config
    from ml.score import score

    return score(warehouse_url(), ml_config(), run_date)


def decide_actions(run_date: date) -> dict[str, object]:
    from ml.config import ml_config
    from proactive_crm.actions.decide import decide

    settings = load_settings()
    policy = load_policy(settings)
    models_dir = ml_config(settings).models_dir  # the one registry (CRM_MODELS_DIR), uplift versions included
    with connect(warehouse_url(settings)) as conn:
        summary = decide(conn, run_date, policy, settings.store_time_zone, settings.currency, models_dir, settings)
    return {"candidates": summary.count_candidates, **summary.outcomes, "suppressed_by": summary.suppressed,
            "selected_by_channel": summary.selected_by_channel, "notes": summary.notes,
            "seconds": round(summary.seconds, 1)}


def actions_gate(run_date: date, run_id: str | None = None) -> dict[str, object]:
    """Gate 3; raises ``QualityGateError`` on a critical failure, so nothing is published."""
    from expectations.actions_gate import run_actions_gate

    settings = load_settings()
    url = warehouse_url(settings)  # also exports CRM_WAREHOUSE_URL, which the GE datasource reads
    with connect(url) as conn:
        outcome = run_actions_gate(conn, run_date, settings, load_policy(settings), run_id)
    return {"expectations": outcome.evaluated, "failed_warning": len(outcome.failed_warning),
            "data_docs": str(outcome.docs)}


def publish_actions(run_date: date) -> dict[str, object]:
    from proactive_crm.actions.publish import publish
    from proactive_crm.actions.top_actions import format_top_actions

    settings = load_settings()
    policy = load_policy(settings)
    with connect(warehouse_url(settings)) as conn:
        result = publish(conn, run_date, outbox_dir(settings, policy))
        report = format_top_actions(conn, run_date)
    log.info("top actions:\n%s", report)
    return {"published": result.counts, "outbox": str(result.outbox)}


def apply_retention(run_date: date) -> dict[str, int]:
    """Retention after publishing; returns rows (folders for the outbox) deleted per target."""
    from proactive_crm.privacy.retention import apply_retention as delete_expired

    settings = load_settings()
    with connect(warehouse_url(settings), autocommit=True) as conn:
        done = delete_expired(conn, run_date, settings, outbox_dir(settings, load_policy(settings)))
    for d in done:
        log.info("retention: %s older than %s (%d days): %d deleted", d.target, d.cutoff, d.days, d.rows)
    return {d.target: d.rows for d in done}


def dbt_docs(run_date: date) -> str:
    from proactive_crm.nightly_report.docs import generate_docs

    return str(generate_docs(run_date))


def nightly_report(run_date: date) -> str:
    from proactive_crm.nightly_report import write_report

    return str(write_report(run_date))


def _fails_without_retry(task_id: str) -> tuple[type[BaseException], ...]:
    """The errors a retry cannot fix: a bad file needs a fixed delivery (the other files are loaded already), bad
    data a fix, a model out of step with the warehouse retraining or the mart's columns back. Anything else (a lost
    worker or connection) gets the DAG's retries, which load or build only what is not done yet."""
    if task_id == "ingest":
        from proactive_crm.landing.ingest import IngestionError

        return (IngestionError,)
    if task_id in ("warehouse_gate", "actions_gate"):
        from expectations.outcome import QualityGateError

        return (QualityGateError,)
    if task_id == "score_customers":
        from ml.features import FeatureMismatch

        return (FeatureMismatch,)
    return ()


def run_task(task_id: str, context: Mapping[str, Any], **arguments: str) -> Any:
    """What the ``crm_nightly`` task ``task_id`` runs, for the business day of the Airflow run in ``context`` (the
    store-local day on which its data interval starts); ``arguments`` are the mapped task's (``source_name``)."""
    run_date = business_date(context["data_interval_start"], load_settings())
    run_id = context["run_id"]
    steps: dict[str, Callable[[], Any]] = {
        "ensure_roles": ensure_roles,
        "ingest": lambda: ingest(arguments["source_name"], run_date, run_id=run_id),
        "build_staging": lambda: build_layer(STAGING_SELECTOR, run_date),
        "build_warehouse": lambda: build_warehouse(run_date),
        "warehouse_gate": lambda: warehouse_gate(run_date, run_id=run_id),
        "score_customers": lambda: score_nightly(run_date),
        "decide_actions": lambda: decide_actions(run_date),
        "actions_gate": lambda: actions_gate(run_date, run_id=run_id),
        "publish_actions": lambda: publish_actions(run_date),
        "apply_retention": lambda: apply_retention(run_date),
        "dbt_docs": lambda: dbt_docs(run_date),
        "nightly_report": lambda: nightly_report(run_date),
    }
    with fail_without_retry(*_fails_without_retry(task_id)):
        return steps[task_id]()
