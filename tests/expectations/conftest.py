"""Fixtures of the quality-gate tests: a connection whose quality and mart schemas start empty, and settings with a
``quality:`` section of the test's choosing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from proactive_crm.config import Settings

GATE_SCHEMAS = ("quality", "core", "kpi", "ml")


@pytest.fixture
def qconn(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    for schema in GATE_SCHEMAS:
        conn.execute(f"drop schema if exists {schema} cascade")
    yield conn


def with_quality(settings: Settings, quality: dict[str, Any], **changes: Any) -> Settings:
    """The same settings with another ``quality:`` section (and any other field changed)."""
    return Settings(**{**settings.__dict__, "raw": {**settings.raw, "quality": quality}, **changes})


def results(conn: psycopg.Connection, gate: str) -> list[tuple]:
    return conn.execute(
        "select target, check_name, column_name, severity, success, observed_value from quality.validation_results "
        "where gate = %s order by result_id",
        (gate,),
    ).fetchall()


def failed(conn: psycopg.Connection, gate: str) -> set[tuple[str, str | None, str]]:
    """(check, column, severity) of every failed expectation of the gate."""
    rows = results(conn, gate)
    return {(check, column, severity) for _, check, column, severity, success, _ in rows if success is False}
