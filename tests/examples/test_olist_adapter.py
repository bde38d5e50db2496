"""The Olist adapter (examples/olist/) against the landing contract, on the committed sample.

The last tests run on the full Olist copy in ``<repo>/../shared/data/olist`` (or ``$CRM_OLIST_DIR``) and are
skipped when it is absent.
"""

from __future__ import annotations

import csv
import re
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the examples package lives at the repo root, outside the installed package
    sys.path.insert(0, str(REPO))

from examples.olist import adapter  # noqa: E402
from examples.olist.make_sample import make_sample  # noqa: E402
from proactive_crm.landing.contract import ORDER_STATUSES, SOURCES  # noqa: E402

SAMPLE = REPO / "tests" / "fixtures" / "olist_sample"
PIPELINE_YML = REPO / "examples" / "olist" / "pipeline.yml"
NAIVE_TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
PART = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")
OLIST_STATUSES = ("delivered", "shipped", "canceled", "unavailable", "invoiced", "processing", "created", "approved")


def require_full_olist() -> Path:
    path = adapter.default_olist_dir()
    if not (path / "orders.csv").is_file():
        pytest.skip(
            f"{path} not found: the full Olist data lives in ../shared/data/olist next to the repo"
            " (or set CRM_OLIST_DIR)"
        )
    return path


