"""The row-level rules the warehouse gate no longer repeats are dbt tests on every column they covered.

The gate used to find every *_rate / *_share column of the kpi marts in information_schema; dbt's accepted_range
tests are written per column, so a new rate column without one fails here instead of going unchecked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from proactive_crm.dbt_runner import DBT_PROJECT_DIR

MARTS = DBT_PROJECT_DIR / "models" / "marts"


def _columns(folder: Path) -> dict[tuple[str, str], list[Any]]:
    columns: dict[tuple[str, str], list[Any]] = {}
    for path in sorted(folder.glob("*.yml")):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            for column in model.get("columns", []):
                columns[(model["name"], column["name"])] = column.get("data_tests", [])
    return columns


def _test(tests: list[Any], name: str) -> dict[str, Any] | None:
    for test in tests:
        if test == name:
            return {}
        if isinstance(test, dict) and name in test:
            return test[name] or {}
    return None


def test_every_kpi_rate_and_share_has_a_dbt_range_test_of_zero_to_one():
    rates = {key: tests for key, tests in _columns(MARTS / "kpi").items() if key[1].endswith(("_rate", "_share"))}
    assert len(rates) >= 10
    for (model, column), tests in rates.items():
        test = _test(tests, "accepted_range")
        assert test is not None, f"{model}.{column}: add an accepted_range test (min 0, max 1) in its YAML"
        assert test["arguments"] == {"min_value": 0, "max_value": 1}, f"{model}.{column}: {test}"
        assert (test.get("config") or {}).get("severity", "error") == "error", f"{model}.{column} must fail the night"


def test_dim_customers_has_one_row_and_one_segment_per_customer():
    columns = _columns(MARTS / "core")
    assert _test(columns[("dim_customers", "customer_id")], "unique") == {}
    assert _test(columns[("dim_customers", "rfm_segment")], "not_null") == {}
