"""Calendar of the simulated window: day index <-> date, time-zone offsets, timestamp and money formatting.

Times are held as integer seconds (epoch seconds, or seconds of a UTC day) so the day loop stays in numpy;
text is produced only when a partition is written.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

DAY = 86_400
HOUR = 3_600
EPOCH = date(1970, 1, 1)


class Clock:
    """Day ``d`` of the window is ``start + d`` days; offsets[z, d] is zone z's UTC offset (seconds) that day."""

    def __init__(self, start: date, days: int, zones: tuple[str, ...]) -> None:
        self.start = start
        self.days = days
        self.zones = zones
        self.day0_epoch = (start - EPOCH).days * DAY
        # The offset at local noon is exact for every hour of the day except around the 2 a.m. DST switch,
        # which is precise enough for placing activity around a customer's preferred hour.
        self.offsets = np.array(
            [[_noon_offset(start + timedelta(days=d), zone) for d in range(days)] for zone in zones],
            dtype=np.int64,
        )

    def date(self, d: int) -> date:
        return self.start + timedelta(days=d)

    def date_str(self, d: int) -> str:
        return self.date(d).isoformat()

    def epoch(self, d: int) -> int:
        """Epoch seconds at 00:00 UTC of day d."""
        return self.day0_epoch + d * DAY

    def weekday(self, d: int) -> int:
        return self.date(d).weekday()

    def day_of_year(self, d: int) -> int:
        return self.date(d).timetuple().tm_yday

    def local_to_utc_seconds(self, d: int | np.ndarray, zone: np.ndarray, local_seconds: np.ndarray) -> np.ndarray:
        """Seconds of the UTC day d for wall-clock times in the given zones, wrapped into that UTC day.

        Wrapping keeps every event of the simulated day inside its UTC partition, while its wall-clock time
        in the customer's zone stays where the customer's habits put it.
        """
        return (local_seconds - self.offsets[zone, d]) % DAY


def _noon_offset(day: date, zone: str) -> int:
    offset = datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(zone)).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def iso_utc(epoch_seconds: np.ndarray) -> list[str]:
    """ISO-8601 with an explicit UTC offset, e.g. 2026-03-04T09:15:00+00:00."""
    text = np.datetime_as_string(np.asarray(epoch_seconds, dtype="int64").astype("datetime64[s]"), unit="s")
    return [t + "+00:00" for t in text.tolist()]


def iso_naive(epoch_seconds: np.ndarray) -> list[str]:
    """ISO-8601 without an offset (a wall-clock time the reader must place in a zone)."""
    text = np.datetime_as_string(np.asarray(epoch_seconds, dtype="int64").astype("datetime64[s]"), unit="s")
    return text.tolist()


def iso_dates(epoch_days: np.ndarray) -> list[str]:
    return np.datetime_as_string(np.asarray(epoch_days, dtype="int64").astype("datetime64[D]")).tolist()


def money(cents: np.ndarray) -> list[str]:
    """Integer cents -> '12.99'. Money is integer cents throughout, so totals add up exactly."""
    return [f"{c // 100}.{c % 100:02d}" if c >= 0 else f"-{-c // 100}.{-c % 100:02d}" for c in cents.tolist()]


def bools(values: np.ndarray) -> list[str]:
    return np.where(values, "true", "false").tolist()
