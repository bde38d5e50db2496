"""Text rows for orders and order lines (landing) and for the per-order ground truth."""

from __future__ import annotations

import numpy as np

from devtools.synth.clock import Clock, bools, iso_naive, iso_utc, money
from devtools.synth.customers import customer_ids
from devtools.synth.experience import SITUATIONS, Outcome
from devtools.synth.orders import STORE, TRIGGERS, DayOrders
from devtools.synth.population import CHURN_REASONS
from proactive_crm.landing.contract import ORDER_CHANNELS, ORDER_STATUSES

TRUTH_ORDER_COLUMNS = (
    "order_id",
    "customer_id",
    "ordered_at",
    "channel",
    "status",
    "late",
    "experience",
    "trigger",
    "complaint",
    "churn_after",
)


def order_ids(order_no: np.ndarray) -> list[str]:
    return [f"O{o:09d}" for o in order_no.tolist()]


def ordered_at(orders: DayOrders, clock: Clock, d: int, naive_store_zone: int | None) -> list[str]:
    """UTC with offset; with ``naive_store_zone`` (dirty mode) store tills write naive store-local time."""
    epoch = clock.epoch(d) + orders.second
    text = iso_utc(epoch)
    if naive_store_zone is not None:
        store = np.flatnonzero(orders.channel == STORE)
        local = iso_naive(epoch[store] + clock.offsets[naive_store_zone, d])
        for i, value in zip(store.tolist(), local, strict=True):
            text[i] = value
    return text


def order_rows(orders: DayOrders, order_no: np.ndarray, timestamps: list[str]) -> list[tuple[str, ...]]:
    """order_id, customer_id, ordered_at, channel, status, currency, total_amount, shipping_amount."""
    rows = zip(
        order_ids(order_no),
        customer_ids(orders.customer),
        timestamps,
        [ORDER_CHANNELS[c] for c in orders.channel.tolist()],
        [ORDER_STATUSES[s] for s in orders.status.tolist()],
        ["EUR"] * len(orders),
        money(orders.total_cents),
        ["0.00"] * len(orders),  # the generated shop delivers for free: its totals are the lines' sum
        strict=True,
    )
    return list(rows)


def line_rows(orders: DayOrders, order_no: np.ndarray, product_ids: list[str]) -> list[tuple[str, ...]]:
    """order_id, line_number, product_id, quantity, unit_price, discount_amount."""
    rows = zip(
        order_ids(order_no[orders.line_order]),
        [str(n) for n in orders.line_number.tolist()],
        [product_ids[p] for p in orders.line_product.tolist()],
        [str(q) for q in orders.line_qty.tolist()],
        money(orders.line_price),
        money(orders.line_discount),
        strict=True,
    )
    return list(rows)


def truth_order_rows(
    orders: DayOrders, order_no: np.ndarray, outcome: Outcome, clock: Clock, d: int
) -> list[tuple[str, ...]]:
    rows = zip(
        order_ids(order_no),
        customer_ids(orders.customer),
        iso_utc(clock.epoch(d) + orders.second),
        [ORDER_CHANNELS[c] for c in orders.channel.tolist()],
        [ORDER_STATUSES[s] for s in orders.status.tolist()],
        bools(orders.late),
        [SITUATIONS[s] for s in outcome.situation.tolist()],
        [TRIGGERS[t] for t in orders.trigger.tolist()],
        bools(outcome.complaint),
        [CHURN_REASONS[r] for r in outcome.churn_caused.tolist()],
        strict=True,
    )
    return list(rows)
