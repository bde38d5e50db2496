"""The privacy commands of ``python -m proactive_crm`` and the nightly/erasure task functions they share."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, date, datetime
from pathlib import Path

from proactive_crm.config import Settings, load_settings
from proactive_crm.store_calendar import local_date
from proactive_crm.warehouse import connect, warehouse_url

log = logging.getLogger(__name__)


def _outbox(settings: Settings) -> Path:
    from proactive_crm.actions.policy import load_policy, outbox_dir

    return outbox_dir(settings, load_policy(settings))


def ensure_roles_task() -> dict[str, list[str]]:
    """The DAG's first task and ``make demo``: roles and grants, idempotent."""
    from proactive_crm.privacy.roles import ensure_roles

    with connect(warehouse_url(load_settings()), autocommit=True) as conn:
        return ensure_roles(conn)


def erase_task(customer_ids: list[str]) -> dict[str, object]:
    """Erase customers (the ``crm_erase`` DAG and the command line); the log shows counts, never the ids."""
    from proactive_crm.privacy.erasure import erase_customers

    settings = load_settings()
    with connect(warehouse_url(settings), autocommit=True) as conn:
        report = erase_customers(conn, customer_ids, _outbox(settings))
    return {"customers": report.customers, "newly_listed": report.newly_listed, "rows_deleted": report.total,
            "quality_results_scrubbed": report.scrubbed_results}


def retention_task(run_date: date) -> dict[str, int]:
    """Nightly retention after publishing; returns rows (folders for the outbox) deleted per target."""
    from proactive_crm.privacy.retention import apply_retention

    settings = load_settings()
    with connect(warehouse_url(settings), autocommit=True) as conn:
        done = apply_retention(conn, run_date, settings, _outbox(settings))
    for d in done:
        log.info("retention: %s older than %s (%d days): %d deleted", d.target, d.cutoff, d.days, d.rows)
    return {d.target: d.rows for d in done}


def _read_ids(args: argparse.Namespace) -> list[str]:
    ids = list(args.customer_id or [])
    if args.file:
        ids += [line.strip() for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    return ids


def run_command(command: str, argv: list[str], settings: Settings) -> int:
    if command == "roles":
        for role, grants in ensure_roles_task().items():
            print(f"{role}: {', '.join(grants) or '(login only)'}")
        return 0
    if command == "retention":
        parser = argparse.ArgumentParser(prog="python -m proactive_crm retention")
        # Default: today in the store's calendar, not the machine's (a server in UTC is a day off in Sydney's morning)
        today = local_date(datetime.now(UTC), settings.store_time_zone)
        parser.add_argument("--run-date", type=date.fromisoformat, default=today)
        args = parser.parse_args(argv)
        for target, n in retention_task(args.run_date).items():
            print(f"{target}: {n:,} deleted")
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m proactive_crm erase",
        description="Erase customers from the warehouse and outbox files, and keep them out of later loads.",
    )
    parser.add_argument("--customer-id", action="append", help="a customer id (repeatable)")
    parser.add_argument("--file", type=Path, help="a file with one customer id a line")
    args = parser.parse_args(argv)
    ids = _read_ids(args)
    if not ids:
        parser.error("give at least one --customer-id or a --file")
    result = erase_task(ids)
    print(
        f"erased {result['customers']} customer(s): {result['rows_deleted']:,} row(s) deleted, "
        f"{result['newly_listed']} new key(s) on the erasure list, {result['quality_results_scrubbed']} quality "
        "result(s) scrubbed"
    )
    return 0
