"""Which store time zone the warehouse's incremental tables were built with, and what to do when it changes.

Every date in the warehouse is a store-local date (proactive_crm/store_calendar.py, dbt's ``store_local_date``).
Incremental models only recompute their last few days each night, so after ``store_time_zone`` changes in
pipeline.yml their older rows would keep the old zone's days next to new rows in the new zone's days.
``ops.warehouse_calendar`` remembers the zone of the last successful build; on a change the night either rebuilds
every incremental model (``on_store_time_zone_change: rebuild``, the default) or refuses (``refuse``).

A warehouse built before this table existed counted UTC days: it is treated as built in ``UTC``.
"""

from __future__ import annotations

import logging

import psycopg

from proactive_crm.config import Settings

log = logging.getLogger(__name__)

CALENDAR_DDL = """
create schema if not exists ops;
create table if not exists ops.warehouse_calendar (
    is_current boolean primary key default true check (is_current),
    store_time_zone text not null,
    recorded_at timestamptz not null default now()
);
comment on table ops.warehouse_calendar is 'The store time zone whose local days the warehouse''s incremental '
    'tables were built with (proactive_crm/warehouse_calendar.py): a change triggers a full refresh or a refusal.';
"""

# Days before store-local days were introduced: the zone every earlier build used.
ZONE_OF_UNRECORDED_BUILDS = "UTC"
# A table every warehouse build creates: its presence tells an earlier build from an empty warehouse.
BUILT_MARKER = ("core", "fct_orders")


class StoreTimeZoneChanged(RuntimeError):
    """store_time_zone differs from the zone the warehouse was built with, and the configuration says refuse."""


def built_zone(conn: psycopg.Connection) -> str | None:
    """The zone of the last successful build; ``UTC`` for an unrecorded earlier build; None for an empty warehouse."""
    conn.execute(CALENDAR_DDL)
    row = conn.execute("select store_time_zone from ops.warehouse_calendar").fetchone()
    if row is not None:
        return str(row[0])
    built = conn.execute("select to_regclass(%s) is not null", (".".join(BUILT_MARKER),)).fetchone()
    return ZONE_OF_UNRECORDED_BUILDS if built and built[0] else None


def needs_full_refresh(conn: psycopg.Connection, settings: Settings) -> bool:
    """True when the incremental tables were built in another zone and the configuration says rebuild.

    Raises ``StoreTimeZoneChanged`` when it says refuse: nothing is built and the published tables stay as they are.
    """
    previous = built_zone(conn)
    if previous is None or previous == settings.store_time_zone:
        return False
    if settings.on_store_time_zone_change == "refuse":
        raise StoreTimeZoneChanged(
            f"{settings.config_path}: store_time_zone is {settings.store_time_zone!r}, but the warehouse's days were "
            f"built in {previous!r} (ops.warehouse_calendar). Its incremental tables would mix both calendars. "
            f"Either set store_time_zone back to {previous!r}, or set on_store_time_zone_change: rebuild for the "
            f"next night, which then rebuilds every incremental model (dbt build --full-refresh)."
        )
    log.warning(
        "store_time_zone changed from %s to %s (ops.warehouse_calendar): rebuilding every incremental model with "
        "dbt build --full-refresh so all days are %s days",
        previous,
        settings.store_time_zone,
        settings.store_time_zone,
    )
    return True


def record_zone(conn: psycopg.Connection, store_time_zone: str) -> None:
    """Remember the zone of a successful build (the caller commits)."""
    conn.execute(CALENDAR_DDL)
    conn.execute(
        "insert into ops.warehouse_calendar (store_time_zone) values (%s) "
        "on conflict (is_current) do update set store_time_zone = excluded.store_time_zone, recorded_at = now()",
        (store_time_zone,),
    )
