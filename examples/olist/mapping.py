"""Mapping the Olist frames onto the landing contract: one landing table per written source (contract columns in
contract order, plus the ``dt`` partition column) and the report of what was filled in, dropped and found."""

from __future__ import annotations

import statistics
from decimal import Decimal

import pandas as pd

from examples.olist.accounting import Report, _describe, _drop, _quirks
from examples.olist.mapping_rules import (
    CHANNEL,
    CONSUMABLE_CATEGORIES,
    COUNTRY,
    CURRENCY,
    NAME_ID_CHARS,
    REVIEW_KIND,
    UNKNOWN_CATEGORY,
)
from examples.olist.olist_files import OlistData, _check_timestamps
from proactive_crm.landing.contract import SOURCES


def _fmt(value: Decimal) -> str:
    return format(value, "f")



def _frame(source: str, rows: pd.DataFrame) -> pd.DataFrame:
    """All contract columns in contract order (missing optional columns as empty strings) plus ``dt``."""
    cols = list(SOURCES[source].column_names)
    unknown = set(rows.columns) - set(cols) - {"dt"}
    if unknown:
        raise AssertionError(f"{source}: columns outside the contract {sorted(unknown)}")
    out = rows.copy()
    for c in cols:
        if c not in out.columns:
            out[c] = ""
    out = out[cols + ["dt"]].astype(str)
    contract = SOURCES[source]

    def sort_key(values: pd.Series) -> pd.Series:  # integer keys (line_number) sort as numbers
        return values.astype("int64") if contract.column(str(values.name)).type == "int" else values

    return out.sort_values(list(contract.key), kind="stable", key=sort_key).reset_index(drop=True)


def _money_sums(
    payments: pd.DataFrame, items: pd.DataFrame
) -> tuple[dict[str, Decimal], dict[str, Decimal], dict[str, Decimal]]:
    """Per order: sum of payment_value, sum of item price + freight_value, sum of freight_value (exact decimals)."""
    pay_sum: dict[str, Decimal] = {}
    for oid, value in zip(payments["order_id"], payments["payment_value"], strict=True):
        pay_sum[oid] = pay_sum.get(oid, Decimal(0)) + Decimal(value)
    item_sum: dict[str, Decimal] = {}
    freight_sum: dict[str, Decimal] = {}
    for oid, price, freight in zip(items["order_id"], items["price"], items["freight_value"], strict=True):
        item_sum[oid] = item_sum.get(oid, Decimal(0)) + Decimal(price) + Decimal(freight or "0")
        freight_sum[oid] = freight_sum.get(oid, Decimal(0)) + Decimal(freight or "0")
    return pay_sum, item_sum, freight_sum


def _orders(
    orders: pd.DataFrame,
    pay_sum: dict[str, Decimal],
    item_sum: dict[str, Decimal],
    freight_sum: dict[str, Decimal],
    report: Report,
) -> tuple[pd.DataFrame, int]:
    totals: list[str | None] = []
    from_items = 0
    for oid in orders["order_id"]:
        if oid in pay_sum:
            totals.append(_fmt(pay_sum[oid]))
        elif oid in item_sum:
            totals.append(_fmt(item_sum[oid]))
            from_items += 1
        else:
            totals.append(None)
    total = pd.Series(totals, index=orders.index, dtype=object)
    _drop(report, "orders", "no payment and no item: amount unknown", int(total.isna().sum()))
    keep = total.notna()
    orders = orders[keep]
    out = pd.DataFrame(
        {
            "order_id": orders["order_id"],
            "customer_id": orders["customer_id"],
            "ordered_at": orders["order_purchase_timestamp"],  # naive local time, as is
            "channel": CHANNEL,
            "status": orders["order_status"],  # Olist's own value; pipeline.yml maps it
            "currency": CURRENCY,
            "total_amount": total[keep],
            # what the customer paid for delivery; the lines hold the products only
            "shipping_amount": [_fmt(freight_sum.get(oid, Decimal(0))) for oid in orders["order_id"]],
            "dt": orders["order_purchase_timestamp"].str[:10],
        }
    )
    return out, from_items


def _order_lines(items: pd.DataFrame, order_dt: dict[str, str], report: Report) -> pd.DataFrame:
    known = items["order_id"].isin(order_dt)
    _drop(report, "order_lines", "order not in orders.csv (or dropped): no partition date", int((~known).sum()))
    items = items[known]
    return pd.DataFrame(
        {
            "order_id": items["order_id"],
            "line_number": items["order_item_id"],
            "product_id": items["product_id"],
            "quantity": "1",  # Olist lists one row per unit
            "unit_price": items["price"],
            "discount_amount": "0",
            "dt": items["order_id"].map(order_dt),
        }
    )


