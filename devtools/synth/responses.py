"""Response simulator: what the e-mail, SMS and call-centre systems would write back for a night's published actions.

``python -m devtools.synth.responses --run-date D --outbox DIR --landing DIR [--seed S]`` reads the outbox files
of run date D (``<outbox>/<channel>/dt=D/actions.parquet``; what a file-taking system receives) and writes, in the
landing contract, ``action_responses`` partitions (sent, delivered, opened, clicked, converted, bounced, unsubscribed,
complained) and what a conversion produces: an order with its lines (``orders`` / ``order_lines``), or a review for a
feedback request (``reviews``). Files are named ``part-actions-<D>.csv`` in the partition of the day each event
happens, so a re-run for D replaces exactly its own files. Every draw is a hash of (seed, action id, draw), so an
action's fate does not depend on the other actions of the batch and the same inputs give byte-identical files.

The planted response model (the ground truth the effectiveness mart must rediscover), per action:

    P(convert) = BASE[type] x CHANNEL_LIFT[channel] x fit(type, customer) x timing x gone, at most 0.9

- fit uses the latent traits in ``<landing>/_truth/customers.csv``: a replenishment reminder for a product among
  the customer's real ``replenishment_products`` fits (1.0; another product 0.1); a cross-sell in one of the
  customer's ``interest_categories`` fits (1.0; otherwise 0.15); service recovery after a real bad experience
  (``n_bad_experiences`` > 0) fits (1.0; otherwise 0.5); churn prevention for a customer whose drop-out
  probability is above the median fits (1.0; otherwise 0.5); win back works on drop-outs (1.0), hardly after a bad
  experience (0.3); the other types fit everyone (1.0);
- timing: sent within an hour of the customer's true ``preferred_contact_hour`` x 1.25, otherwise x 0.8;
- gone: a customer who already churned for good responds at 0.3 of the rate (win back excepted).

Control-group and holdout customers are never in the outbox, so they never respond: their orders are the ones the
generator already wrote, which is what makes the uplift measurable.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow.parquet as pq

from proactive_crm.landing.contract import SOURCES

CHANNELS = ("email", "sms", "call_center")
BASE = {
    "service_recovery": 0.12,
    "replenishment_reminder": 0.30,
    "maintenance_reminder": 0.10,
    "cart_recovery": 0.15,
    "churn_prevention": 0.06,
    "win_back": 0.05,
    "cross_sell": 0.05,
    "vip_recognition": 0.08,
    "special_date": 0.08,
    "feedback_request": 0.15,
}
CHANNEL_LIFT = {"email": 1.0, "sms": 1.3, "call_center": 2.5}
MAX_CONVERSION = 0.9
BOUNCE = {"email": 0.015, "sms": 0.01, "call_center": 0.0}
REACHED = {"email": 1.0, "sms": 1.0, "call_center": 0.7}  # call centre: delivered = the customer was reached
OPEN = {"email": 0.45, "sms": 0.0, "call_center": 0.0}  # SMS and calls report no opens
CLICK = {"email": 0.30, "sms": 0.15, "call_center": 0.0}
UNSUBSCRIBE = {"email": 0.004, "sms": 0.006, "call_center": 0.01}
COMPLAIN = {"email": 0.0008, "sms": 0.0015, "call_center": 0.0}
CONVERSION_DAYS = 1.5  # mean delay of a conversion after the click (exponential), within the window
WINDOW_DAYS = 6
PREFIX = "part-actions-"


@dataclass
class Written:
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    files: int = 0
    actions: int = 0
    conversions: int = 0

    def summary(self) -> str:
        rows = ", ".join(f"{k} {v:,}" for k, v in sorted(self.rows.items()))
        return f"{self.actions:,} actions -> {self.conversions:,} conversions; rows: {rows} in {self.files} file(s)"


def uniform(seed: int, action_id: str, draw: str) -> float:
    digest = hashlib.sha256(f"{seed}|{action_id}|{draw}".encode()).hexdigest()
    return int(digest[:13], 16) / 16**13


def read_outbox(outbox: Path, run_date: date) -> pd.DataFrame:
    frames = []
    for channel in CHANNELS:
        folder = outbox / channel / f"dt={run_date.isoformat()}"
        if not (folder / "_manifest.json").exists():  # not (completely) published: nothing was sent
            continue
        frame = pq.read_table(folder / "actions.parquet").to_pandas()
        frame["channel"] = channel
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def read_truth(landing: Path) -> dict[str, dict[str, str]]:
    path = landing / "_truth" / "customers.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: the response simulator needs the generator's ground truth")
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["customer_id"]: row for row in csv.DictReader(handle)}


def read_catalogue(landing: Path) -> dict[str, dict[str, str]]:
    """The latest version of every product in the landing files."""
    latest: dict[str, dict[str, str]] = {}
    for path in sorted((landing / "products").glob("dt=*/*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["product_id"] not in latest or row["updated_at"] >= latest[row["product_id"]]["updated_at"]:
                    latest[row["product_id"]] = row
    return latest


def fit(action_type: str, products: list[dict], truth: dict[str, str], median_dropout: float) -> float:
    if action_type == "replenishment_reminder":
        habits = set(filter(None, truth.get("replenishment_products", "").split(";")))
        return 1.0 if any(p["product_id"] in habits for p in products) else 0.1
    if action_type == "cross_sell":
        interests = set(filter(None, truth.get("interest_categories", "").split(";")))
        return 1.0 if any(p.get("category") in interests for p in products) else 0.15
    if action_type == "service_recovery":
        return 1.0 if int(truth.get("n_bad_experiences") or 0) > 0 else 0.5
    if action_type == "churn_prevention":
        return 1.0 if float(truth.get("dropout_prob") or 0) > median_dropout else 0.5
    if action_type == "win_back":
        return 0.3 if truth.get("churn_reason") == "bad_experience" else 1.0
    return 1.0


def gone(truth: dict[str, str], run_date: date) -> bool:
    churn = truth.get("churn_date") or ""
    return truth.get("churned") == "true" and bool(churn) and date.fromisoformat(churn) < run_date


def timing(send_after: datetime, time_zone: str | None, truth: dict[str, str]) -> float:
    preferred = truth.get("preferred_contact_hour")
    if not preferred:
        return 1.0
    zone = ZoneInfo(time_zone or truth.get("time_zone") or "UTC")
    hour = send_after.astimezone(zone).hour
    distance = min((hour - int(preferred)) % 24, (int(preferred) - hour) % 24)
    return 1.25 if distance <= 1 else 0.8


def conversion_probability(action: dict, truth: dict[str, str] | None, run_date: date, median_dropout: float) -> float:
    if truth is None:
        return 0.0
    p = BASE.get(action["action_type"], 0.05) * CHANNEL_LIFT[action["channel"]]
    p *= fit(action["action_type"], action["products"], truth, median_dropout)
    p *= timing(action["send_after"], action.get("time_zone"), truth)
    if action["action_type"] != "win_back" and gone(truth, run_date):
        p *= 0.3
    return min(p, MAX_CONVERSION)


@dataclass
class Events:
    responses: list[tuple] = field(default_factory=list)
    orders: list[tuple] = field(default_factory=list)
    lines: list[tuple] = field(default_factory=list)
    reviews: list[tuple] = field(default_factory=list)


def _at(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds")


def simulate_action(action: dict, p_convert: float, seed: int, catalogue: dict, truth: dict | None,
                    events: Events) -> bool:
    """The funnel of one action; returns whether it converted."""
    aid, channel, customer = action["action_id"], action["channel"], action["customer_id"]

    def u(draw: str) -> float:
        return uniform(seed, aid, draw)

    def emit(status: str, t: datetime) -> None:
        events.responses.append((aid, customer, channel, status, _at(t)))

    hours = 3 if channel == "call_center" else 0.5
    sent = action["send_after"] + timedelta(hours=hours * u("send"))
    emit("sent", sent)
    if u("bounce") < BOUNCE[channel]:
        emit("bounced", sent + timedelta(minutes=1))
        return False
    if u("reached") >= REACHED[channel]:
        return False
    delivered = sent + timedelta(minutes=2 * u("deliver"))
    emit("delivered", delivered)
    converted = u("convert") < p_convert / REACHED[channel]
    opened_at = delivered + timedelta(hours=-3 * math.log(1 - u("open_delay") * 0.999))
    opened = converted or u("open") < OPEN[channel]
    if OPEN[channel] and opened:
        emit("opened", opened_at)
    clicked_at = opened_at + timedelta(minutes=1 + 9 * u("click_delay"))
    if channel != "call_center" and (converted or (opened or not OPEN[channel]) and u("click") < CLICK[channel]):
        emit("clicked", clicked_at)
    if converted:
        delay = min(-CONVERSION_DAYS * math.log(1 - u("convert_delay") * 0.999), WINDOW_DAYS - 1)
        converted_at = (clicked_at if channel != "call_center" else delivered) + timedelta(days=delay)
        emit("converted", converted_at)
        _conversion(action, converted_at, seed, catalogue, truth, events)
        return True
    if u("unsubscribe") < UNSUBSCRIBE[channel]:
        emit("unsubscribed", opened_at + timedelta(minutes=2))
    elif u("complain") < COMPLAIN[channel]:
        emit("complained", opened_at + timedelta(minutes=3))
    return False


def _pick_product(action: dict, seed: int, catalogue: dict, truth: dict | None) -> list[dict]:
    if action["products"]:
        return action["products"][:2]
    interests = set(filter(None, (truth or {}).get("interest_categories", "").split(";")))
    options = sorted(pid for pid, p in catalogue.items() if p["category"] in interests) or sorted(catalogue)
    if not options:
        return []
    chosen = catalogue[options[int(uniform(seed, action["action_id"], "product") * len(options))]]
    return [{"product_id": chosen["product_id"], "price": float(chosen["price"]), "category": chosen["category"]}]


def _conversion(action: dict, at: datetime, seed: int, catalogue: dict, truth: dict | None, events: Events) -> None:
    aid, customer = action["action_id"], action["customer_id"]
    products = _pick_product(action, seed, catalogue, truth)
    if action["action_type"] == "feedback_request":
        bad = int((truth or {}).get("n_bad_experiences") or 0) > 0
        draw = uniform(seed, aid, "rating")
        rating = (5 if draw < 0.35 else 4 if draw < 0.6 else 3 if draw < 0.8 else 2) if bad else (
            5 if draw < 0.6 else 4 if draw < 0.9 else 3)
        product = products[0]["product_id"] if products else ""
        events.reviews.append((f"RA{aid[1:15]}", customer, str(rating), "review", _at(at), "", product,
                               "Bewertung nach Erinnerung."))
        return
    if not products:
        return
    order_id = f"OA{aid[1:15]}"
    total = 0.0
    for number, product in enumerate(products, start=1):
        price = float(product.get("price") or catalogue.get(product["product_id"], {}).get("price") or 0)
        total += price
        events.lines.append((order_id, str(number), product["product_id"], "1", f"{price:.2f}", "0.00"))
    channel = "app" if uniform(seed, aid, "order_channel") < 0.3 else "web"
    events.orders.append((order_id, customer, _at(at), channel, "completed", "EUR", f"{total:.2f}", "0.00"))


def _write(landing: Path, source: str, run_date: date, rows: list[tuple[str, tuple]], written: Written) -> None:
    """(day, row) pairs into the partition of each day, one file per partition and run date; a re-run replaces
    the files it wrote before, wherever they went."""
    name = f"{PREFIX}{run_date.isoformat()}.csv"
    for old in (landing / source).glob(f"dt=*/{name}"):
        old.unlink()
    columns = SOURCES[source].column_names
    by_day: dict[str, list[tuple]] = defaultdict(list)
    for day, row in rows:
        if len(row) != len(columns):  # a contract column added without this writer: fail here, not as rejections
            raise ValueError(f"{source}: {len(row)} values for the {len(columns)} contract columns {columns}")
        by_day[day].append(row)
    for day, day_rows in sorted(by_day.items()):
        folder = landing / source / f"dt={day}"
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{name}.tmp"  # hidden: the loader never picks up a half-written file
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(sorted(day_rows))
        temporary.replace(folder / name)
        written.rows[source] += len(day_rows)
        written.files += 1


def simulate(outbox: Path, landing: Path, run_date: date, seed: int = 0) -> Written:
    actions = read_outbox(outbox, run_date)
    written = Written(actions=len(actions))
    truth = read_truth(landing)
    catalogue = read_catalogue(landing)
    dropouts = sorted(float(t["dropout_prob"] or 0) for t in truth.values())
    median_dropout = dropouts[len(dropouts) // 2] if dropouts else 0.0
    events = Events()
    for record in actions.sort_values("action_id").to_dict("records") if len(actions) else []:
        payload = json.loads(record["personalisation"])
        action = {
            "action_id": record["action_id"],
            "customer_id": record["customer_id"],
            "channel": record["channel"],
            "action_type": record["action_type"],
            "send_after": pd.Timestamp(record["send_after"]).to_pydatetime(),
            "time_zone": record.get("time_zone") if isinstance(record.get("time_zone"), str) else None,
            "products": payload.get("products") or [],
        }
        customer_truth = truth.get(action["customer_id"])
        p = conversion_probability(action, customer_truth, run_date, median_dropout)
        written.conversions += simulate_action(action, p, seed, catalogue, customer_truth, events)
    order_days = {o[0]: o[2][:10] for o in events.orders}  # lines go to the partition of their order
    _write(landing, "action_responses", run_date, [(r[4][:10], r) for r in events.responses], written)
    _write(landing, "orders", run_date, [(o[2][:10], o) for o in events.orders], written)
    _write(landing, "order_lines", run_date, [(order_days[line[0]], line) for line in events.lines], written)
    _write(landing, "reviews", run_date, [(r[4][:10], r) for r in events.reviews], written)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.synth.responses", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--run-date", type=date.fromisoformat, required=True, help="run date of the published batch")
    parser.add_argument("--outbox", type=Path, required=True, help="outbox directory the actions were published to")
    parser.add_argument("--landing", type=Path, required=True, help="landing directory (with _truth/) to write to")
    parser.add_argument("--seed", type=int, default=0, help="seed of the response draws (default 0)")
    args = parser.parse_args(argv)
    try:
        written = simulate(args.outbox, args.landing, args.run_date, args.seed)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"[responses] {args.run_date}: {written.summary()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
