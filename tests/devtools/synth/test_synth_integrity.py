"""Clean mode: totals add up, every reference resolves, ids are unique, versions move forward."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

from tests.devtools.synth.conftest import cents, read_source


def test_order_total_is_the_exact_sum_of_its_lines(clean_run: Path):
    lines = defaultdict(int)
    for row in read_source(clean_run, "order_lines"):
        price, discount = cents(row["unit_price"]), cents(row["discount_amount"])
        assert 0 <= discount <= int(row["quantity"]) * price
        lines[row["order_id"]] += int(row["quantity"]) * price - discount
    orders = read_source(clean_run, "orders")
    assert orders
    for order in orders:
        assert cents(order["total_amount"]) == lines[order["order_id"]], order
        assert order["currency"] == "EUR"


def test_references_resolve(clean_run: Path):
    customers = read_source(clean_run, "customers")
    signup = {c["customer_id"]: datetime.fromisoformat(c["signup_at"]) for c in customers}
    products = {p["product_id"] for p in read_source(clean_run, "products")}
    orders = {o["order_id"]: o for o in read_source(clean_run, "orders")}
    lines = read_source(clean_run, "order_lines")
    assert {line["order_id"] for line in lines} == set(orders)  # every order has lines, every line an order
    assert {line["product_id"] for line in lines} <= products
    for order in orders.values():
        assert signup[order["customer_id"]] <= datetime.fromisoformat(order["ordered_at"])
    for review in read_source(clean_run, "reviews"):
        order = orders[review["order_id"]]
        assert review["customer_id"] == order["customer_id"]
        assert review["product_id"] == "" or review["product_id"] in products
        assert review["created_at"] > order["ordered_at"]
    for event in read_source(clean_run, "web_events"):
        if event["customer_id"]:
            assert signup[event["customer_id"]] <= datetime.fromisoformat(event["occurred_at"])
        assert event["product_id"] == "" or event["product_id"] in products


def test_ids_are_unique(clean_run: Path):
    for source, key in {
        "orders": ("order_id",),
        "order_lines": ("order_id", "line_number"),
        "reviews": ("review_id",),
        "web_events": ("event_id",),
    }.items():
        keys = Counter(tuple(row[k] for k in key) for row in read_source(clean_run, source))
        assert max(keys.values()) == 1, source
    line_numbers = defaultdict(list)
    for row in read_source(clean_run, "order_lines"):
        line_numbers[row["order_id"]].append(int(row["line_number"]))
    assert all(sorted(n) == list(range(1, len(n) + 1)) and len(n) <= 4 for n in line_numbers.values())


def test_every_web_or_app_order_has_its_purchase_event(clean_run: Path):
    purchases = {}
    for event in read_source(clean_run, "web_events"):
        if event["event_type"] == "purchase":
            order_id = event["page_url"].rsplit("order=", 1)[1]
            purchases[order_id] = event
    online = {o["order_id"]: o for o in read_source(clean_run, "orders") if o["channel"] in ("web", "app")}
    assert set(purchases) == set(online)
    for order_id, order in online.items():
        assert purchases[order_id]["occurred_at"] == order["ordered_at"]
        assert purchases[order_id]["customer_id"] == order["customer_id"]


def test_login_sets_customer_id_for_the_rest_of_the_session(clean_run: Path):
    by_visitor = defaultdict(list)
    for event in read_source(clean_run, "web_events"):
        by_visitor[event["anonymous_id"]].append(event)
    owners = defaultdict(set)
    for events in by_visitor.values():
        events.sort(key=lambda e: (e["occurred_at"], e["event_id"]))
        for before, after in zip(events, events[1:], strict=False):
            gap = datetime.fromisoformat(after["occurred_at"]) - datetime.fromisoformat(before["occurred_at"])
            same_session = gap.total_seconds() < 30 * 60
            if same_session and before["customer_id"]:
                assert after["customer_id"] == before["customer_id"]  # no logout within a session
        for event in events:
            if event["event_type"] == "login":
                assert event["customer_id"]
            if event["customer_id"]:
                owners[event["anonymous_id"]].add(event["customer_id"])
            assert event["device"] in ("desktop", "mobile", "tablet")
    assert all(len(c) == 1 for c in owners.values())  # a device belongs to one customer


def test_versions_move_forward(clean_run: Path):
    versions = defaultdict(list)
    for row in read_source(clean_run, "customers"):
        versions[row["customer_id"]].append((row["_dt"], datetime.fromisoformat(row["updated_at"]), row))
    assert len(versions) == 300  # every customer of the run has signed up by its end
    for rows in versions.values():
        rows.sort(key=lambda r: r[0])
        stamps = [r[1] for r in rows]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert len({r[2]["signup_at"] for r in rows}) == 1
        for _, _, row in rows:
            assert datetime.fromisoformat(row["signup_at"]) <= datetime.fromisoformat(row["updated_at"])
    prices = defaultdict(list)
    for row in read_source(clean_run, "products"):
        prices[row["product_id"]].append(row["updated_at"])
    assert all(p == sorted(p) and len(set(p)) == len(p) for p in prices.values())
