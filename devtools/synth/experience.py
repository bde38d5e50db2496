"""What happens after an order: drop-out, reviews, complaints and consent withdrawn after a complaint.

A bad experience (late delivery, cancellation, return) lowers ratings, may produce a complaint, and clearly
raises the chance that the customer leaves for good right after that order, on top of the customer's own
BG/NBD-style drop-out probability. Reviews and complaints are written 2-10 days after the order and wait in a
small queue until their day comes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from devtools.synth.clock import DAY, HOUR, Clock, iso_utc
from devtools.synth.customers import Identity, customer_ids
from devtools.synth.orders import CANCELLED, RETURNED, DayOrders
from devtools.synth.population import CHURN_REASONS, NEVER, Population
from devtools.synth.vocab import COMPLAINT_BODIES, REVIEW_BODIES

SITUATIONS = ("good", "late", "cancelled", "returned")
REVIEW_PROB = {"good": 0.16, "bad": 0.30}
COMPLAINT_PROB = 0.30  # of bad experiences
CHURN_AFTER_COMPLAINT = 0.40
CHURN_AFTER_BAD = 0.15
WITHDRAW_AFTER_COMPLAINT = 0.30  # complainers who also withdraw their e-mail consent
GOOD_RATINGS = (0.02, 0.03, 0.10, 0.30, 0.55)  # P(rating = 1..5)
BAD_RATINGS = (0.35, 0.30, 0.20, 0.10, 0.05)
COMPLAINT_RATINGS = (0.70, 0.30, 0.0, 0.0, 0.0)
REVIEW_DELAY_DAYS = (2, 10)


@dataclass
class Outcome:
    situation: np.ndarray  # per order, index into SITUATIONS
    complaint: np.ndarray  # bool
    churn_caused: np.ndarray  # index into CHURN_REASONS ("" when the customer stayed)


class ReviewQueue:
    """Reviews and complaints waiting for the day they are written (at most REVIEW_DELAY_DAYS ahead)."""

    def __init__(self) -> None:
        self._pending: dict[int, list[dict[str, np.ndarray]]] = defaultdict(list)

    def add(self, day: np.ndarray, **columns: np.ndarray) -> None:
        for d in np.unique(day).tolist():
            mask = day == d
            self._pending[d].append({k: v[mask] for k, v in columns.items()})

    def take(self, d: int) -> dict[str, np.ndarray] | None:
        parts = self._pending.pop(d, None)
        if not parts:
            return None
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def situation_of(orders: DayOrders) -> np.ndarray:
    situation = np.where(orders.late, SITUATIONS.index("late"), SITUATIONS.index("good"))
    situation = np.where(orders.status == RETURNED, SITUATIONS.index("returned"), situation)
    return np.where(orders.status == CANCELLED, SITUATIONS.index("cancelled"), situation)


def apply_experience(
    pop: Population,
    ident: Identity,
    orders: DayOrders,
    order_no: np.ndarray,
    d: int,
    queue: ReviewQueue,
    rng: np.random.Generator,
) -> Outcome:
    n, cust = len(orders), orders.customer
    situation = situation_of(orders)
    bad = situation != SITUATIONS.index("good")
    complaint = bad & (rng.random(n) < COMPLAINT_PROB)
    outcome = Outcome(situation, complaint, _churn(pop, cust, bad, complaint, d, rng))
    pop.n_bad[cust[bad]] += 1
    pop.first_bad_day[cust[bad]] = np.minimum(pop.first_bad_day[cust[bad]], d)

    review = ~complaint & (rng.random(n) < np.where(bad, REVIEW_PROB["bad"], REVIEW_PROB["good"]))
    writes = np.flatnonzero(review | complaint)
    created = d + rng.integers(REVIEW_DELAY_DAYS[0], REVIEW_DELAY_DAYS[1] + 1, size=len(writes))
    first_line = np.searchsorted(orders.line_order, writes)  # lines are grouped by order, line 1 first
    product = np.where(situation[writes] == SITUATIONS.index("cancelled"), -1, orders.line_product[first_line])
    queue.add(
        created,
        customer=cust[writes],
        order_no=order_no[writes],
        product=product,
        complaint=complaint[writes],
        situation=situation[writes],
        rating=_ratings(bad[writes], complaint[writes], rng),
    )
    withdraw = writes[complaint[writes] & (rng.random(len(writes)) < WITHDRAW_AFTER_COMPLAINT)]
    when = created[np.isin(writes, withdraw)]
    ident.withdraw_day[cust[withdraw]] = np.minimum(ident.withdraw_day[cust[withdraw]], when)
    return outcome


def _churn(
    pop: Population, cust: np.ndarray, bad: np.ndarray, complaint: np.ndarray, d: int, rng: np.random.Generator
) -> np.ndarray:
    """Decide who leaves for good after today's order; they are inactive from tomorrow."""
    n = len(cust)
    bad_churn = bad & (rng.random(n) < np.where(complaint, CHURN_AFTER_COMPLAINT, CHURN_AFTER_BAD))
    dropout = rng.random(n) < pop.dropout_prob[cust]
    leaves = (bad_churn | dropout) & (pop.churn_day[cust] == NEVER)
    reason = np.where(bad_churn, CHURN_REASONS.index("bad_experience"), CHURN_REASONS.index("dropout"))
    reason = np.where(leaves, reason, 0)
    pop.churn_day[cust[leaves]] = d + 1
    pop.churn_reason[cust[leaves]] = reason[leaves]
    return reason


def _ratings(bad: np.ndarray, complaint: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rating = rng.choice(np.arange(1, 6), size=len(bad), p=GOOD_RATINGS)
    rating = np.where(bad, rng.choice(np.arange(1, 6), size=len(bad), p=BAD_RATINGS), rating)
    return np.where(complaint, rng.choice(np.arange(1, 6), size=len(bad), p=COMPLAINT_RATINGS), rating)


def review_rows(
    due: dict[str, np.ndarray],
    pop: Population,
    clock: Clock,
    d: int,
    first_review_no: int,
    product_ids: list[str],
    rng: np.random.Generator,
) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Rows (review_id, customer_id, rating, kind, created_at, order_id, product_id, body), sorted by time,
    and the review numbers used."""
    cust = due["customer"]
    local = pop.pref_hour[cust] * HOUR + rng.integers(-3 * HOUR, 3 * HOUR, size=len(cust))
    second = clock.local_to_utc_seconds(d, pop.zone[cust], local % DAY)
    by_time = np.lexsort((due["order_no"], second))
    cust, second = cust[by_time], second[by_time]
    cols = {k: v[by_time] for k, v in due.items()}
    numbers = first_review_no + np.arange(len(cust))
    bodies = [
        _body(bool(c), int(s), rng) for c, s in zip(cols["complaint"].tolist(), cols["situation"].tolist(), strict=True)
    ]
    rows = zip(
        [f"R{i:08d}" for i in numbers.tolist()],
        customer_ids(cust),
        [str(r) for r in cols["rating"].tolist()],
        ["complaint" if c else "review" for c in cols["complaint"].tolist()],
        iso_utc(clock.epoch(d) + second),
        [f"O{o:09d}" for o in cols["order_no"].tolist()],
        [product_ids[p] if p >= 0 else "" for p in cols["product"].tolist()],
        bodies,
        strict=True,
    )
    return list(rows), numbers


def _body(complaint: bool, situation: int, rng: np.random.Generator) -> str:
    name = SITUATIONS[situation]
    options = COMPLAINT_BODIES[name] if complaint else REVIEW_BODIES[name]
    return options[int(rng.integers(0, len(options)))]
