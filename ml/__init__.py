"""Customer models of the proactive CRM: churn risk, time to next order (also per consumable category) and
90-day value, trained weekly (``dags/crm_train.py``) and scored nightly (``dags/crm_nightly.py``).

Modules: ``config`` (settings), ``features`` / ``labels`` / ``split`` (point-in-time data), ``bgnbd`` (closed-form
BG/NBD features), ``train``, ``baselines``, ``evaluate``, ``evaluation_report``, ``registry``
(``registry_version`` writes one), ``score``, ``reasons``;
``python -m ml`` is the command line. Nothing here does work at import time.
"""
