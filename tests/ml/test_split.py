"""Time split and cold start rules (no database)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ml.config import ColdStart, MLConfig
from ml.split import DataStats, InsufficientHistory, cold_start_reason, plan_split

CFG = MLConfig(models_dir=None, horizon_days=90, min_history_days_before_cutoff=30, max_training_cutoffs=12)  # type: ignore[arg-type]
MONTH_STARTS = [date(y, m, 1) for y in (2025, 2026) for m in range(1, 13)]


def stats(first: date, customers: int = 5000, orders: int = 20000) -> DataStats:
    return DataStats(customers, orders, first, date(2026, 10, 31))


def test_evaluation_cutoff_is_later_than_every_training_cutoff_and_fully_observed():
    run_date = date(2026, 10, 31)
    split = plan_split(MONTH_STARTS, stats(date(2025, 1, 1)), run_date, CFG)
    horizon = timedelta(days=CFG.horizon_days)
    assert split.eval_cutoff == date(2026, 8, 1)
    assert split.eval_cutoff + horizon <= run_date + timedelta(days=1)  # labels fully observed
    assert all(c < split.eval_cutoff for c in split.train_cutoffs)
    assert all(c + horizon <= split.eval_cutoff for c in split.train_cutoffs)  # no label overlaps evaluation
    assert len(split.train_cutoffs) == 12
    assert split.validation_cutoff == split.train_cutoffs[-1]
    assert all(c + horizon <= split.validation_cutoff for c in split.inner_train_cutoffs)


def test_cutoffs_respect_spacing_and_minimum_history():
    cfg = CFG.with_(cutoff_spacing_months=2)
    split = plan_split(MONTH_STARTS, stats(date(2025, 3, 15)), date(2026, 10, 31), cfg)
    assert split.train_cutoffs[0] >= date(2025, 3, 15) + timedelta(days=30)
    months = [c.year * 12 + c.month for c in (*split.train_cutoffs, split.eval_cutoff)]
    assert all((months[-1] - m) % 2 == 0 for m in months)


def test_weekly_grain_adds_mondays_as_cutoffs_and_keeps_windows_apart():
    """Four months of history (Ta-Feng): one monthly training cut-off, five with Mondays as well."""
    days = [date(2000, 11, 1) + timedelta(days=i) for i in range(121)]
    history = [d for d in days if d.day == 1 or d.weekday() == 0]
    cfg = CFG.with_(horizon_days=30)
    run_date = date(2001, 2, 28)
    monthly = plan_split(history, stats(date(2000, 11, 1)), run_date, cfg)
    weekly = plan_split(history, stats(date(2000, 11, 1)), run_date, cfg.with_(as_of_grain="week"))
    assert (monthly.eval_cutoff, monthly.train_cutoffs) == (date(2001, 1, 1), (date(2000, 12, 1),))
    assert weekly.eval_cutoff == date(2001, 1, 29)  # the latest Monday whose 30 days end by run_date + 1
    assert weekly.train_cutoffs == (date(2000, 12, 1), *(date(2000, 12, d) for d in (4, 11, 18, 25)))
    assert all(c + timedelta(days=30) <= weekly.eval_cutoff for c in weekly.train_cutoffs)
    # a stray as-of date that is neither (an old night's scoring date) is never a cut-off
    assert date(2000, 12, 20) not in plan_split([*history, date(2000, 12, 20)], stats(date(2000, 11, 1)), run_date,
                                                cfg.with_(as_of_grain="week")).train_cutoffs


def test_too_short_a_history_is_a_cold_start():
    with pytest.raises(InsufficientHistory, match="no training cut-off"):
        plan_split(MONTH_STARTS, stats(date(2026, 5, 1)), date(2026, 10, 31), CFG)


def test_cold_start_reason_names_each_shortfall():
    cfg = CFG.with_(cold_start=ColdStart(min_customers=500, min_orders=2000, min_history_days=240))
    reason = cold_start_reason(DataStats(120, 300, date(2026, 9, 1), date(2026, 10, 31)), date(2026, 10, 31), cfg)
    assert (
        reason
        == "120 customers with orders, need 500; 300 completed orders, need 2,000; 61 days of order history, need 240"
    )
    assert cold_start_reason(stats(date(2025, 1, 1)), date(2026, 10, 31), cfg) is None
