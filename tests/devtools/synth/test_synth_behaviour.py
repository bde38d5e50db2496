"""The planted behaviour shows in the generated data (what later ML and action work is checked against)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.devtools.synth.conftest import END, read_source

DAYS = 180  # behaviour_run


@pytest.fixture(scope="module")
def data(behaviour_run: Path) -> dict[str, pd.DataFrame]:
    frames = {
        s: pd.DataFrame(read_source(behaviour_run, s))
        for s in ("customers", "products", "orders", "order_lines", "reviews", "web_events")
    }
    frames["truth_customers"] = pd.read_csv(
        behaviour_run / "_truth" / "customers.csv", dtype=str, keep_default_na=False
    )
    frames["truth_orders"] = pd.read_csv(behaviour_run / "_truth" / "orders.csv", dtype=str, keep_default_na=False)
    for name, column in (("orders", "ordered_at"), ("truth_orders", "ordered_at"), ("web_events", "occurred_at")):
        frames[name]["ts"] = pd.to_datetime(frames[name][column], utc=True)
        frames[name]["day"] = frames[name]["ts"].dt.tz_localize(None).dt.normalize()
    return frames


def spearman(a: pd.Series, b: pd.Series) -> float:
    return float(np.corrcoef(a.rank(), b.rank())[0, 1])


def test_bad_experience_clearly_raises_churn(data):
    orders = data["truth_orders"].merge(data["truth_customers"][["customer_id", "churn_date"]], on="customer_id")
    churn = pd.to_datetime(orders["churn_date"].replace("", None))
    orders["churn_30"] = (churn >= orders["day"]) & (churn <= orders["day"] + pd.Timedelta(days=30))
    rate = orders.groupby(orders["experience"] != "good")["churn_30"].mean()
    assert rate[True] > 2 * rate[False], rate
    # observable without the truth: after a cancelled/returned order customers come back less often
    observed = data["orders"][data["orders"]["day"] <= pd.Timestamp(END) - pd.Timedelta(days=60)].copy()
    last = data["orders"].groupby("customer_id")["ts"].max()
    observed["came_back"] = observed["ts"] < observed["customer_id"].map(last)
    back = observed.groupby(observed["status"] != "completed")["came_back"].mean()
    assert back[True] < back[False] - 0.1, back


def test_ratings_and_complaints_follow_the_experience(data):
    reviews = data["reviews"].merge(data["truth_orders"][["order_id", "experience"]], on="order_id")
    reviews["rating"] = reviews["rating"].astype(int)
    normal = reviews[reviews["kind"] == "review"]
    assert normal.loc[normal["experience"] == "good", "rating"].mean() >= 4.0
    assert normal.loc[normal["experience"] != "good", "rating"].mean() <= 3.0
    complaints = reviews[reviews["kind"] == "complaint"]
    assert len(complaints) > 20
    assert (complaints["experience"] != "good").all() and (complaints["rating"] <= 2).all()
    old = data["orders"][data["orders"]["day"] <= pd.Timestamp(END) - pd.Timedelta(days=10)]
    share = data["reviews"]["order_id"].isin(old["order_id"]).sum() / len(old)
    assert 0.15 <= share <= 0.25, share


def test_consumables_are_bought_again_after_their_use_cycle(data):
    lines = data["order_lines"].merge(data["orders"][["order_id", "customer_id", "day"]], on="order_id")
    products = data["products"].drop_duplicates("product_id")
    lines = lines.merge(products[["product_id", "is_consumable", "use_cycle_days"]], on="product_id")
    lines = lines[lines["is_consumable"] == "true"].sort_values(["customer_id", "product_id", "day"])
    lines["quantity"] = lines["quantity"].astype(int)
    same = lines.groupby(["customer_id", "product_id"])
    lines["gap"] = same["day"].diff().dt.days
    lines["expected"] = lines["use_cycle_days"].astype(int) * same["quantity"].shift()
    repeat = lines.dropna(subset=["gap", "expected"])
    assert len(repeat) > 300
    assert spearman(repeat["gap"], repeat["expected"]) > 0.6
    assert 0.8 <= (repeat["gap"] / repeat["expected"]).median() <= 1.2


def test_most_carts_are_abandoned(data):
    events = data["web_events"].sort_values(["anonymous_id", "ts", "event_id"])
    new_session = (events["anonymous_id"] != events["anonymous_id"].shift()) | (
        events["ts"].diff() > pd.Timedelta(minutes=30)
    )
    events["session"] = new_session.cumsum()
    kinds = events.groupby("session")["event_type"].agg(set)
    carts = kinds[kinds.map(lambda k: "add_to_cart" in k)]
    abandoned = carts.map(lambda k: "purchase" not in k).mean()
    assert 0.5 < abandoned < 0.9, abandoned
    assert (kinds.map(len) > 1).mean() > 0.5  # sessions are funnels, not single hits


def test_orders_cluster_around_the_preferred_local_hour(data):
    truth = data["truth_customers"].set_index("customer_id")
    online = data["orders"][data["orders"]["channel"] != "store"].head(3000)
    local = [ts.tz_convert(truth.at[c, "time_zone"]) for ts, c in zip(online["ts"], online["customer_id"], strict=True)]
    hours = np.array([t.hour + t.minute / 60 for t in local])
    preferred = online["customer_id"].map(truth["preferred_contact_hour"]).astype(int).to_numpy() + 0.5
    diff = np.abs((hours - preferred + 12) % 24 - 12)
    assert np.median(diff) < 1.5 and (diff <= 2.5).mean() > 0.7


def test_purchase_rates_are_heterogeneous_and_visible(data):
    truth = data["truth_customers"]
    rate = truth["purchase_rate_per_day"].astype(float)
    assert rate.std() / rate.mean() > 0.5
    steady = truth[(truth["active_at_start"] == "true") & (truth["churned"] == "false")]
    counts = data["orders"]["customer_id"].value_counts()
    observed = steady["customer_id"].map(counts).fillna(0)
    assert spearman(steady["purchase_rate_per_day"].astype(float), observed) > 0.5


def test_a_share_of_active_customers_churns(data):
    truth = data["truth_customers"]
    active = truth[truth["active_at_start"] == "true"]
    churned = (active["churned"] == "true").mean()
    assert 0.12 < churned < 0.5, churned  # ~30-50% over a full year at the default demo size
    assert {"dropout", "bad_experience", "pre_window"} <= set(truth["churn_reason"])
    # churned customers stop ordering
    churn_day = pd.to_datetime(truth.set_index("customer_id")["churn_date"].replace("", None))
    after = data["orders"]["day"] > data["orders"]["customer_id"].map(churn_day)
    assert not after.any()


def test_statuses_and_late_deliveries(data):
    status = data["orders"]["status"].value_counts(normalize=True)
    assert 0.015 < status["cancelled"] < 0.05 and 0.02 < status["returned"] < 0.065
    late = (data["truth_orders"]["late"] == "true").mean()
    assert 0.03 < late < 0.1
    assert not ((data["truth_orders"]["late"] == "true") & (data["truth_orders"]["channel"] == "store")).any()


def test_sunday_and_monday_are_busier(data):
    spontaneous = data["truth_orders"][data["truth_orders"]["trigger"] == "spontaneous"]
    per_weekday = spontaneous.groupby(spontaneous["day"].dt.day_of_week).size() / (DAYS / 7)
    assert per_weekday[[6, 0]].mean() > 1.15 * per_weekday[[1, 2, 3, 4]].mean()


def test_contact_data_and_consent_shares(data):
    latest = data["customers"].sort_values("updated_at").groupby("customer_id").tail(1)
    assert 0.85 < (latest["email"] != "").mean() < 0.95
    assert 0.52 < (latest["phone"] != "").mean() < 0.7
    assert 0.6 < (latest["consent_email"] == "true").mean() < 0.8
    assert 0.32 < (latest["consent_sms"] == "true").mean() < 0.5
    phones = latest.loc[latest["phone"] != "", "phone"]
    assert phones.map(lambda p: re.fullmatch(r"\+[1-9]\d{7,14}", p) is not None).all()
    zones = latest.loc[latest["time_zone"] != "", "time_zone"].value_counts(normalize=True)
    assert zones.index[0] == "Europe/Berlin" and zones.iloc[0] > 0.5
    assert len(data["customers"]) > len(latest)  # changed records were exported again


def test_catalogue_shape(data):
    products = data["products"].drop_duplicates("product_id", keep="first")
    assert 200 <= len(products) <= 400 and products["category"].nunique() == 12
    consumable = products["is_consumable"] == "true"
    assert (products.loc[consumable, "use_cycle_days"] != "").all()
    assert (products.loc[~consumable, "service_interval_days"] != "").all()
    margin = 1 - products["unit_cost"].astype(float) / products["price"].astype(float)
    assert margin.between(0.18, 0.62).all()
    lines = data["order_lines"].merge(products[["product_id", "is_consumable"]], on="product_id")
    assert (lines["is_consumable"] == "false").mean() < 0.1  # durables are bought rarely
    assert data["products"]["product_id"].duplicated().any()  # price changes re-export a product


def test_devices_map_to_their_customers(data):
    truth = data["truth_customers"]
    owner = {a: c for c, ids in zip(truth["customer_id"], truth["anonymous_ids"], strict=True) for a in ids.split(";")}
    known = data["web_events"][data["web_events"]["customer_id"] != ""]
    assert (known["anonymous_id"].map(owner) == known["customer_id"]).all()
    visitors = data["web_events"]["anonymous_id"].unique()
    anonymous_only = sum(v not in owner for v in visitors)
    assert anonymous_only > 0.3 * len(truth)  # anonymous-only visitors, about as many as customers
