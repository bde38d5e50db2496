"""The runtime BG/NBD (scipy, no BTYD library) recovers known parameters; optional cross-check with the library."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml import bgnbd


def simulate(n: int, r: float, alpha: float, a: float, b: float, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T = rng.uniform(90, 400, n)
    rows = []
    for i in range(n):
        t, last, x = 0.0, 0.0, 0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x, last = x + 1, t
            if rng.random() < p[i]:
                break
        rows.append((x, last, T[i]))
    return pd.DataFrame(rows, columns=["hist_frequency", "hist_recency", "hist_age"])


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return simulate(6000, r=0.8, alpha=40.0, a=0.9, b=5.0)


def test_fit_recovers_the_generating_parameters(sample):
    params = bgnbd.fit(sample)
    assert params.converged
    assert params.r == pytest.approx(0.8, rel=0.15)
    assert params.alpha == pytest.approx(40.0, rel=0.2)
    assert params.a / (params.a + params.b) == pytest.approx(0.9 / 5.9, rel=0.25)  # mean drop-out chance


def test_grouped_fit_equals_the_row_fit(sample):
    grouped = sample.groupby(["hist_frequency", "hist_recency", "hist_age"]).size().rename("n").reset_index()
    a, b = bgnbd.fit(sample), bgnbd.fit(grouped, weight_column="n")
    assert (a.r, a.alpha, a.a, a.b) == pytest.approx((b.r, b.alpha, b.a, b.b), rel=1e-4)


def test_derived_quantities_behave(sample):
    params = bgnbd.fit(sample)
    x, tx, T = (sample[c].to_numpy(float) for c in ("hist_frequency", "hist_recency", "hist_age"))
    alive = bgnbd.p_alive(params, x, tx, T)
    assert np.all(alive[x == 0] == 1.0)  # no repeat purchase: no chance to have dropped out yet
    assert np.all((alive >= 0) & (alive <= 1))
    # the longer the silence since the last purchase, the less likely alive and the fewer expected purchases
    silent = bgnbd.p_alive(params, np.array([5.0, 5.0]), np.array([100.0, 100.0]), np.array([120.0, 300.0]))
    assert silent[0] > silent[1]
    e30, e90 = (bgnbd.expected_purchases(params, t, x, tx, T) for t in (30.0, 90.0))
    assert np.all(e90 >= e30 - 1e-12)
    none = bgnbd.p_no_purchase(params, 90.0, x, tx, T)
    assert np.all((none > 0) & (none <= 1))


def test_features_are_named_after_the_horizon(sample):
    frame = bgnbd.features(bgnbd.fit(sample), sample.head(5), horizon_days=60)
    assert list(frame.columns) == [
        "bgnbd_p_alive",
        "bgnbd_expected_purchases_60d",
        "bgnbd_p_no_purchase_60d",
        "rhythm_gap_ratio",
    ]


def test_rhythm_is_days_since_the_last_purchase_over_the_customers_mean_gap(sample):
    rows = pd.DataFrame(
        {"hist_frequency": [0.0, 2.0, 4.0], "hist_recency": [0.0, 60.0, 40.0], "hist_age": [50, 90, 70]}
    )
    rhythm = bgnbd.features(bgnbd.fit(sample), rows, horizon_days=30)["rhythm_gap_ratio"].to_numpy()
    assert np.isnan(rhythm[0])  # a single purchase day has no gap yet
    assert rhythm[1:].tolist() == pytest.approx([30 / 30, 30 / 10])  # (T - t_x) / (t_x / x)


def test_agrees_with_the_maintained_library_when_installed(sample):
    pytest.importorskip("pymc_marketing", reason="optional bench extra: pip install -e '.[bench]'")
    import warnings

    from pymc_marketing.clv import BetaGeoModel

    warnings.filterwarnings("ignore")
    data = sample.head(3000).rename(columns={"hist_frequency": "frequency", "hist_recency": "recency", "hist_age": "T"})
    model = BetaGeoModel(data=data.assign(customer_id=np.arange(len(data))))
    model.fit(method="map", progressbar=False)
    fitted = model.fit_summary()
    params = bgnbd.BGNBDParams(*(float(np.asarray(fitted.loc[k]).ravel()[0]) for k in ("r", "alpha", "a", "b")))
    theirs = np.asarray(model.expected_purchases(future_t=90).mean(("chain", "draw"))).ravel()
    ours = bgnbd.expected_purchases(params, 90.0, *(data[c].to_numpy(float) for c in ("frequency", "recency", "T")))
    assert np.max(np.abs(theirs - ours)) < 1e-3
