"""The ML wiring in Airflow: crm_train parses with its tasks, and nightly scoring runs after the warehouse gate."""

from __future__ import annotations


def test_crm_train_trains_then_promotes_every_model_weekly(dagbag):
    assert dagbag.import_errors == {}
    dag = dagbag.dags["crm_train"]
    # one mapped group per model: a model that fails to train holds back only its own promotion
    assert dag.get_task("model.promote").upstream_task_ids == {"model.train_and_evaluate"}
    assert type(dag.task_group.children["model"]).__name__ == "MappedTaskGroup"
    assert dag.timetable.summary == "0 4 * * 0"
    assert dag.max_active_runs == 1 and all(t.retries >= 1 for t in dag.tasks)
    import importlib.util

    from ml.config import MODEL_NAMES

    spec = importlib.util.spec_from_file_location("crm_train_module", dag.fileloc)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert sorted(module.MODELS) == sorted(MODEL_NAMES)  # the DAG file cannot import ml at parse time


def test_nightly_scores_after_the_warehouse_gate_and_before_actions(dagbag):
    dag = dagbag.dags["crm_nightly"]
    score = dag.get_task("score_customers")
    assert score.upstream_task_ids == {"warehouse_gate"}
    assert "decide_actions" in score.downstream_task_ids
