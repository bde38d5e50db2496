"""Reason codes: the three features that moved a customer's score most, as phrases a call-centre agent can read.

Contributions are XGBoost's own (``pred_contribs``: exact TreeSHAP, or the much faster path attribution with
``approx_contribs``). Phrases describe the customer's value of the feature ("no order for 64 days, usually orders
every 21"); known mart columns have hand-written templates, any other column gets one from the naming convention
(``count_<noun>_<n>d``, ``days_since_<event>``, ``is_``/``has_``, ``*_rate``/``*_share``), so a new mart column
needs no code to be explained. Phrases are built per feature over whole arrays, not per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from ml.features import Feature

Template = Callable[[pd.DataFrame, str], pd.Series]


def _int(values: pd.Series) -> pd.Series:
    return values.round().astype("Int64").astype(str)


def _money(values: pd.Series) -> pd.Series:
    return values.round(0).astype("Int64").astype(str)


def _pct(values: pd.Series) -> pd.Series:
    return (values * 100).round().astype("Int64").astype(str) + "%"


def _plural(values: pd.Series, one: str, many: str) -> pd.Series:
    return _int(values) + np.where(values.round() == 1, f" {one}", f" {many}")


def _typical_gap(frame: pd.DataFrame) -> pd.Series:
    if {"hist_recency", "hist_frequency"} <= set(frame.columns):
        freq = frame["hist_frequency"].astype("float64")
        return (frame["hist_recency"].astype("float64") / freq.where(freq > 0)).round()
    return pd.Series(np.nan, index=frame.index)


def _days_since_last_order(frame: pd.DataFrame, column: str) -> pd.Series:
    days = frame[column].astype("float64")
    if column == "hist_days_since_last":  # counted from the as-of date; the mart counts from the day before
        days = days - 1
    gap = _typical_gap(frame)
    text = "no order for " + _int(days) + " days"
    usual = ", usually orders every " + _int(gap)
    return text.where(gap.isna(), text + usual).where(days.notna(), "no completed order yet")


def _count(noun_one: str, noun_many: str, suffix: str = "") -> Template:
    def phrase(frame: pd.DataFrame, column: str) -> pd.Series:
        return _plural(frame[column].astype("float64").fillna(0), noun_one, noun_many) + suffix

    return phrase


def _fmt(prefix: str, kind: Callable[[pd.Series], pd.Series], suffix: str = "", none: str | None = None) -> Template:
    def phrase(frame: pd.DataFrame, column: str) -> pd.Series:
        values = frame[column]
        text = prefix + kind(values.astype("float64")) + suffix
        return text.where(values.notna(), none or f"{prefix.strip()} unknown")

    return phrase


def _signed(up: str, down: str) -> Template:
    def phrase(frame: pd.DataFrame, column: str) -> pd.Series:
        values = frame[column].astype("float64")
        return pd.Series(
            np.where(values > 0, up, np.where(values < 0, down, f"no change in {up.split()[0]} pace")),
            index=frame.index,
        )

    return phrase


def _label(prefix: str) -> Template:
    def phrase(frame: pd.DataFrame, column: str) -> pd.Series:
        values = frame[column]
        return (prefix + values.astype("object").fillna("none").astype(str)).astype(str)

    return phrase


def _flag(yes: str, no: str) -> Template:
    def phrase(frame: pd.DataFrame, column: str) -> pd.Series:
        values = frame[column].astype("float64")
        return pd.Series(np.where(values > 0, yes, no), index=frame.index)

    return phrase


def _due(frame: pd.DataFrame, column: str) -> pd.Series:
    days = frame[column].astype("float64")
    due = "replenishment due in " + _int(days.clip(lower=0)) + " days"
    overdue = "replenishment overdue by " + _int(-days) + " days"
    return due.where(days >= 0, overdue).where(days.notna(), "no replenishment pattern yet")


def _category_since(frame: pd.DataFrame, column: str) -> pd.Series:
    category = frame["category"].astype(str) if "category" in frame else "this category"
    return "last bought " + category + " " + _int(frame[column].astype("float64")) + " days ago"


def _category_gap(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column].astype("float64")
    category = frame["category"].astype(str) if "category" in frame else "it"
    text = "usually buys " + category + " every " + _int(values) + " days"
    return text.where(values.notna(), "bought " + category + " once so far")


def _category_name(frame: pd.DataFrame) -> pd.Series | str:
    return frame["category"].astype(str) if "category" in frame else "this category"


def _category_rhythm(frame: pd.DataFrame, column: str) -> pd.Series:
    """'bought coffee 25 days ago, usually every 21' (or '..., one pack lasts about 30')."""
    since = _int(frame["cat_days_since_last"].astype("float64"))
    text = "bought " + _category_name(frame) + " " + since + " days ago"
    if column == "cat_gap_ratio":
        gap = frame["cat_mean_gap_days"].astype("float64")
        return (text + ", usually every " + _int(gap)).where(gap.notna(), text + " (first purchase)")
    supply = frame["cat_last_supply_days"].astype("float64")
    return (text + ", the pack lasts about " + _int(supply) + " days").where(supply > 0, text)


def replenishment_phrase(frame: pd.DataFrame) -> pd.Series:
    """Per customer and category: 'bought coffee 25 days ago, usually every 21 days' (or the pack's life)."""
    frame = frame.reset_index(drop=True)
    rhythm = _category_rhythm(frame, "cat_gap_ratio") + " days"
    pack = _category_rhythm(frame, "cat_due_ratio")
    return rhythm.where(frame["cat_mean_gap_days"].notna(), pack)


def _category_share(frame: pd.DataFrame, column: str) -> pd.Series:
    return _pct(frame[column].astype("float64")) + " of purchase days include " + _category_name(frame)


def _score_of_five(label: str) -> Template:
    return _fmt(f"RFM {label} score ", _int, " of 5", f"no RFM {label} score")


def _category_due(frame: pd.DataFrame, column: str) -> pd.Series:
    days = frame[column].astype("float64")
    runs_out = "last pack lasts about " + _int(days.clip(lower=0)) + " more days"
    ran_out = "last pack ran out about " + _int(-days) + " days ago"
    return runs_out.where(days >= 0, ran_out).where(days.notna(), "pack size unknown")


TEMPLATES: dict[str, Template] = {
    "days_since_last_order": _days_since_last_order,
    "hist_days_since_last": _days_since_last_order,
    "tenure_days": _fmt("customer for ", _int, " days"),
    "days_since_first_order": _fmt("first order ", _int, " days ago"),
    "count_orders": _count("order", "orders", " so far"),
    "hist_frequency": _count("repeat purchase", "repeat purchases", " so far"),
    "count_orders_30d": _count("order", "orders", " in the last 30 days"),
    "count_orders_prev_90d": _count("order", "orders", " in the 90 days before the last 30"),
    "count_orders_365d": _count("order", "orders", " in the last 365 days"),
    "total_revenue": _fmt("", _money, " spent so far"),
    "revenue_30d": _fmt("", _money, " spent in the last 30 days"),
    "revenue_prev_90d": _fmt("", _money, " spent in the 90 days before the last 30"),
    "average_order_value": _fmt("average order ", _money),
    "hist_mean_value": _fmt("average purchase ", _money),
    "order_rate_trend": _signed("ordering more often lately", "ordering less often lately"),
    "revenue_rate_trend": _signed("spending more lately", "spending less lately"),
    "session_rate_trend": _signed("visiting more often lately", "visiting less often lately"),
    "return_rate": _fmt("", _pct, " of orders returned", "no orders placed"),
    "rfm_segment": _label("RFM segment: "),
    "pareto_class": _label("value class: "),
    "loyalty_status": _label("loyalty: "),
    "lifecycle_status": _label("lifecycle: "),
    "top_category": _label("mostly buys "),
    "top_category_revenue_share": _fmt("", _pct, " of spend in the top category"),
    "consumable_revenue_share": _fmt("", _pct, " of spend on consumables"),
    "average_review_rating": _fmt("average rating ", lambda v: v.round(1).astype(str), "", "no reviews"),
    "latest_rating": _fmt("latest rating ", _int, " of 5", "no reviews"),
    "days_since_last_complaint": _fmt("complained ", _int, " days ago", "never complained"),
    "has_open_complaint": _flag("unresolved complaint", "no open complaint"),
    "days_since_last_session": _fmt("last site visit ", _int, " days ago", "no site visits"),
    "cart_abandonment_rate_120d": _fmt("", _pct, " of carts abandoned (120 days)", "no carts"),
    "days_until_expected_replenishment": _due,
    "count_overdue_replenishments": _count("replenishment overdue", "replenishments overdue"),
    "bgnbd_p_alive": _fmt("purchase rhythm: ", _pct, " likely still active"),
    "category": _label("category: "),
    "cat_days_since_last": _category_since,
    "cat_mean_gap_days": _category_gap,
    "cat_due_in_days": _category_due,
    "cat_due_ratio": _category_rhythm,
    "cat_gap_ratio": _category_rhythm,
    "cat_share_of_purchases": _category_share,
    "rfm_recency_score": _score_of_five("recency"),
    "rfm_frequency_score": _score_of_five("frequency"),
    "rfm_monetary_score": _score_of_five("monetary"),
    "cat_purchases": _count("purchase", "purchases", " in this category"),
    "cat_last_supply_days": _fmt("last pack lasts ", _int, " days", "pack size unknown"),
}

_COUNT_WINDOW = re.compile(r"^count_(?P<noun>.+)_(?P<days>\d+)d$")
_EXPECTED = re.compile(r"^bgnbd_expected_purchases_(?P<days>\d+)d$")


def _words(text: str) -> str:
    return text.replace("_", " ")


def template_for(name: str) -> Template:
    """A template for any column, from the table above or from the naming convention."""
    if name in TEMPLATES:
        return TEMPLATES[name]
    if match := _EXPECTED.match(name):
        days = match["days"]
        return _fmt("purchase rhythm predicts ", lambda v: v.round(1).astype(str), f" orders in {days} days")
    if match := _COUNT_WINDOW.match(name):
        noun = _words(match["noun"])
        return _count(noun.rstrip("s"), noun, f" in the last {match['days']} days")
    if name.startswith("count_"):
        noun = _words(name[len("count_") :])
        return _count(noun.rstrip("s"), noun)
    if name.startswith("days_since_"):
        event = _words(name[len("days_since_") :])
        return _fmt(f"{event} ", _int, " days ago", f"no {event} yet")
    if name.startswith(("is_", "has_")):
        words = _words(name.split("_", 1)[1])
        return _flag(words, f"not {words}")
    if name.endswith(("_rate", "_share")):
        return _fmt(f"{_words(name)} ", _pct)
    return _fmt(f"{_words(name)} ", lambda v: v.round(2).astype(str))


# templates that read more than their own column (the usual rhythm, the category): phrased row by row
COMPANIONS = ("days_since_last_order", "hist_days_since_last", "category")


def _phrases(name: str, frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """The template over ``rows``; a one-column template is phrased once per distinct value, then spread."""
    template = template_for(name)
    if name in COMPANIONS or name.startswith("cat_"):
        return template(frame.iloc[rows], name).to_numpy(dtype=object)
    values = frame[name].iloc[rows]
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    distinct = pd.DataFrame({name: pd.Series(uniques, dtype=values.dtype)})
    return template(distinct, name).to_numpy(dtype=object)[codes]


def top_reasons(
    contribs: np.ndarray,
    frame: pd.DataFrame,
    spec: list[Feature],
    k: int = 3,
    direction: str = "up",
) -> np.ndarray:
    """(rows, k) phrases for the k largest contributions (``up``: raising the score, ``down``: lowering it,
    ``abs``: either way).

    ``contribs`` is XGBoost's (rows, features + 1) output, bias last; ``frame`` holds the raw feature values
    (plus ``hist_*`` and ``category`` for companion values). Slots without a qualifying feature stay None.
    """
    values = np.asarray(contribs, dtype=np.float64)[:, : len(spec)]
    strength = {"up": values, "down": -values}.get(direction, np.abs(values))
    k = min(k, len(spec))
    part = np.argpartition(-strength, k - 1, axis=1)[:, :k] if k < strength.shape[1] else np.argsort(-strength, axis=1)
    order = np.argsort(-np.take_along_axis(strength, part, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(part, order, axis=1)[:, :k]
    out = np.full((len(frame), k), None, dtype=object)
    frame = frame.reset_index(drop=True)
    for rank in range(k):
        chosen = top[:, rank]
        qualifies = strength[np.arange(len(frame)), chosen] > 1e-9
        for j in np.unique(chosen[qualifies]):
            rows = np.flatnonzero(qualifies & (chosen == j))
            out[rows, rank] = _phrases(spec[j].name, frame, rows)
    return out
