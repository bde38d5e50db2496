"""Convert the public Olist e-commerce dataset into the pipeline's landing layout.

    python -m examples.olist.adapter --source ../shared/data/olist --out /tmp/olist_landing [--customers-limit N]

The adapter converts formats and names only. What a real retailer's export would also contain (Olist's own
order statuses, naive local timestamps, orders without items, several reviews per order) is written as it is
and left to the pipeline's configuration (``examples/olist/pipeline.yml``). Whatever the contract requires and
Olist lacks is filled in by a documented rule and listed in the printed report; nothing is dropped without a
counted reason. See ``examples/olist/README.md`` for the full mapping.

Olist data: "Brazilian E-Commerce Public Dataset by Olist", CC BY-NC-SA 4.0.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from proactive_crm.landing.contract import SOURCES

REPO_ROOT = Path(__file__).resolve().parents[2]

STORE_TIME_ZONE = "America/Sao_Paulo"  # Olist timestamps are naive local time here; not converted
CURRENCY = "BRL"
COUNTRY = "BR"
CHANNEL = "marketplace"
REVIEW_KIND = "review"
UNKNOWN_CATEGORY = "unknown"  # products.category when Olist gives no category
NAME_ID_CHARS = 8  # products.name = "<category> <first 8 characters of product_id>"

# English Olist categories whose products are used up and bought again. A category-level approximation:
# health_beauty also holds hair dryers and pet_shop also holds pet beds; everything else counts as durable.
CONSUMABLE_CATEGORIES = frozenset(
    {
        "health_beauty",
        "perfumery",
        "food",
        "food_drink",
        "drinks",
        "pet_shop",
        "diapers_and_hygiene",
    }
)

# the landing sources this adapter writes, in writing order
WRITTEN_SOURCES = ("customers", "products", "orders", "order_lines", "reviews")
NOT_WRITTEN = {
    "web_events": "Olist has no clickstream; no folder is written",
    "action_responses": "Olist has no marketing sends or responses; no folder is written",
}

# Olist file name and the columns the adapter needs from it (other columns are read but not carried)
OLIST_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "customers": ("customers.csv", ("customer_id", "customer_state")),
    "orders": ("orders.csv", ("order_id", "customer_id", "order_status", "order_purchase_timestamp")),
    "order_items": ("order_items.csv", ("order_id", "order_item_id", "product_id", "price", "freight_value")),
    "order_payments": ("order_payments.csv", ("order_id", "payment_sequential", "payment_value")),
    "order_reviews": ("order_reviews.csv", ("order_id", "review_score", "review_creation_date")),
    "products": ("products.csv", ("product_id", "product_category_name")),
    "category_translation": (
        "product_category_name_translation.csv",
        ("product_category_name", "product_category_name_english"),
    ),
}

# Olist columns that have no place in the contract (reported, not silently lost)
NOT_CARRIED = (
    "customers.customer_state (the contract has no region column)",
    "customers.contact_id (equal to customer_id in this copy)",
    "orders.order_approved_at / order_delivered_carrier_date / order_delivered_customer_date /"
    " order_estimated_delivery_date",
    "order_items.seller_id / shipping_limit_date (freight_value is summed into orders.shipping_amount)",
    "order_payments.payment_sequential / payment_type / payment_installments (only the sum is carried)",
    "products.product_name_lenght / product_description_lenght / product_photos_qty / weight and dimensions",
    "order_reviews_text_sample.csv (other reviews, mostly of orders not in orders.csv; not read)",
)

TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def default_olist_dir() -> Path:
    """``$CRM_OLIST_DIR`` or ``<repo>/../shared/data/olist``."""
    env = os.environ.get("CRM_OLIST_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "olist"


@dataclass
class OlistData:
    """The Olist files as text columns (no type inference, empty string for missing)."""

    frames: dict[str, pd.DataFrame]
    source: Path
    customers_limit: int | None = None


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


# ----------------------------------------------------------------------------------------------- reading


def read_olist(source: str | os.PathLike, customers_limit: int | None = None) -> OlistData:
    """Read the Olist CSVs as text. With ``customers_limit`` keep the first N customers by id and only their
    orders, items, payments, reviews and the products those items reference."""
    source = Path(source)
    frames: dict[str, pd.DataFrame] = {}
    for key, (file_name, needed) in OLIST_FILES.items():
        path = source / file_name
        if not path.is_file():
            raise FileNotFoundError(f"Olist file {path} not found")
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")
        missing = [c for c in needed if c not in df.columns]
        if missing:
            raise ValueError(f"{path} lacks column(s) {missing}; has {list(df.columns)}")
        frames[key] = df.reset_index(drop=True)
    if customers_limit is not None:
        if customers_limit < 1:
            raise ValueError("customers_limit must be at least 1")
        customers = frames["customers"].sort_values("customer_id", kind="stable").head(customers_limit)
        frames["customers"] = customers.sort_index()
        orders = frames["orders"]
        frames["orders"] = orders[orders["customer_id"].isin(customers["customer_id"])]
        order_ids = frames["orders"]["order_id"]
        for key in ("order_items", "order_payments", "order_reviews"):
            frames[key] = frames[key][frames[key]["order_id"].isin(order_ids)]
        products = frames["products"]
        frames["products"] = products[products["product_id"].isin(frames["order_items"]["product_id"])]
        frames = {k: v.reset_index(drop=True) for k, v in frames.items()}
    return OlistData(frames=frames, source=source, customers_limit=customers_limit)


# -------------------------------------------------------------------------------------------- conversion


def _fmt(value: Decimal) -> str:
    return format(value, "f")


def local_time_issue(text: str, tz: ZoneInfo) -> str:
    """'ambiguous' (occurs twice: DST end), 'nonexistent' (skipped: DST start) or '' for a naive local time."""
    naive = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return ""
    back = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return "ambiguous" if back == naive else "nonexistent"


def _check_timestamps(values: pd.Series, what: str) -> None:
    bad = values[~values.str.fullmatch(TIMESTAMP_RE.pattern)]
    if len(bad):
        raise ValueError(f"{what}: {len(bad)} value(s) not in Olist's 'YYYY-MM-DD HH:MM:SS' form, e.g. {bad.iloc[0]!r}")


def _drop(report: Report, source: str, reason: str, n: int) -> None:
    if n:
        reasons = report.dropped.setdefault(source, {})
        reasons[reason] = reasons.get(reason, 0) + n


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


# ----------------------------------------------------------------------------------------------- writing


def _check_out(out: Path, overwrite: bool) -> list[str]:
    """The source folders already under ``out``; an error unless they may be replaced."""
    existing = [name for name in WRITTEN_SOURCES if (out / name).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{out} already holds {existing}; pass --overwrite to replace these folders")
    return existing


def write_landing(tables: dict[str, pd.DataFrame], out: str | os.PathLike, overwrite: bool = False) -> None:
    """Write ``<out>/<source>/dt=YYYY-MM-DD/part-00000.csv`` (header, minimal RFC-4180 quoting, UTF-8)."""
    out = Path(out)
    existing = _check_out(out, overwrite)
    for name in existing:
        shutil.rmtree(out / name)
    for name, df in tables.items():
        cols = [c for c in df.columns if c != "dt"]
        for dt, part in df.groupby("dt", sort=True):
            folder = out / name / f"dt={dt}"
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / "part-00000.csv", "w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
                writer.writerow(cols)
                writer.writerows(part[cols].itertuples(index=False, name=None))


def run(
    source: str | os.PathLike,
    out: str | os.PathLike,
    customers_limit: int | None = None,
    overwrite: bool = False,
) -> Report:
    _check_out(Path(out), overwrite)  # fail before the work, not after it
    tables, report = convert(read_olist(source, customers_limit))
    write_landing(tables, out, overwrite=overwrite)
    report.out = str(out)
    return report


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.olist.adapter", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="folder with the Olist CSVs (default: $CRM_OLIST_DIR or <repo>/../shared/data/olist)",
    )
    parser.add_argument("--out", type=Path, required=True, help="landing folder to write into")
    parser.add_argument(
        "--customers-limit",
        type=int,
        default=None,
        metavar="N",
        help="keep only the first N customers (by customer_id) and their data",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the customers/products/orders/order_lines/reviews folders under --out",
    )
    args = parser.parse_args(argv)
    source = args.source or default_olist_dir()
    try:
        report = run(source, args.out, customers_limit=args.customers_limit, overwrite=args.overwrite)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
