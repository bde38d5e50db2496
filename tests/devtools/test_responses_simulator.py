"""The response simulator (devtools/synth/responses.py): deterministic, contract-shaped, and the planted model."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from devtools.synth import responses
from proactive_crm.actions import contract
from proactive_crm.actions.publish import write_files
from proactive_crm.landing.contract import SOURCES

RUN = date(2026, 10, 31)
PRODUCTS = [("P00001", "coffee", "12.99"), ("P00002", "tea", "4.99")]


def landing_with_truth(root: Path, n: int) -> Path:
    landing = root / "landing"
    (landing / "_truth").mkdir(parents=True)
    with open(landing / "_truth" / "customers.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "replenishment_products", "interest_categories", "preferred_contact_hour",
                         "time_zone", "n_bad_experiences", "dropout_prob", "churned", "churn_date", "churn_reason"])
        for i in range(n):
            writer.writerow([f"C{i:07d}", "P00001", "coffee;pet_food", "18", "Europe/Berlin", "0", "0.03", "false",
                             "", ""])
    folder = landing / "products" / "dt=2026-05-01"
    folder.mkdir(parents=True)
    with open(folder / "part-00000.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SOURCES["products"].column_names)
        for pid, category, price in PRODUCTS:
            writer.writerow([pid, f"{category} product", category, price, "true", "2026-05-01T00:00:00+00:00", "1",
                             "30", ""])
    return landing


def outbox_with(root: Path, n: int, product: str) -> Path:
    outbox = root / "outbox"
    names = [c.name for c in contract.columns("email")]
    published = datetime(2026, 11, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        send = datetime(2026, 11, 1, 17, tzinfo=UTC)  # 18:00 in Berlin: the customers' preferred hour
        payload = {"first_name": "A", "products": [{"product_id": product, "name": "x", "category": "coffee",
                                                     "price": 12.99}], "offer": {"kind": "none"}}
        rows.append((f"A{product}{i:06d}", RUN, RUN + timedelta(days=1), f"C{i:07d}", f"k{i}@example.de",
                     "replenishment_reminder", i + 1, 1, "why", "replenishment_reminder.email", json.dumps(payload),
                     send, send + timedelta(hours=72), "{}", "beta_binomial_prior", contract.CONTRACT_VERSION,
                     published))
    for channel in ("email", "sms", "call_center"):
        folder = outbox / channel / f"dt={RUN}"
        channel_names = [c.name for c in contract.columns(channel)]
        write_files(folder, channel, channel_names, rows if channel == "email" else [], RUN, published)
    assert names == [c.name for c in contract.columns("email")]
    return outbox


def rows_of(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))[1:]


def files(landing: Path) -> dict[str, bytes]:
    return {p.relative_to(landing).as_posix(): p.read_bytes() for p in landing.glob("*/dt=*/part-actions-*.csv")}


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    return landing_with_truth(tmp_path, 600), outbox_with(tmp_path, 600, "P00001")


def test_same_seed_same_files_and_a_rerun_replaces_them(world) -> None:
    landing, outbox = world
    responses.simulate(outbox, landing, RUN, seed=4)
    first = files(landing)
    responses.simulate(outbox, landing, RUN, seed=4)
    assert files(landing) == first and first
    responses.simulate(outbox, landing, RUN, seed=5)
    assert files(landing) != first


def test_files_follow_the_landing_contract(world) -> None:
    landing, outbox = world
    written = responses.simulate(outbox, landing, RUN, seed=1)
    assert written.actions == 600 and written.conversions > 0
    for path in landing.glob("*/dt=*/part-actions-*.csv"):
        source = path.parent.parent.name
        with open(path, newline="") as handle:
            reader = csv.reader(handle)
            assert next(reader) == list(SOURCES[source].column_names)
            rows = list(reader)
        assert rows
        if source == "action_responses":
            statuses = {r[3] for r in rows}
            assert statuses <= set(SOURCES[source].column("status").allowed)
            assert all(r[4][:10] == path.parent.name[3:] for r in rows)  # partition = day of the event
    orders = [r for p in landing.glob("orders/dt=*/part-actions-*.csv") for r in rows_of(p)]
    lines = [r for p in landing.glob("order_lines/dt=*/part-actions-*.csv") for r in rows_of(p)]
    assert len(orders) == written.conversions == len({line[0] for line in lines})


def test_well_targeted_reminders_convert_more(tmp_path: Path) -> None:
    landing = landing_with_truth(tmp_path, 600)
    good = responses.simulate(outbox_with(tmp_path / "good", 600, "P00001"), landing, RUN, seed=2).conversions
    bad = responses.simulate(outbox_with(tmp_path / "bad", 600, "P00002"), landing, RUN, seed=2).conversions
    assert good > 4 * bad and good > 100


def test_an_unpublished_batch_gets_no_responses(world) -> None:
    landing, outbox = world
    (outbox / "email" / f"dt={RUN}" / "_manifest.json").unlink()  # the publish never finished
    assert responses.simulate(outbox, landing, RUN, seed=1).actions == 0


def test_the_command_line(world, capsys) -> None:
    landing, outbox = world
    code = responses.main(["--run-date", RUN.isoformat(), "--outbox", str(outbox), "--landing", str(landing)])
    assert code == 0 and "conversions" in capsys.readouterr().err
