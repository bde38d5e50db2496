"""The adapter's report: rows read, written and dropped (with the reason), what was filled in or left empty, and the
quirks of the export that are written as they are for the pipeline to handle."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd

from examples.olist.mapping_rules import (
    CHANNEL,
    CONSUMABLE_CATEGORIES,
    COUNTRY,
    CURRENCY,
    NAME_ID_CHARS,
    NOT_CARRIED,
    NOT_WRITTEN,
    REVIEW_KIND,
    STORE_TIME_ZONE,
    UNKNOWN_CATEGORY,
    WRITTEN_SOURCES,
)
from examples.olist.olist_files import OlistData, local_time_issue


@dataclass
class Report:
    source: str
    customers_limit: int | None
    read: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    partitions: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> reason -> rows
    filled: list[str] = field(default_factory=list)
    left_empty: list[str] = field(default_factory=list)
    not_written: dict[str, str] = field(default_factory=lambda: dict(NOT_WRITTEN))
    not_carried: tuple[str, ...] = NOT_CARRIED
    quirks: dict[str, object] = field(default_factory=dict)
    out: str | None = None

    @property
    def dropped_total(self) -> int:
        return sum(n for reasons in self.dropped.values() for n in reasons.values())


def _drop(report: Report, source: str, reason: str, n: int) -> None:
    if n:
        reasons = report.dropped.setdefault(source, {})
        reasons[reason] = reasons.get(reason, 0) + n



def _describe(
    report: Report,
    tables: dict[str, pd.DataFrame],
    data: OlistData,
    translation: dict[str, str],
    catalogue_at: str,
    from_items: int,
) -> None:
    """What the adapter filled in and what it left empty, with row counts."""
    n = report.written
    pt = data.frames["products"]["product_category_name"]
    n_unknown = int((pt == "").sum())
    n_untranslated = int(((pt != "") & ~pt.isin(translation)).sum())
    n_consumable = int((tables["products"]["is_consumable"] == "true").sum())
    report.filled = [
        f"customers.signup_at and updated_at = the customer's first order purchase timestamp ({n['customers']} rows)",
        f"customers.consent_email and consent_sms = false: Olist records no consent ({n['customers']} rows)",
        f"customers.country = {COUNTRY} ({n['customers']} rows)",
        f"products.name = '<category> <first {NAME_ID_CHARS} characters of product_id>': Olist has no names"
        f" ({n['products']} rows)",
        f"products.category = English name from the translation file; '{UNKNOWN_CATEGORY}' when Olist has none"
        f" ({n_unknown} rows); the Portuguese name kept when the file has no translation ({n_untranslated} rows)",
        f"products.price = median order-item price of the product over all orders read ({n['products']} rows)",
        f"products.is_consumable = true for categories {sorted(CONSUMABLE_CATEGORIES)} ({n_consumable} rows),"
        " false otherwise",
        f"products.updated_at = earliest order purchase timestamp read, {catalogue_at or '-'} ({n['products']} rows)",
        f"orders.channel = {CHANNEL}, orders.currency = {CURRENCY} ({n['orders']} rows)",
        "orders.total_amount = sum of payment_value (includes freight); from item price+freight for"
        f" {from_items} order(s) without payment rows",
        "orders.shipping_amount = sum of the order's freight_value (0 for orders without items)",
        "order_lines.quantity = 1 (Olist lists one row per unit), order_lines.discount_amount = 0"
        f" ({n['order_lines']} rows)",
        "reviews.review_id = '<order_id>-<n>' (n numbers an order's reviews by date, score, file order),"
        f" reviews.kind = {REVIEW_KIND} ({n['reviews']} rows)",
    ]
    report.left_empty = [
        "customers.email, phone, first_name, last_name, birth_date: Olist has no contact details (none invented)",
        "customers.city: not in this copy; customers.time_zone: the store time zone applies",
        "products.unit_cost, use_cycle_days, service_interval_days: unknown",
        "reviews.product_id: an Olist review is about an order, not a product",
        "reviews.body: this copy has no review text",
    ]


def _quirks(
    data: OlistData,
    translation: dict[str, str],
    pay_sum: dict[str, Decimal],
    item_sum: dict[str, Decimal],
    from_items: int,
) -> dict[str, object]:
    """Counts of what a real export has and the adapter leaves as it is, for the pipeline to handle."""
    f = data.frames
    orders, items, rv, products = f["orders"], f["order_items"], f["order_reviews"], f["products"]
    tz = ZoneInfo(STORE_TIME_ZONE)
    pt = products["product_category_name"]
    n_orders = orders.groupby("customer_id").size()
    no_items = orders[~orders["order_id"].isin(item_sum)]
    diff = [pay_sum[o] - item_sum[o] for o in orders["order_id"] if o in pay_sum and o in item_sum]
    cents = Decimal("0.05")
    rv_orders = rv.merge(orders[["order_id", "order_purchase_timestamp"]], on="order_id", how="inner")
    local_issue = orders["order_purchase_timestamp"].map(lambda t: local_time_issue(t, tz))
    return {
        "order statuses (written as is, mapped by pipeline.yml)": dict(
            orders["order_status"].value_counts().sort_index().items()
        ),
        "customers with 2+ orders": int((n_orders > 1).sum()),
        "orders without items (no order lines; total = payments)": dict(
            no_items["order_status"].value_counts().sort_index().items()
        ),
        "orders without payment rows (total from items)": from_items,
        "orders whose payments differ from item price+freight": sum(1 for d in diff if d != 0),
        "  of which by at most 0.05 (cent rounding)": sum(1 for d in diff if 0 < abs(d) <= cents),
        "  of which higher by more (e.g. instalment interest)": sum(1 for d in diff if d > cents),
        "  of which lower by more (e.g. discounts)": sum(1 for d in diff if d < -cents),
        "orders with 2+ reviews": int((rv.groupby("order_id").size() > 1).sum()),
        "review rows identical to another row (same order, score, date), kept with distinct ids": int(
            rv.duplicated(["order_id", "review_score", "review_creation_date"]).sum()
        ),
        "reviews dated before the order's purchase date (survey-send date)": int(
            (rv_orders["review_creation_date"].str[:10] < rv_orders["order_purchase_timestamp"].str[:10]).sum()
        ),
        "review dates not at midnight": int((~rv["review_creation_date"].str.endswith(" 00:00:00")).sum()),
        "products without category (-> unknown)": int((pt == "").sum()),
        "products whose category has no English translation (kept in Portuguese)": dict(
            sorted(Counter(c for c in pt if c and c not in translation).items())
        ),
        "order items referencing a product not in products.csv": int(
            (~items["product_id"].isin(products["product_id"])).sum()
        ),
        "orders whose customer is not in customers.csv": int(
            (~orders["customer_id"].isin(f["customers"]["customer_id"])).sum()
        ),
        f"ordered_at values ambiguous in {STORE_TIME_ZONE} (DST end)": int((local_issue == "ambiguous").sum()),
        f"ordered_at values nonexistent in {STORE_TIME_ZONE} (DST start)": int((local_issue == "nonexistent").sum()),
    }



def format_report(report: Report) -> str:
    lines = [f"Olist -> landing contract: {report.source} -> {report.out}"]
    if report.customers_limit is not None:
        lines.append(f"Limited to the first {report.customers_limit} customers by customer_id and their data.")
    lines.append("Olist rows read: " + ", ".join(f"{k} {v}" for k, v in report.read.items()))
    lines.append("Landing rows written:")
    for name in WRITTEN_SOURCES:
        lines.append(
            f"  {name:<16}{report.written.get(name, 0):>8} rows in {report.partitions.get(name, 0)} dt partitions"
        )
    for name, why in report.not_written.items():
        lines.append(f"  {name:<16}{'-':>8} not written: {why}")
    if report.dropped_total == 0:
        lines.append("Rows dropped: 0 (every Olist customer, order, item and review row is written exactly once)")
    else:
        lines.append(f"Rows dropped: {report.dropped_total}")
        for name, reasons in report.dropped.items():
            for reason, n in reasons.items():
                lines.append(f"  {name}: {n} ({reason})")
    lines.append("Filled in by the adapter:")
    lines += [f"  - {x}" for x in report.filled]
    lines.append("Left empty:")
    lines += [f"  - {x}" for x in report.left_empty]
    lines.append("Olist columns not carried (no place in the contract):")
    lines += [f"  - {x}" for x in report.not_carried]
    lines.append("Quirks found, written as they are for the pipeline to handle:")
    for k, v in report.quirks.items():
        lines.append(f"  - {k}: {v}")
    return "\n".join(lines)

