"""Least-privilege database roles, created and granted by the project: ``python -m proactive_crm roles``.

- ``crm_pipeline`` owns and writes everything: every schema of the project, every table and sequence in it.
- ``crm_bi`` reads the ``core`` dimensions and facts (no contact details: they are in ``restricted``), the ``kpi``
  marts and the two ``actions`` effectiveness marts; no ``raw``, staging, intermediate, snapshots, ML, quality,
  decisions or outbound tables.
- ``crm_outbound`` reads only the published outbound tables (``actions.outbound_email``, ``actions.outbound_sms``,
  ``actions.call_center_tasks``) and ``actions.publications`` (to know a batch is complete). Responses come back as
  landing files (the ``action_responses`` source), so it writes nothing in the warehouse.

Idempotent, and safe when several databases of one server run it (roles are cluster-wide: creation tolerates a
concurrent creator). Roles get LOGIN and no password: the project never holds one (README "Privacy" says how to
give each role its credentials). Default privileges make tables the pipeline's user creates later in ``core`` and
``kpi`` readable by ``crm_bi``; the actions marts, which dbt re-creates each night, are granted by their post-hook
(``grant_select_if_role``), and the outbound tables persist (rows are replaced, not the tables).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

PIPELINE, BI, OUTBOUND = "crm_pipeline", "crm_bi", "crm_outbound"
ROLES = (PIPELINE, BI, OUTBOUND)

SCHEMAS = ("raw", "restricted", "staging", "intermediate", "snapshots", "core", "kpi", "ml", "actions",
           "action_triggers", "quality", "ops")
BI_SCHEMAS = ("core", "kpi")  # every table, now and later
BI_TABLES = ("actions.action_effectiveness", "actions.action_outcomes")
OUTBOUND_TABLES = ("actions.outbound_email", "actions.outbound_sms", "actions.call_center_tasks",
                   "actions.publications")

CREATE_ROLE = sql.SQL("""
do $$
begin
    if not exists (select from pg_roles where rolname = {role}) then
        begin
            execute format('create role %I login', {role});
        exception when duplicate_object or unique_violation then
            null;  -- another database of this server created it a moment ago
        end;
    end if;
end
$$
""")


def ensure_roles(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Create the roles if needed and (re)apply every grant in the connected database; returns the grants made."""
    granted: dict[str, list[str]] = {role: [] for role in ROLES}
    for role in ROLES:
        conn.execute(CREATE_ROLE.format(role=sql.Literal(role)))
    database = conn.info.dbname
    conn.execute(sql.SQL("grant connect, temporary, create on database {} to {}").format(
        sql.Identifier(database), sql.Identifier(PIPELINE)))
    for role in (BI, OUTBOUND):
        conn.execute(
            sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), sql.Identifier(role))
        )
    for schema in SCHEMAS:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        ident = sql.Identifier(schema)
        conn.execute(sql.SQL("grant all on schema {} to {}").format(ident, sql.Identifier(PIPELINE)))
        conn.execute(sql.SQL("grant all on all tables in schema {} to {}").format(ident, sql.Identifier(PIPELINE)))
        conn.execute(sql.SQL("grant all on all sequences in schema {} to {}").format(ident, sql.Identifier(PIPELINE)))
        conn.execute(sql.SQL("alter default privileges in schema {} grant all on tables to {}").format(
            ident, sql.Identifier(PIPELINE)))
        conn.execute(sql.SQL("alter default privileges in schema {} grant all on sequences to {}").format(
            ident, sql.Identifier(PIPELINE)))
        granted[PIPELINE].append(f"{schema}.*")
    for schema in BI_SCHEMAS:
        ident = sql.Identifier(schema)
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(ident, sql.Identifier(BI)))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(ident, sql.Identifier(BI)))
        conn.execute(sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(
            ident, sql.Identifier(BI)))
        granted[BI].append(f"{schema}.*")
    for role, tables in ((BI, BI_TABLES), (OUTBOUND, OUTBOUND_TABLES)):
        conn.execute(sql.SQL("grant usage on schema actions to {}").format(sql.Identifier(role)))
        for table in tables:
            if conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is not None:
                schema, name = table.split(".")
                conn.execute(sql.SQL("grant select on {} to {}").format(
                    sql.Identifier(schema, name), sql.Identifier(role)))
                granted[role].append(table)
    return granted