def _customers(customers: pd.DataFrame, orders: pd.DataFrame, report: Report) -> pd.DataFrame:
    first_order = orders.groupby("customer_id")["ordered_at"].min()  # fixed-width text: min is the earliest
    has_order = customers["customer_id"].isin(first_order.index)
    _drop(report, "customers", "no order: signup_at unknown", int((~has_order).sum()))
    customers = customers[has_order]
    signup = customers["customer_id"].map(first_order)
    return pd.DataFrame(
        {
            "customer_id": customers["customer_id"],
            "signup_at": signup,
            "consent_email": "false",
            "consent_sms": "false",
            "updated_at": signup,
            "country": COUNTRY,
            "dt": signup.str[:10],
        }
    )


def _products(
    products: pd.DataFrame, items: pd.DataFrame, translation: dict[str, str], catalogue_at: str, report: Report
) -> pd.DataFrame:
    prices: dict[str, list[Decimal]] = {}
    for pid, price in zip(items["product_id"], items["price"], strict=True):
        prices.setdefault(pid, []).append(Decimal(price))
    sold = products["product_id"].isin(prices)
    _drop(report, "products", "never in an order line: price unknown", int((~sold).sum()))
    products = products[sold]
    category = products["product_category_name"].map(lambda c: UNKNOWN_CATEGORY if c == "" else translation.get(c, c))
    return pd.DataFrame(
        {
            "product_id": products["product_id"],
            "name": category + " " + products["product_id"].str[:NAME_ID_CHARS],
            "category": category,
            "price": products["product_id"].map(lambda p: _fmt(statistics.median(prices[p]))),
            "is_consumable": category.map(lambda c: "true" if c in CONSUMABLE_CATEGORIES else "false"),
            "updated_at": catalogue_at,
            "dt": catalogue_at[:10],
        }
    )


def _reviews(reviews: pd.DataFrame, order_customer: dict[str, str], report: Report) -> pd.DataFrame:
    has_order = reviews["order_id"].isin(order_customer)
    _drop(report, "reviews", "order not in orders.csv (or dropped): customer unknown", int((~has_order).sum()))
    rev = reviews[has_order].copy()
    rev["_row"] = range(len(rev))
    # this copy has no review_id: number each order's reviews by date, score, then file order
    rev = rev.sort_values(["order_id", "review_creation_date", "review_score", "_row"], kind="stable")
    rev["_k"] = rev.groupby("order_id").cumcount() + 1
    return pd.DataFrame(
        {
            "review_id": rev["order_id"] + "-" + rev["_k"].astype(str),
            "customer_id": rev["order_id"].map(order_customer),
            "rating": rev["review_score"],
            "kind": REVIEW_KIND,
            "created_at": rev["review_creation_date"],  # the survey-send date, as is
            "order_id": rev["order_id"],
            "dt": rev["review_creation_date"].str[:10],
        }
    )


def convert(data: OlistData) -> tuple[dict[str, pd.DataFrame], Report]:
    """Olist frames -> landing tables (contract columns + ``dt`` partition column) and the report."""
    f = data.frames
    report = Report(source=str(data.source), customers_limit=data.customers_limit)
    report.read = {key: len(df) for key, df in f.items()}
    _check_timestamps(f["orders"]["order_purchase_timestamp"], "orders.order_purchase_timestamp")
    _check_timestamps(f["order_reviews"]["review_creation_date"], "order_reviews.review_creation_date")
    if f["orders"]["order_id"].duplicated().any():
        raise ValueError(f"orders.csv repeats {int(f['orders']['order_id'].duplicated().sum())} order_id(s)")

    pay_sum, item_sum, freight_sum = _money_sums(f["order_payments"], f["order_items"])
    orders, from_items = _orders(f["orders"], pay_sum, item_sum, freight_sum, report)
    order_dt = dict(zip(orders["order_id"], orders["dt"], strict=True))
    order_customer = dict(zip(orders["order_id"], orders["customer_id"], strict=True))
    tr = f["category_translation"]
    translation = dict(zip(tr["product_category_name"], tr["product_category_name_english"], strict=True))
    catalogue_at = f["orders"]["order_purchase_timestamp"].min() if len(f["orders"]) else ""

    tables = {
        "customers": _frame("customers", _customers(f["customers"], orders, report)),
        "products": _frame("products", _products(f["products"], f["order_items"], translation, catalogue_at, report)),
        "orders": _frame("orders", orders),
        "order_lines": _frame("order_lines", _order_lines(f["order_items"], order_dt, report)),
        "reviews": _frame("reviews", _reviews(f["order_reviews"], order_customer, report)),
    }
    for name, df in tables.items():
        if df.duplicated(list(SOURCES[name].key)).any():
            raise AssertionError(f"{name}: duplicate key {SOURCES[name].key}")
    report.written = {name: len(df) for name, df in tables.items()}
    report.partitions = {name: int(df["dt"].nunique()) for name, df in tables.items()}
    _describe(report, tables, data, translation, catalogue_at, from_items)
    report.quirks = _quirks(data, translation, pay_sum, item_sum, from_items)
    return tables, report

