"""The pipeline's three data-quality gates: Great Expectations 1.x suites as code, their runners and result store.

Suites (batch definitions, expectations, checkpoints):
- ``landing``: gate 1, the landing files of a source before they load (pandas frames from the loader's parser);
- ``warehouse``: gate 2, the marts after the dbt build, computed in PostgreSQL through a SQL datasource;
- ``actions``: gate 3, the selected actions before they are published;
- ``gates``: the ephemeral context, Data Docs sites, severity tiers and the one checkpoint per gate.

Runners and results (what the night's tasks in ``proactive_crm.tasks.nightly`` call):
- ``landing_gate`` / ``warehouse_gate`` / ``actions_gate``: run one gate for a business day;
- ``outcome``: the end of every gate run (record, log, raise ``QualityGateError`` on a critical failure);
- ``store``: ``quality.validation_results`` and the one-line summary per gate;
- ``results``: validation results as findings (severity, observed value, what to check), free of GE objects.

Severities come from ``proactive_crm.quality_config``. Imports go one way: this package imports the pipeline's
configuration, landing contract and actions policy; nothing below the task layer imports it. Importing this package
does not import great_expectations; the suites and runners do.
"""

import logging

# great_expectations logs every registered function at INFO when it is imported, which drowns a task's log.
logging.getLogger("great_expectations").setLevel(logging.WARNING)
