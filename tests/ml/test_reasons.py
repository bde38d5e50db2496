"""Reason codes: XGBoost's own contributions mapped to phrases (no database)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.features import Feature, design_matrix
from ml.reasons import template_for, top_reasons

SPEC = [
    Feature("days_since_last_order", "numeric", "warehouse", "integer"),
    Feature("count_complaints_90d", "numeric", "warehouse", "bigint"),
    Feature("loyalty_status", "categorical", "warehouse", "text", ("loyal", "new")),
    Feature("average_order_value", "numeric", "warehouse", "double precision"),
]


def test_recency_phrase_names_the_usual_rhythm():
    frame = pd.DataFrame({"days_since_last_order": [64, 3], "hist_recency": [210, 0], "hist_frequency": [10, 0]})
    phrases = template_for("days_since_last_order")(frame, "days_since_last_order").tolist()
    assert phrases == ["no order for 64 days, usually orders every 21", "no order for 3 days"]


def test_unknown_columns_get_phrases_from_the_naming_convention():
    frame = pd.DataFrame(
        {"count_chat_messages_30d": [4.0], "days_since_last_login": [12.0], "is_vip": [1.0], "discount_share": [0.25]}
    )
    assert (
        template_for("count_chat_messages_30d")(frame, "count_chat_messages_30d")[0]
        == "4 chat messages in the last 30 days"
    )
    assert template_for("days_since_last_login")(frame, "days_since_last_login")[0] == "last login 12 days ago"
    assert template_for("is_vip")(frame, "is_vip")[0] == "vip"
    assert template_for("discount_share")(frame, "discount_share")[0] == "discount share 25%"


def test_top_reasons_follow_the_contributions():
    frame = pd.DataFrame(
        {
            "days_since_last_order": [80, 5],
            "count_complaints_90d": [2, 0],
            "loyalty_status": ["new", "loyal"],
            "average_order_value": [30.0, 50.0],
        }
    )
    contribs = np.array([[0.9, 0.4, -0.2, 0.1, 0.0], [-0.5, 0.0, 0.3, -0.1, 0.0]])
    up = top_reasons(contribs, frame, SPEC, 3, "up")
    assert up[0].tolist() == ["no order for 80 days", "2 complaints in the last 90 days", "average order 30"]
    assert up[1].tolist() == ["loyalty: loyal", None, None]  # only features that raise the score qualify
    assert top_reasons(contribs, frame, SPEC, 1, "abs")[1, 0] == "no order for 5 days"


def test_reasons_come_from_xgboost_contributions_of_a_real_model():
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame(
        {
            "days_since_last_order": rng.integers(0, 200, n),
            "count_complaints_90d": rng.integers(0, 3, n),
            "loyalty_status": rng.choice(["new", "loyal"], n),
            "average_order_value": rng.normal(40, 10, n),
        }
    )
    y = (frame.days_since_last_order + 40 * frame.count_complaints_90d + rng.normal(0, 20, n) > 120).astype(float)
    matrix = xgb.DMatrix(design_matrix(frame, SPEC), label=y, enable_categorical=True)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1}, matrix, 40)
    for approx in (False, True):
        contribs = booster.predict(matrix, pred_contribs=True, approx_contribs=approx)
        np.testing.assert_allclose(
            contribs.sum(axis=1), booster.predict(matrix, output_margin=True), rtol=1e-4, atol=1e-4
        )
    contribs = booster.predict(matrix, pred_contribs=True, approx_contribs=True)
    reasons = top_reasons(contribs, frame, SPEC, 3, "up")
    risky = frame.index[(frame.days_since_last_order > 180) & (frame.count_complaints_90d == 0)][0]
    assert reasons[risky, 0].startswith("no order for ")
    noise = {"loyalty: new", "loyalty: loyal"}
    high = booster.predict(matrix) > 0.5  # among customers flagged as at risk, noise is rarely the top reason
    assert np.mean([r in noise for r in reasons[high, 0]]) < 0.05
