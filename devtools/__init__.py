"""Development tools, outside the runtime packages: nothing in ``proactive_crm``, ``ml`` or ``expectations``
imports them (an import-linter contract in ``pyproject.toml``), and the container image does not ship them.

- ``synth``: the synthetic retailer (``python -m devtools.synth``), landing files with planted, known behaviour;
- ``demo``: ``make demo`` (generate, run the nights through ``airflow dags test``, train, print what a person reads);
- ``local_airflow``: ``airflow dags test`` in a local Airflow home, as the demo and the integration tests run it;
- ``simulation``: the closed loop of actions and simulated responses over several nights (``make bench`` figures).
"""
