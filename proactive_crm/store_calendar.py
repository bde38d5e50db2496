"""One definition of "day" and "month" for the Python side: the store-local calendar of ``store_time_zone``.

The same definition as dbt's ``store_local_date`` / ``store_day_start`` macros (dbt_project/macros/dates.sql):
timestamps stay UTC in storage, and every business day, KPI day or month, feature or label window and as-of
boundary is a calendar date in the store's zone, so the marts agree with the retailer's own books. A
daylight-saving day lasts 23 or 25 hours and is still one day. A local time a change skips (02:30 on a spring
morning in Europe, 00:00 on a Brazilian DST start before 2019) is read with the offset before the change, as
PostgreSQL's ``timestamp at time zone`` does.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # pandas only when a Series is converted: the DAG callbacks import this module at parse time
    import pandas as pd

# The nightly DAG's schedule: 02:00 store time on the day after the business day it processes.
NIGHTLY_START = time(2, 0)


def local_date(instant: datetime, store_time_zone: str) -> date:
    """The store-local calendar date of an instant (an aware datetime)."""
    if instant.tzinfo is None:
        raise ValueError(f"{instant!r} has no time zone: pass an aware (UTC) datetime")
    return instant.astimezone(ZoneInfo(store_time_zone)).date()


def local_dates(instants: pd.Series, store_time_zone: str) -> pd.Series:
    """Store-local calendar dates (``datetime.date``) of a Series of instants (parsed as UTC when naive strings)."""
    import pandas as pd

    utc = pd.to_datetime(instants, utc=True)
    return utc.dt.tz_convert(store_time_zone).dt.date


def day_start(day: date, store_time_zone: str) -> datetime:
    """The instant (UTC) the store-local date ``day`` starts."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(store_time_zone)).astimezone(UTC)


def day_end(day: date, store_time_zone: str) -> datetime:
    """The first instant (UTC) after the store-local date ``day``: the start of the next one."""
    return day_start(day + timedelta(days=1), store_time_zone)


def month_start(day: date) -> date:
    """The first day of the store-local month of a store-local date."""
    return day.replace(day=1)


def nightly_start(run_date: date, store_time_zone: str) -> datetime:
    """When the nightly run for ``run_date`` starts: 02:00 store time on the following day (aware, store zone)."""
    return datetime.combine(run_date + timedelta(days=1), NIGHTLY_START, tzinfo=ZoneInfo(store_time_zone))
