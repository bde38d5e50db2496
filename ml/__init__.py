"""Customer models of the proactive CRM: churn risk, time to next order (also per consumable category) and
90-day value, trained weekly (``dags/crm_train.py``) and scored nightly (``dags/crm_nightly.py``).

Modules: ``config`` (settings), ``features`` / ``labels`` / ``split`` (point-in-time data), ``bgnbd`` (closed-form
BG/NBD features), ``train``, ``baselines``, ``evaluate``, ``evaluation_report``, ``registry``
(``registry_version`` writes one), ``score``, ``reasons``;
``python -m ml`` is the command line. Nothing here does work at import time but the one setting below.
"""

import os

# XGBoost's (and scikit-learn's) OpenMP runtime spins its idle threads at every barrier by default. With more
# runnable processes than cores (a shared 2-core machine: PostgreSQL, dbt, other tasks) a spinning thread keeps the
# core from the thread it waits for: 150 rounds on 30,000 rows x 50 features took 58-68 s with 2 threads against
# 2.6-4.0 s passive (load average 14, benchmarks/README.md). The runtime reads the variable once, when it is loaded,
# which happens only through this package's imports of xgboost and scikit-learn; a value set by the user stands.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
