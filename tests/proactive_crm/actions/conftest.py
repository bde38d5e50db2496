"""Fixtures for the actions tests: the default policy, candidate frames by hand, and a tiny hand-made warehouse."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest

from proactive_crm.actions.policy import Policy, load_policy, parse_policy
from proactive_crm.config import PROJECT_ROOT
from tests.dbt_contracts import create_contract_table

RUN_DATE = date(2026, 10, 31)
STORE_TZ = "Europe/Berlin"
POLICY_FILE = PROJECT_ROOT / "config" / "contact_policy.yml"


@pytest.fixture
def policy() -> Policy:
    return load_policy(path=POLICY_FILE)


@pytest.fixture
def policy_with() -> Callable[..., Policy]:
    """The default policy with some keys changed: policy_with(("frequency", "max_contacts_per_7_days"), 1)."""
    import yaml

    def make(*changes: tuple[tuple[str, ...], Any]) -> Policy:
        data = yaml.safe_load(POLICY_FILE.read_text())
        for path, value in changes:
            target = data
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        return parse_policy(data, Path("test-policy.yml"))

    return make


CANDIDATE_DEFAULTS: dict[str, Any] = {
    "action_type": "churn_prevention",
    "trigger_code": "high_churn_risk",
    "trigger_detail": "churn risk 0.70 (rules): no order for 60 days",
    "trigger_date": date(2026, 9, 1),
    "base_value": 200.0,
    "product_ids": None,
    "model_reason": None,
    "model_version": None,
    "email": "anna.muster@example.de",
    "phone": "+4915112345678",
    "first_name": "Anna",
    "has_email_consent": True,
    "has_sms_consent": True,
    "time_zone": "Europe/Berlin",
    "preferred_contact_hour": 18,
    "segment": "loyal_customers",
    "pareto_class": "middle",
    "days_since_last_order": 60,
    "count_orders": 4,
    "total_revenue": 400.0,
    "value_90d": 100.0,
    "churn_risk": 0.7,
    "churn_reason": None,
    "value_reason": None,
    "next_purchase_reason": None,
    "churn_version": "rules",
    "value_version": "rules",
    "next_purchase_version": "rules",
    "contacts_7d": 0,
    "last_same_type_date": None,
    "suppressed_email": None,
    "suppressed_sms": None,
    "suppressed_call_center": None,
}


def candidates(*rows: dict[str, Any]) -> pd.DataFrame:
    """A candidate frame as decide.frame_query returns it; unspecified columns take CANDIDATE_DEFAULTS."""
    records = []
    for i, row in enumerate(rows):
        record = {**CANDIDATE_DEFAULTS, "customer_id": f"T{i:05d}", **row}
        records.append(record)
    return pd.DataFrame.from_records(records)


@pytest.fixture
def db(warehouse: str) -> Iterator[psycopg.Connection]:
    """The test database with the schemas the actions step touches emptied."""
    with psycopg.connect(warehouse, autocommit=True) as conn:
        for schema in ("core", "restricted", "intermediate", "staging", "ml", "actions", "quality"):
            conn.execute(f"drop schema if exists {schema} cascade")
        yield conn


CUSTOMER_DEFAULTS: dict[str, Any] = {
    "first_name": "Anna",
    "email": None,
    "phone": None,
    "birth_date": None,
    "time_zone": "Europe/Berlin",
    "has_email_consent": True,
    "has_sms_consent": False,
    "first_order_date": date(2025, 1, 10),
    "last_order_date": date(2026, 8, 1),
    "count_orders": 6,
    "total_revenue": 600,
    "average_order_value": 100,
    "days_since_last_order": 91,
    "avg_days_between_purchases": 30.0,
    "rfm_segment": "at_risk",
    "pareto_class": "pareto",
    "lifecycle_status": "at_risk",
    "preferred_contact_hour": 19,
}


CONTACT_COLUMNS = ("first_name", "email", "phone", "birth_date")


def create_customers(conn: psycopg.Connection, rows: list[dict[str, Any]]) -> None:
    """core.dim_customers and restricted.dim_customer_contacts made from the models' contracts (every column, the
    ones the actions step reads filled, the others null), and no other mart: the sparse case."""
    create_contract_table(conn, "dim_customer_contacts", "restricted.dim_customer_contacts", ("customer_id",))
    create_contract_table(conn, "dim_customers", "core.dim_customers", ("customer_id",))
    for table, columns in (
        ("restricted.dim_customer_contacts", ["customer_id", *CONTACT_COLUMNS]),
        ("core.dim_customers", ["customer_id", *(c for c in CUSTOMER_DEFAULTS if c not in CONTACT_COLUMNS)]),
    ):
        with conn.cursor() as cur:
            cur.executemany(
                f"insert into {table} ({', '.join(columns)}) values ({', '.join(['%s'] * len(columns))})",
                [tuple({**CUSTOMER_DEFAULTS, **row}[c] for c in columns) for row in rows],
            )


def customer(i: int, **changes: Any) -> dict[str, Any]:
    return {"customer_id": f"C{i:07d}", "email": f"kunde{i}@example.de", **changes}
