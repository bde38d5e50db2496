"""Every DAG file imports cleanly, fast, and without touching the warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from proactive_crm.config import PROJECT_ROOT

DAGS = PROJECT_ROOT / "dags"


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "crm_nightly" in dagbag.dags


def test_dag_file_names_are_dag_ids(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert Path(dag.fileloc).stem == dag_id


def test_dags_have_docs_tags_retries_and_one_active_run(dagbag):
    for dag in dagbag.dags.values():
        assert dag.doc_md and dag.tags
        assert dag.max_active_runs == 1
        for task in dag.tasks:
            if task.task_id != "ingest":  # a bad landing file needs a new delivery, not a retry
                assert task.retries >= 1, f"{dag.dag_id}.{task.task_id} has no retries"


def test_nightly_ingests_every_source_before_building_staging(dagbag):
    dag = dagbag.dags["crm_nightly"]
    assert dag.get_task("build_staging").upstream_task_ids == {"ingest"}
    assert dag.timetable.summary == "0 2 * * *"


def test_parsing_opens_no_database_connection(tmp_path: Path):
    """Parse the DAG folder with an unreachable warehouse URL and psycopg's connect booby-trapped."""
    probe = textwrap.dedent(
        f"""
        import psycopg, psycopg2
        def refuse(*args, **kwargs):
            raise SystemExit("a DAG file connected to a database at import time")
        psycopg.connect = psycopg2.connect = refuse
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder={str(DAGS)!r})
        assert not bag.import_errors, bag.import_errors
        print("parsed", sorted(bag.dags))
        """
    )
    env = {
        **os.environ,
        "CRM_WAREHOUSE_URL": "postgresql://nobody@203.0.113.1:1/none",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_HOME": str(tmp_path),
    }
    completed = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "crm_nightly" in completed.stdout
