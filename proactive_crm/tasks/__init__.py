"""What each DAG's tasks call, one module per DAG, callable and testable without Airflow.

``nightly`` for ``crm_nightly``, ``train`` for ``crm_train``, ``erase`` for ``crm_erase``; ``retries`` holds how a
task fails without a retry.
The DAG files import from here only; the logic they call lives in the domain packages below (landing, expectations,
ml, actions) and those import configuration and warehouse access, never a task module.
"""