def read_olist(root: Path, name: str) -> list[dict[str, str]]:
    with open(root / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def read_landing(root: Path, source: str) -> list[tuple[str, dict[str, str]]]:
    """(dt, row) for every row of every partition; checks the layout and the header on the way."""
    rows: list[tuple[str, dict[str, str]]] = []
    folder = root / source
    for part in sorted(folder.iterdir()):
        m = PART.match(part.name)
        assert m, f"{part} is not a dt=YYYY-MM-DD partition"
        assert [p.name for p in part.iterdir()] == ["part-00000.csv"], part
        with open(part / "part-00000.csv", encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            assert tuple(reader.fieldnames or ()) == SOURCES[source].column_names, part
            rows += [(m.group(1), row) for row in reader]
    return rows


def status_mapping() -> dict[str, str]:
    return yaml.safe_load(PIPELINE_YML.read_text(encoding="utf-8"))["value_mappings"]["orders.status"]


def _is_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


TYPE_CHECKS = {
    "int": lambda v: re.fullmatch(r"-?\d+", v) is not None,
    "numeric": lambda v: re.fullmatch(r"-?\d+(\.\d+)?", v) is not None,
    "bool": lambda v: v in ("true", "false"),
    "timestamp": _is_timestamp,
    "date": _is_date,
    "text": lambda v: True,
}


def check_value(column, value: str) -> str | None:
    """None when ``value`` is valid for the contract column, else the reason."""
    if value == "":
        return "required value is empty" if column.required else None
    if not TYPE_CHECKS[column.type](value):
        return f"not a {column.type}"
    if column.allowed is not None and value not in column.allowed:
        return f"not in {column.allowed}"
    if column.type in ("int", "numeric"):
        number = Decimal(value)
        if column.min_value is not None and number < Decimal(str(column.min_value)):
            return f"below {column.min_value}"
        if column.max_value is not None and number > Decimal(str(column.max_value)):
            return f"above {column.max_value}"
    return None


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> tuple[Path, adapter.Report]:
    out = tmp_path_factory.mktemp("olist_landing")
    report = adapter.run(SAMPLE, out)
    return out, report


@pytest.fixture(scope="module")
def tables(landing) -> dict[str, list[tuple[str, dict[str, str]]]]:
    out, _ = landing
    return {s: read_landing(out, s) for s in adapter.WRITTEN_SOURCES}


# ------------------------------------------------------------------------------------------- contract


def test_writes_only_the_sources_olist_has(landing):
    out, report = landing
    assert sorted(p.name for p in out.iterdir()) == sorted(adapter.WRITTEN_SOURCES)
    assert not (out / "web_events").exists() and not (out / "action_responses").exists()
    assert set(report.not_written) == {"web_events", "action_responses"}
    assert set(adapter.WRITTEN_SOURCES) | set(report.not_written) == set(SOURCES)


def test_every_value_matches_the_contract_after_the_status_mapping(tables):
    mapping = status_mapping()
    errors = []
    for source, rows in tables.items():
        for _, row in rows:
            for column in SOURCES[source].columns:
                value = row[column.name]
                if (source, column.name) == ("orders", "status"):
                    value = mapping.get(value, value)
                reason = check_value(column, value)
                if reason:
                    errors.append(f"{source}.{column.name}={row[column.name]!r}: {reason}")
    assert not errors, errors[:20]


def test_keys_are_unique(tables):
    for source, rows in tables.items():
        keys = Counter(tuple(r[k] for k in SOURCES[source].key) for _, r in rows)
        assert max(keys.values()) == 1, source


def test_partition_is_the_date_of_the_record(tables):
    date_column = {"customers": "signup_at", "products": "updated_at", "orders": "ordered_at", "reviews": "created_at"}
    for source, column in date_column.items():
        for dt, row in tables[source]:
            assert row[column][:10] == dt, (source, row)
    order_dt = {r["order_id"]: dt for dt, r in tables["orders"]}
    for dt, row in tables["order_lines"]:
        assert order_dt[row["order_id"]] == dt


def test_csv_format(landing):
    out, _ = landing
    for path in out.rglob("*.csv"):
        raw = path.read_bytes()
        raw.decode("utf-8")
        assert b"\r" not in raw and raw.endswith(b"\n"), path


def test_the_pipeline_loader_accepts_every_row(landing):
    """The project's own landing parser and validator, configured by examples/olist/pipeline.yml, reject nothing."""
    from proactive_crm.config import load_settings
    from proactive_crm.landing.discovery import discover
    from proactive_crm.landing.parse import parse_file
    from proactive_crm.landing.validate import validate

    out, report = landing
    settings = load_settings({"CRM_CONFIG": str(PIPELINE_YML)})
    assert settings.store_time_zone == "America/Sao_Paulo" and settings.currency == "BRL"
    for name in adapter.WRITTEN_SOURCES:
        source = SOURCES[name]
        loaded = 0
        for file in discover(out, source, date(2100, 1, 1)):
            parsed = parse_file(file, source, file.path.read_bytes())
            checked = validate(parsed, source, settings.store_time_zone, settings.value_mappings)
            assert not parsed.rejected and not len(checked.rejected), (file.path, list(checked.rejected)[:3])
            loaded += len(checked.rows)
        assert loaded == report.written[name], name


# ---------------------------------------------------------------------------------------- status mapping


def test_pipeline_yml_has_the_expected_shape():
    config = yaml.safe_load(PIPELINE_YML.read_text(encoding="utf-8"))
    assert set(config) == {"store_time_zone", "currency", "value_mappings", "quality"}
    ZoneInfo(config["store_time_zone"])
    # the only gate setting it changes: freshness of the line-based tables of this historical extract
    assert set(config["quality"]) == {"warehouse"} and set(config["quality"]["warehouse"]) == {"overrides"}
    assert {tuple(v) for v in config["quality"]["warehouse"]["overrides"].values()} == {("freshness",)}
    assert config["store_time_zone"] == adapter.STORE_TIME_ZONE == "America/Sao_Paulo"
    assert config["currency"] == adapter.CURRENCY == "BRL"
    for key in config["value_mappings"]:
        source, column = key.split(".")
        assert column in SOURCES[source].column_names


def test_status_mapping_covers_every_olist_status():
    mapping = status_mapping()
    assert set(mapping) == set(OLIST_STATUSES)
    assert set(mapping.values()) <= set(ORDER_STATUSES)
    assert mapping["delivered"] == "completed"
    assert mapping["canceled"] == mapping["unavailable"] == "cancelled"


def test_status_is_written_as_olist_wrote_it(tables):
    olist = {r["order_id"]: r["order_status"] for r in read_olist(SAMPLE, "orders.csv")}
    for _, row in tables["orders"]:
        assert row["status"] == olist[row["order_id"]]
    assert {"delivered", "canceled", "unavailable", "shipped"} <= {r["status"] for _, r in tables["orders"]}


# ------------------------------------------------------------------------------------------ accounting


def test_every_olist_row_appears_exactly_once(tables, landing):
    _, report = landing
    orders = read_olist(SAMPLE, "orders.csv")
    items = read_olist(SAMPLE, "order_items.csv")
    reviews = read_olist(SAMPLE, "order_reviews.csv")
    customers = read_olist(SAMPLE, "customers.csv")
    products = read_olist(SAMPLE, "products.csv")
    assert Counter(r["order_id"] for _, r in tables["orders"]) == Counter(r["order_id"] for r in orders)
    assert Counter((r["order_id"], r["line_number"]) for _, r in tables["order_lines"]) == Counter(
        (r["order_id"], r["order_item_id"]) for r in items
    )
    assert Counter((r["order_id"], r["rating"], r["created_at"]) for _, r in tables["reviews"]) == Counter(
        (r["order_id"], r["review_score"], r["review_creation_date"]) for r in reviews
    )
    assert Counter(r["customer_id"] for _, r in tables["customers"]) == Counter(r["customer_id"] for r in customers)
    assert Counter(r["product_id"] for _, r in tables["products"]) == Counter(r["product_id"] for r in products)
    assert report.dropped_total == 0 and report.dropped == {}
    assert report.written == {
        "customers": len(customers),
        "products": len(products),
        "orders": len(orders),
        "order_lines": len(items),
        "reviews": len(reviews),
    }


def test_order_totals_equal_payment_sums(tables):
    pay: dict[str, Decimal] = defaultdict(Decimal)
    for r in read_olist(SAMPLE, "order_payments.csv"):
        pay[r["order_id"]] += Decimal(r["payment_value"])
    for _, row in tables["orders"]:
        assert Decimal(row["total_amount"]) == pay[row["order_id"]], row
    # orders without items keep their payment total and get no lines
    with_lines = {r["order_id"] for _, r in tables["order_lines"]}
    no_items = [r for _, r in tables["orders"] if r["order_id"] not in with_lines]
    assert no_items and all(Decimal(r["total_amount"]) == pay[r["order_id"]] for r in no_items)


def test_freight_is_the_orders_shipping_amount(tables):
    freight: dict[str, Decimal] = defaultdict(Decimal)
    lines: dict[str, Decimal] = defaultdict(Decimal)
    for r in read_olist(SAMPLE, "order_items.csv"):
        freight[r["order_id"]] += Decimal(r["freight_value"])
        lines[r["order_id"]] += Decimal(r["price"])
    shipping = {r["order_id"]: Decimal(r["shipping_amount"]) for _, r in tables["orders"]}
    assert shipping == {order_id: freight.get(order_id, Decimal(0)) for order_id in shipping}
    # what the warehouse gate reconciles: lines + shipping = total, but for instalment interest and rounding
    totals = {r["order_id"]: Decimal(r["total_amount"]) for _, r in tables["orders"] if r["order_id"] in lines}
    off = [o for o, total in totals.items() if abs(total - shipping[o] - lines[o]) > Decimal("0.05")]
    assert len(off) <= 0.02 * len(totals)


def test_order_lines_copy_the_items(tables):
    items = {(r["order_id"], r["order_item_id"]): r for r in read_olist(SAMPLE, "order_items.csv")}
    for _, row in tables["order_lines"]:
        item = items[(row["order_id"], row["line_number"])]
        assert (row["product_id"], row["unit_price"]) == (item["product_id"], item["price"])
        assert (row["quantity"], row["discount_amount"]) == ("1", "0")


def test_orders_carry_olist_values(tables):
    olist = {r["order_id"]: r for r in read_olist(SAMPLE, "orders.csv")}
    for _, row in tables["orders"]:
        src = olist[row["order_id"]]
        assert row["customer_id"] == src["customer_id"]
        assert (row["channel"], row["currency"]) == ("marketplace", "BRL")


# ------------------------------------------------------------------------------------------ timestamps


def test_timestamps_are_written_naive_and_unchanged(tables):
    for source, rows in tables.items():
        ts_columns = [c.name for c in SOURCES[source].columns if c.type == "timestamp"]
        for _, row in rows:
            for c in ts_columns:
                assert NAIVE_TS.match(row[c]), (source, c, row[c])
    olist_orders = {r["order_id"]: r["order_purchase_timestamp"] for r in read_olist(SAMPLE, "orders.csv")}
    assert all(r["ordered_at"] == olist_orders[r["order_id"]] for _, r in tables["orders"])
    # the three purchases in the repeated hour of 2018-02-17 (DST end) are not shifted
    tz = ZoneInfo(adapter.STORE_TIME_ZONE)
    ambiguous = [r["ordered_at"] for _, r in tables["orders"] if adapter.local_time_issue(r["ordered_at"], tz)]
    assert sorted(ambiguous) == ["2018-02-17 23:02:57", "2018-02-17 23:28:37", "2018-02-17 23:33:56"]


def test_customer_signup_is_the_first_order(tables):
    first: dict[str, str] = {}
    for r in read_olist(SAMPLE, "orders.csv"):
        ts = r["order_purchase_timestamp"]
        first[r["customer_id"]] = min(ts, first.get(r["customer_id"], ts))
    for _, row in tables["customers"]:
        assert row["signup_at"] == row["updated_at"] == first[row["customer_id"]]


# -------------------------------------------------------------------------------------- nothing invented


def test_no_consent_or_contact_invented(tables):
    for _, row in tables["customers"]:
        assert (row["consent_email"], row["consent_sms"]) == ("false", "false")
        for c in ("email", "phone", "first_name", "last_name", "birth_date", "city", "time_zone"):
            assert row[c] == "", (c, row)
        assert row["country"] == "BR"
    for _, row in tables["reviews"]:
        assert (row["body"], row["product_id"], row["kind"]) == ("", "", "review")
    for _, row in tables["products"]:
        assert row["unit_cost"] == row["use_cycle_days"] == row["service_interval_days"] == ""


def test_products_follow_the_documented_rules(tables):
    translation = {
        r["product_category_name"]: r["product_category_name_english"]
        for r in read_olist(SAMPLE, "product_category_name_translation.csv")
    }
    prices: dict[str, list[Decimal]] = defaultdict(list)
    for r in read_olist(SAMPLE, "order_items.csv"):
        prices[r["product_id"]].append(Decimal(r["price"]))
    first_purchase = min(r["order_purchase_timestamp"] for r in read_olist(SAMPLE, "orders.csv"))
    olist = {r["product_id"]: r["product_category_name"] for r in read_olist(SAMPLE, "products.csv")}
    seen = Counter()
    for _, row in tables["products"]:
        pt = olist[row["product_id"]]
        expected = "unknown" if pt == "" else translation.get(pt, pt)
        seen["unknown" if pt == "" else ("translated" if pt in translation else "untranslated")] += 1
        assert row["category"] == expected
        assert row["name"] == f"{expected} {row['product_id'][:8]}"
        assert Decimal(row["price"]) == statistics.median(prices[row["product_id"]])
        assert row["is_consumable"] == ("true" if expected in adapter.CONSUMABLE_CATEGORIES else "false")
        assert row["updated_at"] == first_purchase
    assert seen["unknown"] and seen["untranslated"] and seen["translated"]


def test_review_ids_number_each_orders_reviews(tables):
    per_order: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    customer_of = {r["order_id"]: r["customer_id"] for _, r in tables["orders"]}
    for _, row in tables["reviews"]:
        order_id, k = row["review_id"].rsplit("-", 1)
        assert order_id == row["order_id"] and row["customer_id"] == customer_of[order_id]
        per_order[order_id].append((row["created_at"], row["rating"], int(k)))
    for order_id, reviews in per_order.items():
        assert [k for _, _, k in sorted(reviews)] == list(range(1, len(reviews) + 1)), order_id
    assert any(len(r) > 1 for r in per_order.values())


# ------------------------------------------------------------------------------------ determinism & CLI


def test_output_is_deterministic(landing, tmp_path):
    out, _ = landing
    adapter.run(SAMPLE, tmp_path)
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*.csv")}
    second = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*.csv")}
    assert first == second


def test_customers_limit(tmp_path):
    report = adapter.run(SAMPLE, tmp_path, customers_limit=20)
    chosen = sorted(r["customer_id"] for r in read_olist(SAMPLE, "customers.csv"))[:20]
    customers = read_landing(tmp_path, "customers")
    assert sorted(r["customer_id"] for _, r in customers) == chosen
    orders = read_landing(tmp_path, "orders")
    assert {r["customer_id"] for _, r in orders} <= set(chosen)
    assert len(orders) == sum(1 for r in read_olist(SAMPLE, "orders.csv") if r["customer_id"] in set(chosen))
    used = {r["product_id"] for _, r in read_landing(tmp_path, "order_lines")}
    assert {r["product_id"] for _, r in read_landing(tmp_path, "products")} == used
    assert report.dropped_total == 0


def test_cli_prints_the_report_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "landing"
    cmd = [sys.executable, "-m", "examples.olist.adapter", "--source", str(SAMPLE), "--out", str(out)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for text in ("Rows dropped: 0", "web_events", "action_responses", "Filled in", "Left empty", "orders   "):
        assert text in done.stdout, text
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert adapter.run(SAMPLE, out, customers_limit=5, overwrite=True).written["customers"] == 5
    assert len(read_landing(out, "customers")) == 5  # the old partitions are gone


def test_missing_column_is_reported(tmp_path):
    for name in adapter.OLIST_FILES.values():
        (tmp_path / name[0]).write_bytes((SAMPLE / name[0]).read_bytes())
    text = (tmp_path / "orders.csv").read_text(encoding="utf-8")
    (tmp_path / "orders.csv").write_text(text.replace("order_purchase_timestamp", "purchased"), encoding="utf-8")
    with pytest.raises(ValueError, match="order_purchase_timestamp"):
        adapter.read_olist(tmp_path)


# ------------------------------------------------------------------------------------------ the sample


def test_sample_is_small_attributed_and_covers_the_quirks():
    files = sorted(p.name for p in SAMPLE.glob("*.csv"))
    assert files == sorted(
        [
            "customers.csv",
            "orders.csv",
            "order_items.csv",
            "order_payments.csv",
            "order_reviews.csv",
            "products.csv",
            "product_category_name_translation.csv",
        ]
    )
    assert sum(p.stat().st_size for p in SAMPLE.iterdir()) < 1_000_000
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    assert "CC BY-NC-SA 4.0" in readme and "Olist" in readme
    orders = read_olist(SAMPLE, "orders.csv")
    per_customer = Counter(r["customer_id"] for r in orders)
    assert 250 <= len(read_olist(SAMPLE, "customers.csv")) <= 350
    assert sum(1 for n in per_customer.values() if n > 1) >= 30
    with_items = {r["order_id"] for r in read_olist(SAMPLE, "order_items.csv")}
    assert any(r["order_id"] not in with_items for r in orders)
    assert {"canceled", "unavailable", "created"} <= {r["order_status"] for r in orders}
    assert any(r["review_score"] in ("1", "2") for r in read_olist(SAMPLE, "order_reviews.csv"))


# ------------------------------------------------------------------------------------------- full data


def test_full_olist_row_accounting(tmp_path):
    source = require_full_olist()
    report = adapter.run(source, tmp_path)
    counts = {
        "customers": len(read_olist(source, "customers.csv")),
        "products": len(read_olist(source, "products.csv")),
        "orders": len(read_olist(source, "orders.csv")),
        "order_lines": len(read_olist(source, "order_items.csv")),
        "reviews": len(read_olist(source, "order_reviews.csv")),
    }
    assert report.written == counts
    assert report.dropped_total == 0
    orders = read_landing(tmp_path, "orders")
    assert Counter(r["order_id"] for _, r in orders) == Counter(r["order_id"] for r in read_olist(source, "orders.csv"))
    assert Counter((r["order_id"], r["line_number"]) for _, r in read_landing(tmp_path, "order_lines")) == Counter(
        (r["order_id"], r["order_item_id"]) for r in read_olist(source, "order_items.csv")
    )
    assert Counter((r["order_id"], r["rating"], r["created_at"]) for _, r in read_landing(tmp_path, "reviews")) == (
        Counter(
            (r["order_id"], r["review_score"], r["review_creation_date"])
            for r in read_olist(source, "order_reviews.csv")
        )
    )
    mapping = status_mapping()
    assert {r["status"] for _, r in orders} <= set(mapping)


def test_committed_sample_is_reproducible_from_the_full_data(tmp_path):
    source = require_full_olist()
    make_sample(source, tmp_path, log=lambda _: None)
    for path in tmp_path.glob("*.csv"):
        assert path.read_bytes() == (SAMPLE / path.name).read_bytes(), path.name
