"""Erasure end to end: a customer is loaded, erased, and the night re-run over the same landing files (one of their
partitions re-delivered, a rejected row of theirs delivered again) must bring back nothing of them.

One generated retailer, one test database, ``airflow dags test`` for the nights: the erasure goes through the
command line, as an operator would run it. The night before the erasure leaves out the dbt docs and the report
(``REPORTING_TASKS``): the erasure touches neither, and the night after writes both (the report of the same day, at
the same path), so what the files are checked for is the same; one docs build and one report less per suite.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from devtools.local_airflow import REPORTING_TASKS, dags_test
from proactive_crm.config import load_settings
from proactive_crm.landing.erasure_list import key_hash

pytestmark = pytest.mark.integration

END = date(2026, 10, 31)
WINDOW_DAYS = 7  # late_data_days: the KPI days every night recomputes


def _all_text_hits(conn: psycopg.Connection, needles: list[str]) -> dict[str, int]:
    """Every base table and materialised row of the database whose text form contains a needle as a whole token."""
    pattern = "(^|[^A-Za-z0-9_.@+-])(" + "|".join(re.escape(n) for n in needles) + ")($|[^A-Za-z0-9_.@+-])"
    tables = conn.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema not in ('pg_catalog', 'information_schema') and table_schema not like 'pg\\_%%'"
    ).fetchall()
    hits = {}
    for schema, table in tables:
        n = conn.execute(
            sql.SQL("select count(*) from {} as t where t::text ~ %s").format(sql.Identifier(schema, table)),
            (pattern,),
        ).fetchone()[0]
        if n:
            hits[f"{schema}.{table}"] = n
    return hits


def _file_hits(root: Path, needles: list[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and path.suffix != ".ubj":
            data = path.read_bytes()
            if any(n.encode() in data for n in needles):
                found.append(str(path))
    return found


@pytest.fixture(scope="module")
def erased(empty_warehouse: str, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("erasure")
    landing = root / "landing"
    subprocess.run(
        [sys.executable, "-m", "devtools.synth", "--customers", "300", "--days", "45", "--seed", "23",
         "--out", str(landing), "--end-date", END.isoformat(), "--quiet"],
        check=True,
    )
    env_extra = {
        "CRM_WAREHOUSE_URL": empty_warehouse,
        "CRM_MODELS_DIR": str(root / "models"),
        "CRM_OUTBOX_DIR": str(root / "outbox"),
    }
    env = {**os.environ, "CRM_LANDING_DIR": str(landing), "CRM_STATE_DIR": str(root / "state"), **env_extra}
    settings = load_settings(env)

    def night(day: date, name: str, skip: tuple[str, ...] = ()) -> str:
        log = root / f"{name}.log"
        code = dags_test("crm_nightly", day, settings, log, env_extra=env_extra, skip=skip)
        text = log.read_text()
        assert code == 0, text[-4000:]
        return text

    header, profiles = [], {}
    for path in sorted((landing / "customers").glob("dt=*/*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            for record in reader:
                profiles.setdefault(record[0], (path, record))
    before_erase = night(END, "night_before", skip=REPORTING_TASKS)
    # The victim: a customer with contact details, completed orders in the KPI window and web events under their id.
    with psycopg.connect(empty_warehouse) as conn:
        candidates = conn.execute(
            "select o.customer_id from core.fct_orders as o inner join restricted.dim_customer_contacts as c "
            "using (customer_id) where o.is_completed and o.ordered_date > %s and c.email is not null "
            "and c.phone is not null and exists (select 1 from raw.web_events as w where w.customer_id = "
            "o.customer_id) group by o.customer_id order by count(*) desc, o.customer_id limit 1",
            (END - timedelta(days=WINDOW_DAYS),),
        ).fetchall()
        assert candidates, "the sample has no customer with orders in the KPI window, contacts and web events"
        victim = candidates[0][0]
        email, phone, first_name, last_name = conn.execute(
            "select email, phone, first_name, last_name from restricted.dim_customer_contacts where customer_id = %s",
            (victim,),
        ).fetchone()
        kpi_before = dict(conn.execute(
            "select period_start, count_orders from kpi.kpi_customer_health_daily "
            "where dimension = 'overall' order by period_start"
        ).fetchall())
        victim_orders = dict(conn.execute(
            "select ordered_date, count(*) from core.fct_orders where customer_id = %s and is_completed "
            "group by ordered_date", (victim,),
        ).fetchall())
        others_before = conn.execute(
            "select count(*), sum(total_amount) from core.fct_orders where customer_id <> %s", (victim,)
        ).fetchone()
        customers_before = conn.execute("select count(*) from core.dim_customers").fetchone()[0]
        order_ids = [r[0] for r in conn.execute("select order_id from raw.orders where customer_id = %s", (victim,))]

    # The victim's profile is delivered again with a bad birth date (a rejected row that quotes them) ...
    path, record = profiles[victim]
    record = list(record)
    record[header.index("birth_date")] = "1985-13-45"
    with (path.parent / "zz-correction.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, record])
    # ... and the first partition of orders holding one of theirs is re-delivered (new checksum, same rows).
    redelivered = next(
        p for p in sorted((landing / "orders").glob("dt=*/*.csv")) if any(o in p.read_text() for o in order_ids)
    )
    redelivered.write_text(redelivered.read_text() + "\n")

    command = subprocess.run(
        [sys.executable, "-m", "proactive_crm", "erase", "--customer-id", victim],
        env=env, capture_output=True, text=True, check=True,
    )
    after_erase = night(END, "night_after")
    return {
        "url": empty_warehouse, "root": root, "victim": victim, "needles": [victim, email, phone],
        "names": (first_name, last_name), "erase_output": command.stdout + command.stderr, "log": after_erase,
        "log_before": before_erase,
        "kpi_before": kpi_before, "victim_orders": victim_orders, "others_before": others_before,
        "customers_before": customers_before, "redelivered": str(redelivered.relative_to(landing)),
        "order_ids": order_ids,
    }


def test_no_table_holds_the_erased_customer(erased: dict) -> None:
    with psycopg.connect(erased["url"]) as conn:
        hits = _all_text_hits(conn, erased["needles"] + erased["order_ids"])
    assert hits == {}, f"still holding the erased customer: {hits}"


def test_the_erasure_list_holds_hashes_only(erased: dict) -> None:
    with psycopg.connect(erased["url"]) as conn:
        kinds = dict(conn.execute("select key_kind, count(*) from restricted.erasure_list group by 1").fetchall())
        listed = conn.execute(
            "select count(*) from restricted.erasure_list where key_kind = 'customer' and key_hash = %s",
            (key_hash(erased["victim"]),),
        ).fetchone()[0]
    assert listed == 1
    assert kinds.get("order", 0) == len(erased["order_ids"]) and kinds.get("visitor", 0) >= 1


def test_no_file_or_log_of_the_run_holds_them(erased: dict) -> None:
    root: Path = erased["root"]
    needles = erased["needles"]
    assert not any(n in erased["erase_output"] for n in needles), erased["erase_output"]
    assert not any(n in erased["log"] for n in needles), "the re-run's log quotes the erased customer"
    files = _file_hits(root / "outbox", needles) + _file_hits(root / "state", needles)
    files += _file_hits(root / "models", needles) if (root / "models").exists() else []
    assert files == [], files


def test_task_logs_print_no_contact_details_of_anyone(erased: dict) -> None:
    for log in (erased["log_before"], erased["log"]):
        assert re.search(r"[A-Za-z0-9._%+-]{2,}@[A-Za-z0-9-]+\.[A-Za-z]{2,}", log) is None  # masked: a***@example.de
        assert re.search(r"\+[1-9][0-9]{7,14}\b", log) is None  # masked: +49********999


def test_the_loader_dropped_them_from_the_redelivered_files(erased: dict) -> None:
    with psycopg.connect(erased["url"]) as conn:
        audit = conn.execute(
            "select source_file, rows_read, rows_loaded, rows_rejected, rows_erased from raw.load_audit "
            "where status = 'loaded' and superseded_by is null"
        ).fetchall()
    by_file = {row[0]: row[1:] for row in audit}
    assert all(read == loaded + rejected + gone for read, loaded, rejected, gone in by_file.values())
    assert by_file[erased["redelivered"]][3] >= 1  # the re-delivered orders file: their order dropped on load
    correction = next(f for f in by_file if f.endswith("zz-correction.csv"))
    assert by_file[correction] == (1, 0, 0, 1)  # their rejected row is erased, not kept in customers_rejected


def test_totals_that_do_not_depend_on_them_stay(erased: dict) -> None:
    with psycopg.connect(erased["url"]) as conn:
        others_after = conn.execute("select count(*), sum(total_amount) from core.fct_orders").fetchone()
        customers_after = conn.execute("select count(*) from core.dim_customers").fetchone()[0]
        kpi_after = dict(conn.execute(
            "select period_start, count_orders from kpi.kpi_customer_health_daily where dimension = 'overall'"
        ).fetchall())
    assert others_after == erased["others_before"]
    assert customers_after == erased["customers_before"] - 1
    recomputed_from = END - timedelta(days=WINDOW_DAYS)
    for day, before in erased["kpi_before"].items():
        expected = before - erased["victim_orders"].get(day, 0) if day > recomputed_from else before
        assert kpi_after[day] == expected, (day, before, kpi_after[day])
    assert any(day > recomputed_from for day in erased["victim_orders"])  # the comparison above tested a change
