"""Rolling-origin backtest: which cut-offs are origins and what each is fitted on (no database)."""

from __future__ import annotations

from datetime import date, timedelta

from ml.backtest import MAX_ORIGINS, no_origin_reason, origins


def test_every_origin_is_fitted_only_on_windows_closed_by_it_and_the_latest_are_kept():
    cutoffs = tuple(date(2007, m, 1) for m in range(1, 13))
    planned = origins(cutoffs, horizon_days=90)
    assert len(planned) == MAX_ORIGINS and [o for o, _ in planned] == list(cutoffs[-MAX_ORIGINS:])
    for origin, fitted in planned:
        assert fitted and all(c + timedelta(days=90) <= origin for c in fitted)


def test_a_single_cut_off_has_no_origin():
    assert origins((date(2000, 12, 1),), horizon_days=30) == []


def test_origins_are_spaced_by_at_least_one_grain_walking_back_from_the_latest():
    # the grocery log's weekly cut-offs are month starts and Mondays: 2007-07-01 (a Sunday) and 2007-07-02 are
    # one window counted twice, so the latest (07-02) is kept and 07-01 skipped
    mondays = [date(2007, 5, 7) + timedelta(weeks=k) for k in range(9)]  # up to 2007-07-02
    cutoffs = tuple(sorted({*mondays, date(2007, 6, 1), date(2007, 7, 1)}))
    planned = [o for o, _ in origins(cutoffs, horizon_days=28, grain="week")]
    assert planned == [date(2007, 6, 11), date(2007, 6, 18), date(2007, 6, 25), date(2007, 7, 2)]
    assert all(b - a >= timedelta(days=7) for a, b in zip(planned, planned[1:], strict=False))


def test_with_the_monthly_grain_consecutive_month_starts_stay_origins():
    cutoffs = (date(2007, 1, 1), date(2007, 2, 1), date(2007, 3, 1), date(2007, 3, 5), date(2007, 4, 1))
    planned = [o for o, _ in origins(cutoffs, horizon_days=28, grain="month")]
    assert planned == [date(2007, 2, 1), date(2007, 3, 1), date(2007, 4, 1)]  # 03-05 is 27 days before 04-01


def test_a_history_without_origin_says_why_with_the_dates():
    # Ta-Feng: orders from 2000-11-01, cut-offs from 2000-12-01 (30 days of history), weekly, 30-day horizon,
    # evaluation cut-off 2001-01-29: every training cut-off is earlier than the first closed window
    cutoffs = (date(2000, 12, 1), date(2000, 12, 4), date(2000, 12, 11), date(2000, 12, 18), date(2000, 12, 25))
    assert origins(cutoffs, horizon_days=30, grain="week") == []
    assert no_origin_reason(cutoffs, horizon_days=30) == (
        "no origin: an origin needs an earlier training cut-off whose 30-day label window has closed by it, and the "
        "earliest training cut-off 2000-12-01 closes its window on 2000-12-31, after the latest training cut-off "
        "2000-12-25 (5 training cut-offs, 2000-12-01 to 2000-12-25)"
    )
