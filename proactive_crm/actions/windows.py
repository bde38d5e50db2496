"""When an action may go out: the customer's preferred contact hour, inside the allowed hours, in their time zone.

The send day is the day after the business day (the run starts at 02:00 store time that day). ``send_after`` is
the preferred contact hour (``default_hour`` when unknown) moved into the channel's window [earliest, latest) in
the customer's zone, converted to UTC, and never earlier than ``lead_hours`` after the decision: a customer whose
slot has already passed at decision time (far east of the store) gets the next allowed hour, possibly the next day.
``expires_at`` is ``send_after`` plus the action type's ``expires_after_hours``.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from proactive_crm.actions.policy import Policy
from proactive_crm.store_calendar import nightly_start


def decision_time(run_date: date, store_time_zone: str) -> datetime:
    """02:00 store time on the day after the business day, when the nightly run starts (UTC)."""
    return nightly_start(run_date, store_time_zone).astimezone(UTC)


def _zone(name: str, fallback: str) -> str:
    try:
        ZoneInfo(str(name))
        return str(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def _next_allowed(not_before: datetime, zone: ZoneInfo, earliest: int, latest: int) -> datetime:
    local = not_before.astimezone(zone)
    start = local.replace(minute=0, second=0, microsecond=0)
    if start < local:
        start += timedelta(hours=1)
    if start.hour < earliest:
        start = start.replace(hour=earliest)
    elif start.hour >= latest:
        start = (start + timedelta(days=1)).replace(hour=earliest)
    naive = start.replace(tzinfo=None)
    return pd.Timestamp(naive).tz_localize(zone.key, nonexistent="shift_forward").tz_convert("UTC").to_pydatetime()


def send_windows(
    frame: pd.DataFrame, channels: np.ndarray, policy: Policy, run_date: date, store_time_zone: str
) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """send_after and expires_at (UTC) per row with a channel, and the zone used (NaT / None elsewhere)."""
    send_after = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    zones = np.array([_zone(z, store_time_zone) for z in frame["time_zone"].fillna(store_time_zone)], dtype=object)
    has_channel = pd.notna(channels) & (channels != None)  # noqa: E711 - object array of names and None
    if not has_channel.any():
        return send_after, send_after.copy(), zones
    earliest = np.array([policy.channels[c].window.earliest_hour if c else 0 for c in channels])
    latest = np.array([policy.channels[c].window.latest_hour if c else 24 for c in channels])
    preferred = pd.to_numeric(frame["preferred_contact_hour"], errors="coerce").fillna(policy.default_hour)
    hour = np.clip(preferred.to_numpy(dtype=float), earliest, latest - 1).astype(int)
    send_day = pd.Timestamp(run_date + timedelta(days=1))
    not_before = decision_time(run_date, store_time_zone) + timedelta(hours=policy.lead_hours)
    for zone in np.unique(zones[has_channel]):
        rows = np.flatnonzero(has_channel & (zones == zone))
        local = pd.DatetimeIndex(send_day + pd.to_timedelta(hour[rows], unit="h"))
        utc = local.tz_localize(zone, nonexistent="shift_forward", ambiguous=False).tz_convert("UTC")
        send_after.iloc[rows] = utc
        late = np.flatnonzero(utc < pd.Timestamp(not_before))
        for i in late:  # rare: zones east of the store
            row = rows[i]
            send_after.iloc[row] = _next_allowed(not_before, ZoneInfo(zone), earliest[row], latest[row])
    hours = frame["action_type"].map({t: a.expires_after_hours for t, a in policy.action_types.items()})
    expires_at = send_after + pd.to_timedelta(hours.fillna(72).to_numpy(), unit="h")
    expires_at[~has_channel] = pd.NaT
    return send_after, expires_at, zones


def local_hour(timestamps: pd.Series, zones: np.ndarray) -> np.ndarray:
    """Hour of day of UTC timestamps in each row's zone (NaN where missing)."""
    out = np.full(len(timestamps), math.nan)
    for zone in np.unique(zones.astype(str)):
        rows = np.flatnonzero(zones.astype(str) == zone)
        values = timestamps.iloc[rows]
        ok = values.notna().to_numpy()
        out[rows[ok]] = values[ok].dt.tz_convert(zone).dt.hour.to_numpy()
    return out
