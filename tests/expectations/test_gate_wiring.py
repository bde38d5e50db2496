"""How the gates sit in crm_nightly, and the failure behaviour of GE and Airflow that the gates rely on (pinned)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from devtools.local_airflow import AIRFLOW, airflow_env, ensure_metadata_db, trigger_time
from proactive_crm.config import PROJECT_ROOT, Settings
from tests.expectations.conftest import failed
from tests.expectations.test_warehouse_gate import RUN, build_marts


@pytest.fixture(scope="module")
def nightly_dag(tmp_path_factory: pytest.TempPathFactory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags")).dags["crm_nightly"]


def test_the_warehouse_gate_follows_the_warehouse_build_and_gates_what_comes_after(nightly_dag):
    gate = nightly_dag.get_task("warehouse_gate")
    assert gate.upstream_task_ids == {"build_warehouse"}
    assert gate.retries >= 1  # a lost connection is retried; a quality failure is not (AirflowFailException)
    # the landing gate runs inside each source's ingest task, before that source loads
    assert nightly_dag.get_task("build_staging").upstream_task_ids == {"ingest"}


def test_ge_reports_failed_expectations_without_raising_and_its_success_ignores_severity():
    """Pinned: a checkpoint with only a *warning* failing still reports success False, and nothing raises. The
    gates therefore decide from each expectation's severity, never from GE's overall success."""
    import great_expectations.expectations as gxe

    from expectations.gates import configure_checkpoint, configure_suite, configure_validation, new_context
    from expectations.results import findings_from_checkpoint

    context = new_context(None, "probe", "probe")
    batch = context.data_sources.add_or_update_pandas("probe").add_dataframe_asset("frame")
    suite = configure_suite(
        context,
        "probe",
        [
            gxe.ExpectColumnValuesToBeBetween(column="rate", min_value=0, max_value=1, severity="warning"),
            gxe.ExpectColumnValuesToNotBeNull(column="rate", severity="critical"),
            gxe.ExpectColumnValuesToNotBeNull(column="no_such_column", severity="warning"),
        ],
    )
    validation = configure_validation(context, "probe", batch.add_batch_definition_whole_dataframe("all"), suite)
    checkpoint = configure_checkpoint(context, "probe", [validation])

    result = checkpoint.run(batch_parameters={"dataframe": pd.DataFrame({"rate": [0.5, 1.3]})})

    assert result.success is False
    findings = {(f.column, f.severity): f for f in findings_from_checkpoint("probe", result)}
    assert findings[("rate", "warning")].failed and not findings[("rate", "critical")].failed
    # an expectation that cannot be computed is a failure with its reason, not an exception
    assert findings[("no_such_column", "warning")].failed
    assert "not evaluated" in findings[("no_such_column", "warning")].observed


@pytest.mark.integration
def test_a_critical_warehouse_failure_fails_the_run_without_retries(qconn, warehouse: str, settings: Settings):
    """``airflow dags test`` of the real DAG, the tasks before the gate marked successful, on marts whose
    completed orders' revenue does not reconcile with their lines: the run fails, the gate ran once although
    retries are set, and no task after it ran."""
    build_marts(qconn)
    qconn.execute("delete from core.fct_order_lines where order_line_id = 'O3-2'")  # a lost line
    # retries as in production: the gate's AirflowFailException must be what prevents them
    env = airflow_env(settings, {"CRM_WAREHOUSE_URL": warehouse, "CRM_TASK_RETRIES": "2"})
    ensure_metadata_db(env)
    command = [
        str(AIRFLOW), "dags", "test", "crm_nightly", trigger_time(RUN, settings).isoformat(),
        "--mark-success-pattern", r"^(ensure_roles|ingest|build_staging|build_warehouse)$",
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    output = completed.stdout + completed.stderr
    (Path(env["AIRFLOW_HOME"]) / "dags_test.log").write_text(output)

    assert completed.returncode != 0, output[-3000:]
    assert "core.fct_orders: revenue_reconciles" in output and '"difference": 8.0' in output
    states = _task_states(Path(env["AIRFLOW_HOME"]) / "airflow.db")
    assert states["warehouse_gate"] == ("failed", 1)
    before = {"ensure_roles", "ingest", "build_staging", "build_warehouse", "warehouse_gate"}
    after = {t for t in states if t not in before}
    assert "publish_actions" in after  # nothing downstream ran, publishing included: yesterday's actions stay
    assert {t: states[t][0] for t in after} == {t: "upstream_failed" for t in after}
    assert ("revenue_reconciles", "total_amount", "critical") in failed(qconn, "warehouse")
    run_ids = qconn.execute("select distinct run_id from quality.validation_results").fetchall()
    assert run_ids and run_ids[0][0]  # results carry the Airflow run id


def _task_states(db: Path) -> dict[str, tuple[str, int]]:
    with sqlite3.connect(db) as metadata:
        rows = metadata.execute(
            "select task_id, state, try_number from task_instance where dag_id = 'crm_nightly'"
        ).fetchall()
    return {task_id: (state, try_number) for task_id, state, try_number in rows}


def test_format_gate_summary_prints_one_line_per_gate(qconn, settings: Settings):
    from expectations.store import format_gate_summary
    from expectations.warehouse_gate import run_warehouse_gate

    assert format_gate_summary(qconn, date(2026, 10, 31)) == "no quality gate results for 2026-10-31"
    build_marts(qconn)
    run_warehouse_gate(qconn, RUN, settings)
    lines = format_gate_summary(qconn, RUN).splitlines()
    assert len(lines) == 1 and lines[0].split()[:2] == ["warehouse", "PASSED"]
    assert "expectations on 5 target(s): 0 critical failed, 0 warning(s), 1 not evaluated" in lines[0]
