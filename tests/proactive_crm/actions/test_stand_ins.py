"""The actions tests' hand-filled customer marts have every column of the real dbt models, with the real types.

dbt enforces the contracts of ``dim_customers`` and ``dim_customer_contacts`` (their YAML's ``data_type`` per column),
so the contract is the real table's schema: a column the mart gains, loses or retypes makes this test fail until the
stand-in follows.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.dbt_contracts import assert_matches_contract
from tests.proactive_crm.actions.conftest import create_customers, customer


@pytest.mark.parametrize(
    ("table", "model"),
    [("core.dim_customers", "dim_customers"), ("restricted.dim_customer_contacts", "dim_customer_contacts")],
)
def test_stand_in_has_the_columns_and_types_of_the_real_model(db: psycopg.Connection, table: str, model: str):
    create_customers(db, [customer(1)])
    assert_matches_contract(db, table, model)
