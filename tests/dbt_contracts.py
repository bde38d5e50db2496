"""Stand-in tables made from the dbt models' contracts, so a test's hand-made mart cannot drift from the real one.

Every mart the actions and ML steps read has an enforced contract (``data_type`` on every column in the model's YAML
under ``dbt_project/models``). A test that needs such a table without building the warehouse creates it from that
contract: all the model's columns with its types, in its order. The test fills the columns it cares about; the others
stay null, as a real row's optional columns may.
"""

from __future__ import annotations

from functools import cache

import psycopg
import yaml

from proactive_crm.config import PROJECT_ROOT

MODELS_DIR = PROJECT_ROOT / "dbt_project" / "models"


@cache
def contract_columns(model: str) -> dict[str, str]:
    """Column name -> data_type of a dbt model, from the YAML that declares it; KeyError when no YAML does."""
    for path in sorted(MODELS_DIR.rglob("*.yml")):
        for node in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models") or []:
            if node.get("name") == model:
                columns = {c["name"]: c["data_type"] for c in node.get("columns") or []}
                if not columns:
                    raise KeyError(f"{path}: model {model} declares no columns")
                return columns
    raise KeyError(f"no YAML under {MODELS_DIR} declares the model {model}")


def create_contract_table(conn: psycopg.Connection, model: str, table: str, primary_key: tuple[str, ...] = ()) -> None:
    """Create ``table`` (schema-qualified) with the columns and types of the dbt model ``model``'s contract."""
    columns = [f"{name} {data_type}" for name, data_type in contract_columns(model).items()]
    if primary_key:
        columns.append(f"primary key ({', '.join(primary_key)})")
    conn.execute(f"create schema if not exists {table.split('.')[0]}")
    conn.execute(f"create table {table} ({', '.join(columns)})")


def table_columns(conn: psycopg.Connection, table: str) -> dict[str, str]:
    """Column name -> data type of a table in the database, in dbt's spelling of the type (``format_type``)."""
    rows = conn.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute "
        "where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum",
        (table,),
    ).fetchall()
    return dict(rows)


def assert_matches_contract(conn: psycopg.Connection, table: str, model: str) -> None:
    """Fail naming the columns a stand-in table lacks, adds or retypes compared with the dbt model's contract."""

    def spelled(columns: dict[str, str]) -> dict[str, str]:  # "numeric(14, 2)" in YAML, "numeric(14,2)" in postgres
        return {name: data_type.replace(" ", "").lower() for name, data_type in columns.items()}

    stand_in, real = spelled(table_columns(conn, table)), spelled(contract_columns(model))
    assert list(stand_in) == list(real), (
        f"{table} is not the shape of the dbt model {model}: missing {sorted(set(real) - set(stand_in))}, "
        f"extra {sorted(set(stand_in) - set(real))} (make the stand-in with create_contract_table)"
    )
    retyped = {name: (stand_in[name], real[name]) for name in real if stand_in[name] != real[name]}
    assert not retyped, f"{table}: types differ from the dbt model {model} (stand-in, real): {retyped}"
