"""Gamma-Gamma spend (ml/gammagamma.py): parameters recovered on simulated customers, shrinkage, no fit -> own mean."""

from __future__ import annotations

import numpy as np
import pytest

from ml import gammagamma


def simulate(n: int, p: float, q: float, gamma: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1.0 / gamma, size=n)  # each customer's rate of spend
    x = rng.integers(1, 12, size=n)
    mean = np.array([rng.gamma(p, 1.0 / v, size=k).mean() for v, k in zip(nu, x, strict=True)])
    return x.astype(float), mean


def test_population_mean_spend_is_recovered():
    p, q, gamma = 6.0, 4.0, 15.0
    x, mean = simulate(6000, p, q, gamma)
    fitted = gammagamma.fit(x, mean)
    assert fitted is not None and fitted.converged and fitted.n_customers == 6000
    truth = p * gamma / (q - 1)
    assert fitted.p * fitted.gamma / (fitted.q - 1) == pytest.approx(truth, rel=0.1)


def test_expected_spend_shrinks_a_customers_mean_towards_the_population():
    x, mean = simulate(4000, 6.0, 4.0, 15.0, seed=1)
    fitted = gammagamma.fit(x, mean)
    population = fitted.p * fitted.gamma / (fitted.q - 1)
    one, many = gammagamma.expected_spend(fitted, np.array([1.0, 20.0]), np.array([300.0, 300.0]))
    assert population < one < many < 300.0  # fewer purchases: pulled further towards the population mean
    first_timer = gammagamma.expected_spend(fitted, np.array([0.0]), np.array([300.0]))[0]
    assert first_timer == pytest.approx(population)


def test_too_few_repeat_customers_fit_nothing_and_each_keeps_their_own_mean():
    assert gammagamma.fit(np.array([0.0, 1.0, 2.0]), np.array([10.0, 20.0, 30.0])) is None
    spend = gammagamma.expected_spend(None, np.array([0.0, 3.0]), np.array([12.5, np.nan]))
    assert spend.tolist() == [12.5, 0.0]
