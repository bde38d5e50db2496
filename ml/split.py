"""Time splits and the cold-start rule: which cut-offs train, which one evaluates, and whether there is enough data.

Every label window is ``[cutoff, cutoff + horizon)``. Cut-offs are the feature table's history as-of dates: month
starts, and Mondays too with the weekly grain (``warehouse.as_of_grain``). The evaluation cut-off is the latest one
whose window is fully observed by the run (``cutoff + horizon <= run_date + 1``); training cut-offs are earlier
ones whose windows end on or before the evaluation cut-off, so no training label overlaps the evaluation period.
The last training cut-off doubles as the validation cut-off (early stopping, BG/NBD feature choice) for a model
fitted on the cut-offs whose windows end before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from ml.config import MLConfig


class InsufficientHistory(RuntimeError):
    """Too little data to train: the message is the cold-start reason shown in summaries and score rows."""


@dataclass(frozen=True)
class DataStats:
    customers_with_orders: int
    completed_orders: int
    first_order_date: date | None
    last_order_date: date | None


@dataclass(frozen=True)
class TimeSplit:
    train_cutoffs: tuple[date, ...]
    eval_cutoff: date
    observed_until: date  # first day not observed: run_date + 1
    validation_cutoff: date | None
    inner_train_cutoffs: tuple[date, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "train_cutoffs": [d.isoformat() for d in self.train_cutoffs],
            "eval_cutoff": self.eval_cutoff.isoformat(),
            "observed_until": self.observed_until.isoformat(),
            "validation_cutoff": self.validation_cutoff.isoformat() if self.validation_cutoff else None,
            "inner_train_cutoffs": [d.isoformat() for d in self.inner_train_cutoffs],
        }


def cold_start_reason(stats: DataStats, run_date: date, cfg: MLConfig) -> str | None:
    """Why the models cannot be trained yet, or None when the data suffices."""
    need = cfg.cold_start
    problems = []
    if stats.customers_with_orders < need.min_customers:
        problems.append(f"{stats.customers_with_orders:,} customers with orders, need {need.min_customers:,}")
    if stats.completed_orders < need.min_orders:
        problems.append(f"{stats.completed_orders:,} completed orders, need {need.min_orders:,}")
    history = (run_date - stats.first_order_date).days + 1 if stats.first_order_date else 0
    if history < need.min_history_days:
        problems.append(f"{history} days of order history, need {need.min_history_days}")
    return "; ".join(problems) if problems else None


def _months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _spaced(candidates: list[date], anchor: date, every: int) -> list[date]:
    return [d for d in candidates if _months_between(d, anchor) % every == 0]


def is_history_date(day: date, grain: str) -> bool:
    """A month start, or with the weekly grain also a Monday (the dbt macro is_history_as_of_date)."""
    return day.day == 1 or (grain == "week" and day.weekday() == 0)


def plan_split(as_of_dates: Iterable[date], stats: DataStats, run_date: date, cfg: MLConfig) -> TimeSplit:
    """Choose cut-offs among the history as-of dates the feature table holds (month starts; Mondays too, weekly)."""
    if stats.first_order_date is None:
        raise InsufficientHistory("no completed orders yet")
    observed_until = run_date + timedelta(days=1)
    horizon = timedelta(days=cfg.horizon_days)
    earliest = stats.first_order_date + timedelta(days=cfg.min_history_days_before_cutoff)
    eligible = sorted({d for d in as_of_dates if is_history_date(d, cfg.as_of_grain) and d >= earliest})
    evaluable = [d for d in eligible if d + horizon <= observed_until]
    if not evaluable:
        raise InsufficientHistory(
            f"no {cfg.as_of_grain}-start cut-off between {earliest} and {observed_until - horizon} with a fully "
            f"observed {cfg.horizon_days}-day label window"
        )
    eval_cutoff = evaluable[-1]
    train = _spaced([d for d in eligible if d + horizon <= eval_cutoff], eval_cutoff, cfg.cutoff_spacing_months)
    train = train[-cfg.max_training_cutoffs :]
    if not train:
        raise InsufficientHistory(
            f"no training cut-off whose {cfg.horizon_days}-day label window ends by the evaluation cut-off "
            f"{eval_cutoff} (first eligible cut-off {earliest})"
        )
    validation = train[-1]
    inner = [d for d in train if d + horizon <= validation]
    return TimeSplit(
        train_cutoffs=tuple(train),
        eval_cutoff=eval_cutoff,
        observed_until=observed_until,
        validation_cutoff=validation if inner else None,
        inner_train_cutoffs=tuple(inner),
    )
