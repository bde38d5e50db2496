"""Operator commands.

python -m proactive_crm warehouse url|stop     the warehouse URL (starting the embedded server if needed) / stop it
python -m proactive_crm dbt <dbt args>          run dbt against the configured warehouse
python -m proactive_crm summary                 row accounting of everything loaded so far
python -m proactive_crm mf <mf args>            MetricFlow on the semantic layer (e.g. mf query --metrics revenue
                                                --group-by metric_time__month)
python -m proactive_crm erase --customer-id ID [--customer-id ID ...] [--file IDS.txt]
                                                erase customers everywhere and keep them out of later loads
python -m proactive_crm roles                   create / update the database roles and their grants (idempotent)
python -m proactive_crm retention [--run-date D]
                                                delete raw web events, rejected rows, decisions, outbox files older
                                                than the configured retention
"""

from __future__ import annotations

import sys

from proactive_crm.config import load_settings


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    settings = load_settings()
    command, rest = argv[0], argv[1:]
    if command == "warehouse":
        from proactive_crm.warehouse import embedded_data_dir, stop_embedded, warehouse_url

        if rest == ["url"]:
            print(warehouse_url(settings))
            return 0
        if rest == ["stop"]:
            print("stopped" if stop_embedded(embedded_data_dir(settings)) else "not running")
            return 0
    if command == "dbt":
        from proactive_crm.dbt_runner import run_dbt
        from proactive_crm.warehouse import warehouse_url

        code, _, _ = run_dbt(rest, warehouse_url(settings), settings)
        return code
    if command == "mf":
        from proactive_crm.semantic_layer import metricflow
        from proactive_crm.warehouse import warehouse_url

        return metricflow(rest, warehouse_url(settings), settings).returncode
    if command == "summary":
        from proactive_crm.run_summary import format_load_summary
        from proactive_crm.warehouse import connect

        with connect() as conn:
            print(format_load_summary(conn))
        return 0
    if command in ("erase", "roles", "retention"):
        from proactive_crm.privacy.commands import run_command

        return run_command(command, rest, settings)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
