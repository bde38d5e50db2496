"""Rolling-origin backtest: which cut-offs are origins and what each is fitted on (no database)."""

from __future__ import annotations

from datetime import date, timedelta

from ml.backtest import MAX_ORIGINS, origins


def test_every_origin_is_fitted_only_on_windows_closed_by_it_and_the_latest_are_kept():
    cutoffs = tuple(date(2007, m, 1) for m in range(1, 13))
    planned = origins(cutoffs, horizon_days=90)
    assert len(planned) == MAX_ORIGINS and [o for o, _ in planned] == list(cutoffs[-MAX_ORIGINS:])
    for origin, fitted in planned:
        assert fitted and all(c + timedelta(days=90) <= origin for c in fitted)


def test_a_single_cut_off_has_no_origin():
    assert origins((date(2000, 12, 1),), horizon_days=30) == []
