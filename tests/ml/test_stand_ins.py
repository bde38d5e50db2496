"""The ML tests' stand-in marts have every column of the real dbt models, with the real types.

dbt enforces each mart's contract (its YAML's ``data_type`` per column), so the contract is the real table's schema:
a column the mart gains, loses or retypes makes this test fail until the stand-in follows (it is made from the
contract, so it follows by itself unless someone writes it by hand again).
"""

from __future__ import annotations

import psycopg
import pytest

from ml.config import MLConfig
from tests.dbt_contracts import assert_matches_contract
from tests.ml.conftest import STAND_IN_MODELS


@pytest.mark.parametrize("field", sorted(STAND_IN_MODELS))
def test_stand_in_has_the_columns_and_types_of_the_real_model(warehouse: str, mini_warehouse: MLConfig, field: str):
    with psycopg.connect(warehouse) as conn:
        assert_matches_contract(conn, getattr(mini_warehouse.tables, field), STAND_IN_MODELS[field])
