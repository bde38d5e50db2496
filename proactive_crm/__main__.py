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

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from proactive_crm.config import Settings, load_settings


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
    if command == "roles":
        from proactive_crm.tasks.nightly import ensure_roles

        for role, grants in ensure_roles().items():
            print(f"{role}: {', '.join(grants) or '(login only)'}")
        return 0
    if command == "retention":
        return _retention(rest, settings)
    if command == "erase":
        return _erase(rest)
    print(__doc__, file=sys.stderr)
    return 2


def _retention(argv: list[str], settings: Settings) -> int:
    """The nightly retention task for a day of your choice."""
    from proactive_crm.store_calendar import local_date
    from proactive_crm.tasks.nightly import apply_retention

    parser = argparse.ArgumentParser(prog="python -m proactive_crm retention")
    # Default: today in the store's calendar, not the machine's (a server in UTC is a day off in Sydney's morning)
    today = local_date(datetime.now(UTC), settings.store_time_zone)
    parser.add_argument("--run-date", type=date.fromisoformat, default=today)
    args = parser.parse_args(argv)
    for target, n in apply_retention(args.run_date).items():
        print(f"{target}: {n:,} deleted")
    return 0


def _erase(argv: list[str]) -> int:
    """The crm_erase DAG's task on ids from the command line (which, unlike a DAG run's configuration, leaves them
    nowhere)."""
    from proactive_crm.tasks.erase import erase

    parser = argparse.ArgumentParser(
        prog="python -m proactive_crm erase",
        description="Erase customers from the warehouse and outbox files, and keep them out of later loads.",
    )
    parser.add_argument("--customer-id", action="append", help="a customer id (repeatable)")
    parser.add_argument("--file", type=Path, help="a file with one customer id a line")
    args = parser.parse_args(argv)
    ids = list(args.customer_id or [])
    if args.file:
        ids += [line.strip() for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not ids:
        parser.error("give at least one --customer-id or a --file")
    result = erase(ids)
    print(
        f"erased {result['customers']} customer(s): {result['rows_deleted']:,} row(s) deleted, "
        f"{result['newly_listed']} new key(s) on the erasure list, {result['quality_results_scrubbed']} quality "
        "result(s) scrubbed"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
