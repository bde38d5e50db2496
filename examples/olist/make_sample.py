"""Draw the committed Olist test sample (tests/fixtures/olist_sample/) from the full copy, deterministically.

    python -m examples.olist.make_sample [--source ../shared/data/olist] [--out tests/fixtures/olist_sample]

About 300 customers are chosen: first the cases the pipeline must handle (repeat buyers, every order status,
orders without items, low review scores, orders with several or duplicated reviews, products without or with an
untranslated category, payments that differ from the items, reviews dated before the purchase, timestamps in the
repeated DST hour), then customers in a fixed pseudo-random order (SHA-256 of the id) up to the target. Every order,
item, payment and review of a chosen customer is kept, with the products they reference and the whole category
translation file. Rows are copied byte for byte in the files' own order and format.

Olist data: "Brazilian E-Commerce Public Dataset by Olist", CC BY-NC-SA 4.0.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from examples.olist.mapping_rules import STORE_TIME_ZONE
from examples.olist.olist_files import REPO_ROOT, default_olist_dir, local_time_issue

TARGET_CUSTOMERS = 300
SAMPLE_FILES = (
    "customers.csv",
    "orders.csv",
    "order_items.csv",
    "order_payments.csv",
    "order_reviews.csv",
    "products.csv",
    "product_category_name_translation.csv",
)


def _rank(customer_id: str) -> str:
    return hashlib.sha256(customer_id.encode()).hexdigest()


def _read(source: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(source / name, dtype=str, keep_default_na=False, na_filter=False)


def criteria(source: Path) -> list[tuple[str, int, list[str]]]:
    """(criterion, how many to take, candidate customer ids in preference order), in selection order."""
    orders = _read(source, "orders.csv")
    items = _read(source, "order_items.csv")
    payments = _read(source, "order_payments.csv")
    reviews = _read(source, "order_reviews.csv")
    products = _read(source, "products.csv")
    translation = set(_read(source, "product_category_name_translation.csv")["product_category_name"])
    cust_of = dict(zip(orders["order_id"], orders["customer_id"], strict=True))

    def by_orders(order_ids) -> list[str]:
        return sorted({cust_of[o] for o in order_ids if o in cust_of}, key=_rank)

    n_orders = orders.groupby("customer_id").size()
    repeat = sorted(n_orders[n_orders > 1].index, key=lambda c: (-int(n_orders[c]), _rank(c)))
    with_items = set(items["order_id"])
    pay = payments.assign(v=payments["payment_value"].map(Decimal)).groupby("order_id")["v"].sum()
    goods = items.assign(v=items["price"].map(Decimal) + items["freight_value"].map(Decimal))
    goods = goods.groupby("order_id")["v"].sum()
    both = pay.index.intersection(goods.index)
    gap = {o: pay[o] - goods[o] for o in both if pay[o] != goods[o]}
    higher = [o for o, d in gap.items() if d > Decimal("0.05")]
    lower = [o for o, d in gap.items() if d < Decimal("-0.05")]
    cents = [o for o, d in gap.items() if abs(d) <= Decimal("0.05")]
    per_order = reviews.groupby("order_id").size()
    identical = reviews[reviews.duplicated(keep=False)]["order_id"]
    rv = reviews.merge(orders[["order_id", "order_purchase_timestamp"]], on="order_id")
    before = rv[rv["review_creation_date"].str[:10] < rv["order_purchase_timestamp"].str[:10]]["order_id"]
    not_midnight = reviews[~reviews["review_creation_date"].str.endswith(" 00:00:00")]["order_id"]
    tz = ZoneInfo(STORE_TIME_ZONE)
    ambiguous = orders[orders["order_purchase_timestamp"].map(lambda t: local_time_issue(t, tz) != "")]["order_id"]
    cat = products["product_category_name"]
    no_cat = set(products[cat == ""]["product_id"])
    untranslated = set(products[(cat != "") & ~cat.isin(translation)]["product_id"])

    def status(s: str) -> list[str]:
        return by_orders(orders[orders["order_status"] == s]["order_id"])

    def with_products(pids: set[str]) -> list[str]:
        return by_orders(items[items["product_id"].isin(pids)]["order_id"])

    return [
        ("repeat buyers (most orders first)", 40, repeat),
        ("an order canceled", 12, status("canceled")),
        (
            "an order canceled without items",
            5,
            by_orders(set(orders[orders["order_status"] == "canceled"]["order_id"]) - with_items),
        ),
        ("an order unavailable (never has items)", 10, status("unavailable")),
        ("an order created (never approved, no items)", 99, status("created")),
        ("an order shipped", 8, status("shipped")),
        ("an order invoiced", 6, status("invoiced")),
        ("an order processing", 6, status("processing")),
        ("an order approved", 6, status("approved")),
        ("a review score of 1 or 2", 40, by_orders(reviews[reviews["review_score"].isin(["1", "2"])]["order_id"])),
        ("an order with 2+ reviews", 8, by_orders(per_order[per_order > 1].index)),
        ("an order with identical review rows", 4, by_orders(identical)),
        ("a product without category", 5, with_products(no_cat)),
        ("a product whose category has no translation", 99, with_products(untranslated)),
        ("payments higher than items by more than 0.05", 4, by_orders(higher)),
        ("payments lower than items by more than 0.05", 99, by_orders(lower)),
        ("payments differing from items by a few cents", 2, by_orders(cents)),
        ("a review dated before the purchase", 3, by_orders(before)),
        ("a review time not at midnight", 3, by_orders(not_midnight)),
        (f"a purchase time in the repeated DST hour ({STORE_TIME_ZONE})", 99, by_orders(ambiguous)),
    ]


def choose_customers(source: Path, target: int = TARGET_CUSTOMERS) -> tuple[list[str], list[tuple[str, int]]]:
    """The chosen customer ids (in selection order) and how many each criterion added."""
    chosen: list[str] = []
    seen: set[str] = set()
    added: list[tuple[str, int]] = []

    def take(label: str, limit: int, candidates: list[str]) -> None:
        n = 0
        for c in candidates:
            if n >= limit or len(chosen) >= target:
                break
            if c not in seen:
                seen.add(c)
                chosen.append(c)
                n += 1
        added.append((label, n))

    for label, limit, candidates in criteria(source):
        take(label, limit, candidates)
    everyone = sorted(_read(source, "customers.csv")["customer_id"], key=_rank)
    take("filled up in SHA-256 order of customer_id", target, everyone)
    return chosen, added


def _filter_file(src: Path, dst: Path, column: str | None, keep: set[str] | None) -> int:
    """Copy the header and the rows whose ``column`` value is in ``keep`` (all rows when column is None)."""
    with open(src, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    if column is not None:
        i = header.index(column)
        body = [r for r in body if r[i] in keep]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *body])
    dst.write_text(buf.getvalue(), encoding="utf-8", newline="")
    return len(body)


def make_sample(source: Path, out: Path, target: int = TARGET_CUSTOMERS, log: Callable[[str], None] = print) -> dict:
    chosen, added = choose_customers(source, target)
    customers = set(chosen)
    orders = _read(source, "orders.csv")
    order_ids = set(orders[orders["customer_id"].isin(customers)]["order_id"])
    items = _read(source, "order_items.csv")
    product_ids = set(items[items["order_id"].isin(order_ids)]["product_id"])
    out.mkdir(parents=True, exist_ok=True)
    plan: dict[str, tuple[str | None, set[str] | None]] = {
        "customers.csv": ("customer_id", customers),
        "orders.csv": ("order_id", order_ids),
        "order_items.csv": ("order_id", order_ids),
        "order_payments.csv": ("order_id", order_ids),
        "order_reviews.csv": ("order_id", order_ids),
        "products.csv": ("product_id", product_ids),
        "product_category_name_translation.csv": (None, None),
    }
    counts = {name: _filter_file(source / name, out / name, col, keep) for name, (col, keep) in plan.items()}
    for label, n in added:
        log(f"{n:>4}  {label}")
    for name, n in counts.items():
        log(f"{name}: {n} rows, {(out / name).stat().st_size} bytes")
    return {"added": added, "rows": counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.olist.make_sample", description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None, help="full Olist copy (default: as the adapter)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "tests" / "fixtures" / "olist_sample")
    parser.add_argument("--customers", type=int, default=TARGET_CUSTOMERS)
    args = parser.parse_args(argv)
    make_sample(args.source or default_olist_dir(), args.out, args.customers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
