"""Reading the Olist export: the files and columns the adapter needs, as text, and Olist's timestamp form.

Olist data: "Brazilian E-Commerce Public Dataset by Olist", CC BY-NC-SA 4.0.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[2]

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

