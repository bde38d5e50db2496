"""The ``crm_erase`` DAG, triggered with a list of ids (``airflow dags test crm_erase -c '{...}'``), erases exactly
those customers, keeps each file's accounting true, and its log names none of them."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import psycopg

from devtools.local_airflow import AIRFLOW, airflow_env, ensure_metadata_db
from proactive_crm.config import Settings
from proactive_crm.landing.erasure_list import key_hash
from proactive_crm.tasks import nightly
from tests.conftest import write_partition

DAY = "2026-10-30"
GONE, ALSO_GONE, STAYS = "CUST-ERASE-0001", "CUST-ERASE-0002", "CUST-KEEP-0003"
ORDERS = "order_id,customer_id,ordered_at,channel,status,currency,total_amount\n"
LINES = "order_id,line_number,product_id,quantity,unit_price,discount_amount\n"


def test_the_dag_erases_the_listed_customers(
    conn: psycopg.Connection, warehouse: str, landing: Path, settings: Settings, monkeypatch, tmp_path: Path
) -> None:
    conn.execute("drop schema if exists restricted cascade")
    conn.execute("drop schema if exists quality cascade")
    monkeypatch.setenv("CRM_LANDING_DIR", str(landing))
    monkeypatch.setenv("CRM_STATE_DIR", str(settings.state_dir))
    customers = [GONE, ALSO_GONE, STAYS]
    write_partition(landing, "orders", DAY, ORDERS + "".join(
        f"O-{c},{c},{DAY}T10:00:00Z,web,completed,EUR,10.00\n" for c in customers))
    write_partition(landing, "order_lines", DAY, LINES + "".join(f"O-{c},1,P1,1,10.00,0\n" for c in customers))
    for source in ("orders", "order_lines"):
        nightly.ingest(source, date.fromisoformat(DAY), run_id="before")

    env = airflow_env(settings, {"CRM_WAREHOUSE_URL": warehouse, "CRM_OUTBOX_DIR": str(tmp_path / "outbox")})
    ensure_metadata_db(env)
    run = subprocess.run(
        [str(AIRFLOW), "dags", "test", "crm_erase", "-c", json.dumps({"customer_ids": [GONE, ALSO_GONE]})],
        env=env, capture_output=True, text=True, check=False,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-3000:]
    assert GONE not in log and ALSO_GONE not in log

    assert conn.execute("select customer_id from raw.orders").fetchall() == [(STAYS,)]
    assert conn.execute("select order_id from raw.order_lines").fetchall() == [(f"O-{STAYS}",)]
    listed = {k for (k,) in conn.execute("select key_hash from restricted.erasure_list")}
    assert {key_hash(GONE), key_hash(ALSO_GONE), key_hash(f"O-{GONE}")} <= listed and key_hash(STAYS) not in listed
    audit = conn.execute("select source, rows_read, rows_loaded, rows_rejected, rows_erased from raw.load_audit "
                         "order by source").fetchall()
    assert audit == [("order_lines", 3, 1, 0, 2), ("orders", 3, 1, 0, 2)]

    # the same export delivered again (new checksum): the loader keeps them out and counts them
    write_partition(landing, "orders", DAY, ORDERS + "".join(
        f"O-{c},{c},{DAY}T10:00:00Z,web,completed,EUR,10.00\n" for c in customers) + "\n")
    result = nightly.ingest("orders", date.fromisoformat(DAY), run_id="after")
    assert (result["rows_loaded"], result["rows_erased"]) == (1, 2)
    assert conn.execute("select customer_id from raw.orders").fetchall() == [(STAYS,)]
