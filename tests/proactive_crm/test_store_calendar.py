"""The store-local calendar in Python agrees with PostgreSQL's, daylight-saving days included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import psycopg
import pytest

from proactive_crm.store_calendar import day_end, day_start, local_date, local_dates, nightly_start

# (zone, a day whose local length is not 24 hours): Sydney's DST start (23 h) and end (25 h), Sao Paulo's last
# DST start (midnight skipped: the day starts at 01:00) and end, Berlin's spring change.
DST_DAYS = [
    ("Australia/Sydney", date(2026, 10, 4), 23),
    ("Australia/Sydney", date(2026, 4, 5), 25),
    ("America/Sao_Paulo", date(2018, 11, 4), 23),
    ("America/Sao_Paulo", date(2019, 2, 16), 25),
    ("Europe/Berlin", date(2026, 3, 29), 23),
    ("UTC", date(2026, 3, 29), 24),
]


@pytest.mark.parametrize(("zone", "day", "hours"), DST_DAYS)
def test_a_daylight_saving_day_is_one_day_of_23_or_25_hours(zone, day, hours):
    assert day_end(day, zone) - day_start(day, zone) == timedelta(hours=hours)
    assert local_date(day_start(day, zone), zone) == day
    assert local_date(day_end(day, zone) - timedelta(microseconds=1), zone) == day


@pytest.mark.parametrize(("zone", "day", "hours"), DST_DAYS)
def test_day_start_agrees_with_postgres(conn: psycopg.Connection, zone, day, hours):
    """dbt's store_day_start / store_local_date are `at time zone` in PostgreSQL: the same instants."""
    start, local = conn.execute(
        "select cast(%(day)s as timestamp) at time zone %(zone)s, "
        "cast((%(instant)s::timestamptz at time zone %(zone)s) as date)",
        {"day": day, "zone": zone, "instant": day_end(day, zone) - timedelta(seconds=1)},
    ).fetchone()
    assert start == day_start(day, zone)
    assert local == day


def test_late_evening_orders_count_on_the_local_day():
    instants = pd.Series(["2026-10-31T02:30:00+00:00", "2026-10-31T13:30:00+00:00", "2026-11-01T01:00:00Z"])
    assert local_dates(instants, "America/Sao_Paulo").tolist() == [date(2026, 10, 30), date(2026, 10, 31),
                                                                    date(2026, 10, 31)]
    assert local_dates(instants, "Australia/Sydney").tolist() == [date(2026, 10, 31), date(2026, 11, 1),
                                                                   date(2026, 11, 1)]


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="no time zone"):
        local_date(datetime(2026, 10, 31, 22, 0), "UTC")


def test_the_night_starts_at_two_in_the_store_on_the_next_day():
    start = nightly_start(date(2026, 10, 3), "Australia/Sydney")
    # 02:00 does not exist that night (clocks jump to 03:00): it is read as AEST, like PostgreSQL does
    assert start.astimezone(UTC) == datetime(2026, 10, 3, 16, 0, tzinfo=UTC)
