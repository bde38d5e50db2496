"""A fresh install's demo runs the night twice around training: every task of crm_nightly runs in exactly one of
the two runs, so nothing is built twice and nothing the summary shows is left out."""

from __future__ import annotations

from devtools.demo import FIRST_NIGHT_SKIPS, RERUN_SKIPS


def test_the_first_night_and_the_re_run_split_the_nights_tasks_between_them(dagbag):
    tasks = {task.task_id for task in dagbag.dags["crm_nightly"].tasks}
    first, rerun = set(FIRST_NIGHT_SKIPS), set(RERUN_SKIPS)
    assert first <= tasks and rerun <= tasks
    assert not first & rerun, "a task skipped in both runs never runs"
    assert first | rerun == tasks, "a task skipped in neither run runs twice"


def test_everything_after_the_warehouse_gate_but_retention_waits_for_the_models(dagbag):
    dag = dagbag.dags["crm_nightly"]
    after_gate = dag.get_task("warehouse_gate").get_flat_relative_ids(upstream=False)
    assert set(FIRST_NIGHT_SKIPS) == after_gate - {"apply_retention"}
