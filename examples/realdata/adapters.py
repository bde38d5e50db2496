"""Ta-Feng and the BTYDplus grocery event log -> the landing contract, for ``benchmarks/realdata.py``.

Neither source has a customer table, consent, order ids or (grocery) money; what the adapter fills in:

* ``tafeng`` (../shared/data/tafeng/ta_feng.csv.zip): one order per customer and shopping day (the file has no
  basket id); one line per product with quantity AMOUNT and SALES_PRICE as the line total: unit price rounded up
  to the cent, the rounding returned as a discount, so lines sum exactly to SALES_PRICE. Products: the product
  subclass as category, not consumable (no use cycle is known, so the replenishment model has nothing to time).
* ``grocery_elog`` (../shared/data/grocery_elog/groceryElog.csv): one order per (customer, date) with one line of
  one unit at 1.00 of a single "grocery basket" product: the source has no amounts, so value results are counts
  of orders and the benchmark leaves value out for it.

Both: customers sign up on their first purchase day, without consent (no outbound actions), timestamps at noon
UTC (the sources hold dates only), status completed, channel web.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from examples.olist.landing_writer import write_landing
from examples.olist.mapping import _frame

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _customers(orders: pd.DataFrame) -> pd.DataFrame:
    first = orders.groupby("customer_id", as_index=False)["day"].min()
    stamp = first["day"].dt.strftime("%Y-%m-%dT12:00:00")
    return _frame(
        "customers",
        pd.DataFrame(
            {
                "customer_id": first["customer_id"],
                "signup_at": stamp,
                "consent_email": "false",
                "consent_sms": "false",
                "updated_at": stamp,
                "dt": first["day"].dt.strftime("%Y-%m-%d"),
            }
        ),
    )


def _orders(orders: pd.DataFrame, currency: str) -> pd.DataFrame:
    return _frame(
        "orders",
        pd.DataFrame(
            {
                "order_id": orders["order_id"],
                "customer_id": orders["customer_id"],
                "ordered_at": orders["day"].dt.strftime("%Y-%m-%dT12:00:00"),
                "channel": "web",
                "status": "completed",
                "currency": currency,
                "total_amount": orders["total"].map(lambda v: f"{v:.2f}"),
                "dt": orders["day"].dt.strftime("%Y-%m-%d"),
            }
        ),
    )


def tafeng(source: Path) -> dict[str, pd.DataFrame]:
    raw = pd.read_csv(source / "ta_feng.csv.zip", dtype=str)
    raw.columns = [c.strip().lstrip("\ufeff") for c in raw.columns]
    raw["day"] = pd.to_datetime(raw["TRANSACTION_DT"], format="%m/%d/%Y")
    raw["customer_id"] = "T" + raw["CUSTOMER_ID"].str.lstrip("0")
    raw["order_id"] = raw["customer_id"] + "-" + raw["day"].dt.strftime("%Y%m%d")
    qty = raw["AMOUNT"].astype("int64")
    cents = raw["SALES_PRICE"].astype("int64") * 100
    unit_cents = -(-cents // qty)  # rounded up to the cent
    raw = raw.sort_values(["order_id", "PRODUCT_ID"], kind="stable")
    lines = pd.DataFrame(
        {
            "order_id": raw["order_id"],
            "line_number": raw.groupby("order_id").cumcount() + 1,
            "product_id": "P" + raw["PRODUCT_ID"],
            "quantity": qty,
            "unit_price": (unit_cents / 100).map(lambda v: f"{v:.2f}"),
            "discount_amount": ((unit_cents * qty - cents) / 100).map(lambda v: f"{v:.2f}"),
            "dt": raw["day"].dt.strftime("%Y-%m-%d"),
        }
    )
    orders = raw.groupby(["order_id", "customer_id", "day"], as_index=False).agg(
        total=("SALES_PRICE", lambda s: s.astype("int64").sum())
    )
    first_day = raw["day"].min().strftime("%Y-%m-%d")
    products = raw.groupby("PRODUCT_ID", as_index=False).agg(
        category=("PRODUCT_SUBCLASS", "first"), price=("SALES_PRICE", lambda s: float(np.median(s.astype(float))))
    )
    products = pd.DataFrame(
        {
            "product_id": "P" + products["PRODUCT_ID"],
            "name": "product " + products["PRODUCT_ID"],
            "category": "subclass_" + products["category"],
            "price": products["price"].map(lambda v: f"{v:.2f}"),
            "is_consumable": "false",
            "updated_at": f"{first_day}T00:00:00",
            "dt": first_day,
        }
    )
    return {
        "customers": _customers(orders),
        "products": _frame("products", products),
        "orders": _orders(orders, "TWD"),
        "order_lines": _frame("order_lines", lines),
    }


def grocery_elog(source: Path) -> dict[str, pd.DataFrame]:
    raw = pd.read_csv(source / "groceryElog.csv", dtype={"cust": str, "date": str})
    raw["day"] = pd.to_datetime(raw["date"], format="%Y-%m-%d")
    raw["customer_id"] = "G" + raw["cust"]
    raw["order_id"] = raw["customer_id"] + "-" + raw["day"].dt.strftime("%Y%m%d")
    orders = raw.drop_duplicates("order_id").assign(total=1.0)
    first_day = raw["day"].min().strftime("%Y-%m-%d")
    products = pd.DataFrame(
        {
            "product_id": ["BASKET"],
            "name": ["grocery basket (the source has no products)"],
            "category": ["grocery"],
            "price": ["1.00"],
            "is_consumable": ["false"],
            "updated_at": [f"{first_day}T00:00:00"],
            "dt": [first_day],
        }
    )
    lines = pd.DataFrame(
        {
            "order_id": orders["order_id"],
            "line_number": 1,
            "product_id": "BASKET",
            "quantity": 1,
            "unit_price": "1.00",
            "discount_amount": "0.00",
            "dt": orders["day"].dt.strftime("%Y-%m-%d"),
        }
    )
    return {
        "customers": _customers(orders),
        "products": _frame("products", products),
        "orders": _orders(orders, "EUR"),
        "order_lines": _frame("order_lines", lines),
    }


ADAPTERS = {"tafeng": tafeng, "grocery_elog": grocery_elog}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.realdata.adapters", description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(ADAPTERS))
    parser.add_argument("--source", type=Path, help="the dataset's folder (default ../shared/data/<dataset>)")
    parser.add_argument("--out", type=Path, required=True, help="landing folder to write into")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    tables = ADAPTERS[args.dataset](args.source or SHARED / args.dataset)
    write_landing(tables, args.out, overwrite=args.overwrite)
    for name, frame in tables.items():
        print(f"{name:<12} {len(frame):>9,} rows in {frame['dt'].nunique():>4} partitions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
