"""What each task of the ``crm_train`` DAG does, callable and testable without Airflow.

Per model: ``train_model`` (train and evaluate on time-split cut-offs, write a registry version) -> ``promote_result``
(promote the version when it beats the champion and the baselines by the configured margin).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date
from typing import Any

# The training summary keeps the logger it had inside ml.pipeline, so task logs read as before (the demo prints the
# model summaries itself and shows only proactive_crm.* and expectations.* lines).
log = logging.getLogger("ml.pipeline")


def train_model(model: str, run_date: date) -> dict[str, Any]:
    """Settings from the environment, the configured warehouse; a JSON-able result."""
    from ml.config import ml_config
    from ml.pipeline import recording_failure, train_and_evaluate
    from proactive_crm.warehouse import connect

    cfg = ml_config()
    with recording_failure(cfg, model, run_date), connect() as conn:
        result = train_and_evaluate(conn, cfg, model, run_date)
    log.info("%s", result.summary())
    return {
        "model": model,
        "status": result.status,
        "version": result.version,
        "reason": result.reason,
        "summary": result.summary(),
    }


def promote_result(result: dict[str, object]) -> dict[str, object]:
    """After training: promote a trained version, pass a cold start through."""
    from ml.config import ml_config
    from ml.promotion import promote

    model = str(result["model"])
    if result.get("status") != "trained":
        return {"model": model, "promoted": False, "reason": f"not trained: {result.get('reason')}"}
    decision = promote(ml_config(), model, str(result["version"]))
    return asdict(decision)
