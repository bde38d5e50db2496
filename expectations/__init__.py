"""Great Expectations 1.x suites, batch definitions and checkpoints of the pipeline's data-quality gates, as code.

- ``landing``: gate 1, the landing files of a source before they load (pandas frames from the loader's parser);
- ``warehouse``: gate 2, the marts after the dbt build, computed in PostgreSQL through a SQL datasource;
- ``gates``: the ephemeral context, Data Docs sites, severity tiers and the one checkpoint per gate;
- ``severity``: severity and thresholds of every check, from ``quality:`` in the pipeline configuration;
- ``results``: validation results as findings (severity, observed value, what to check), free of GE objects.

``proactive_crm.quality`` runs the gates; the DAG's tasks call it. Importing this package does not import
great_expectations; ``landing``, ``warehouse`` and ``gates`` do.
"""

import logging

# great_expectations logs every registered function at INFO when it is imported, which drowns a task's log.
logging.getLogger("great_expectations").setLevel(logging.WARNING)
