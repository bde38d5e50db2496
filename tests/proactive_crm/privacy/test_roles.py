"""The roles connect and see exactly what the README's Privacy section says: run against the embedded server and,
with ``make test-pg15``, against PostgreSQL 15 (roles are cluster-wide: creating them twice must be harmless)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from proactive_crm.privacy.roles import BI, OUTBOUND, PIPELINE, ensure_roles

TABLES = {
    "raw.customers": "customer_id text, email text",
    "restricted.dim_customer_contacts": "customer_id text, email text, phone text",
    "staging.stg_example": "customer_id text",
    "core.dim_customers": "customer_id text, age_band text, country_code text",
    "kpi.kpi_customer_health_daily": "period_start date, revenue numeric",
    "ml.customer_scores": "customer_id text, churn_risk float8",
    "actions.decisions": "customer_id text, contact_address text",
    "actions.action_effectiveness": "action_type text, uplift float8",
    "actions.outbound_email": "customer_id text, email text",
    "actions.publications": "run_date date",
    "quality.validation_results": "check_name text",
}
# What each role may read; everything else in TABLES it may not.
READABLE = {
    BI: {"core.dim_customers", "kpi.kpi_customer_health_daily", "actions.action_effectiveness"},
    OUTBOUND: {"actions.outbound_email", "actions.publications"},
    PIPELINE: set(TABLES),
}


@pytest.fixture(scope="module")
def granted(warehouse: str) -> Iterator[str]:
    with psycopg.connect(warehouse, autocommit=True) as conn:
        for schema in ("raw", "restricted", "staging", "core", "kpi", "ml", "actions", "quality"):
            conn.execute(f"drop schema if exists {schema} cascade")
            conn.execute(f"create schema {schema}")
        for table, columns in TABLES.items():
            conn.execute(f"create table {table} ({columns})")
        ensure_roles(conn)
        ensure_roles(conn)  # idempotent: a second night changes nothing and raises nothing
        # created after the grants, as dbt re-creates marts every night: default privileges must cover it
        conn.execute("create table core.fct_orders_later (order_id text, customer_id text)")
        conn.execute("create table raw.orders_later (order_id text)")
    yield warehouse


def _can_read(url: str, role: str, table: str) -> bool:
    with psycopg.connect(url, user=role, autocommit=True) as conn:
        try:
            conn.execute(f"select * from {table} limit 1").fetchall()
            return True
        except psycopg.errors.InsufficientPrivilege:
            return False


@pytest.mark.parametrize("role", [BI, OUTBOUND, PIPELINE])
def test_each_role_reads_exactly_what_it_should(granted: str, role: str) -> None:
    readable = {t for t in TABLES if _can_read(granted, role, t)}
    assert readable == READABLE[role]


def test_tables_created_later_follow_the_default_privileges(granted: str) -> None:
    assert _can_read(granted, BI, "core.fct_orders_later")
    assert not _can_read(granted, BI, "raw.orders_later")
    assert not _can_read(granted, OUTBOUND, "core.fct_orders_later")
    assert _can_read(granted, PIPELINE, "raw.orders_later")


def test_only_the_pipeline_writes(granted: str) -> None:
    for role in (BI, OUTBOUND):
        with psycopg.connect(granted, user=role, autocommit=True) as conn, pytest.raises(
            psycopg.errors.InsufficientPrivilege
        ):
            conn.execute("insert into actions.publications values ('2026-10-31')")
    with psycopg.connect(granted, user=PIPELINE, autocommit=True) as conn:
        conn.execute("insert into core.dim_customers values ('C1', '25-34', 'DE')")
        conn.execute("create table ml.scratch (x int)")
        conn.execute("drop table ml.scratch")


def test_the_bi_role_sees_no_contact_column(granted: str) -> None:
    with psycopg.connect(granted, user=BI, autocommit=True) as conn:
        # information_schema shows a role only the columns it holds a privilege on
        visible = conn.execute("select table_schema || '.' || table_name, column_name from information_schema.columns "
                               "where table_schema not in ('pg_catalog', 'information_schema')").fetchall()
    contact = {"email", "phone", "first_name", "last_name", "birth_date", "contact_address"}
    assert {t for t, _ in visible} >= {"core.dim_customers", "kpi.kpi_customer_health_daily"}
    assert [(t, c) for t, c in visible if c in contact] == []
