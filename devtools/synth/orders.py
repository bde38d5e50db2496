"""One day of orders: who orders (replenishment due or spontaneous), what, when, through which channel.

Replenishment dominates consumables: a slot that comes due is bought here with the customer's adherence
probability (otherwise it was bought elsewhere and the clock restarts), and every purchase of a consumable in
a slot's category resets that slot to ~use_cycle_days x quantity (log-normal noise). Spontaneous orders follow
the customer's gamma rate times weekly and yearly seasonality. Money is integer cents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devtools.synth.catalogue import Catalogue, sample_products
from devtools.synth.categories import CATEGORIES
from devtools.synth.clock import DAY, HOUR, Clock
from devtools.synth.population import CHANNEL_LOYALTY, SLOTS, Population

WEB, APP, STORE, MARKETPLACE = range(4)  # contract order of ORDER_CHANNELS
COMPLETED, CANCELLED, RETURNED = range(3)  # contract order of ORDER_STATUSES
TRIGGERS = ("spontaneous", "replenishment", "mixed", "first_order")
WEEKDAY_FACTOR = (1.15, 0.95, 0.90, 0.90, 0.85, 0.90, 1.35)  # Monday..Sunday: Sunday/Monday peaks, mean 1
MAX_LINES = 4
LINES_SHARE = (0.50, 0.28, 0.14, 0.08)  # 1..4 lines in a spontaneous order
TOP_UP_PROB = 0.25  # a replenishment order that also picks up something else
ADOPT_PROB = 0.3  # a consumable bought outside the customer's habits becomes one (if a slot is free)
INTEREST_SHARE = 0.55  # spontaneous lines from the customer's own categories
CANCEL_PROB, RETURN_PROB = 0.03, 0.04
LATE_PROB = {WEB: 0.06, APP: 0.06, MARKETPLACE: 0.14, STORE: 0.0}
DISCOUNT_PROB = 0.12
CYCLE_NOISE = 0.12  # sigma of the log-normal noise on replenishment gaps
STORE_OPEN, STORE_CLOSE = 9 * HOUR, 20 * HOUR


@dataclass
class DayOrders:
    customer: np.ndarray  # per order, sorted by time
    second: np.ndarray  # seconds into the UTC day
    channel: np.ndarray
    status: np.ndarray
    late: np.ndarray
    trigger: np.ndarray
    total_cents: np.ndarray
    line_order: np.ndarray  # per line: index of its order
    line_number: np.ndarray
    line_product: np.ndarray
    line_qty: np.ndarray
    line_price: np.ndarray
    line_discount: np.ndarray

    def __len__(self) -> int:
        return len(self.customer)

    @property
    def bad(self) -> np.ndarray:
        return self.late | (self.status != COMPLETED)


def activity_factor(clock: Clock, d: int) -> float:
    """Weekly pattern, a mild yearly growth trend and a pre-Christmas peak."""
    years = (clock.date(d).toordinal() - clock.date(0).replace(month=1, day=1).toordinal()) / 365
    christmas = 0.3 * np.exp(-(((clock.day_of_year(d) - 345) / 10) ** 2))
    return WEEKDAY_FACTOR[clock.weekday(d)] * (1 + 0.08 * years) * (1 + christmas)


def peak_factor(clock: Clock, d: int) -> float:
    """Carriers are overloaded before Christmas: more late deliveries."""
    return 1.0 + 1.0 * np.exp(-(((clock.day_of_year(d) - 350) / 8) ** 2))


def simulate_orders(
    pop: Population, cat: Catalogue, clock: Clock, d: int, store_zone: int, rng: np.random.Generator
) -> DayOrders:
    # a customer signing up today can only order after signing up: that is the first order, or nothing today
    joins_today = pop.signup_day == d
    first = np.flatnonzero(joins_today & pop.first_order_at_signup)
    active = pop.active(d) & (~joins_today | pop.first_order_at_signup)
    rate = pop.spontaneous_rate * activity_factor(clock, d)
    spont = np.flatnonzero(active & (rng.random(pop.n) < -np.expm1(-rate)))
    slot_c, slot_p, slot_q = _due_slot_lines(pop, cat, active, d, rng)
    top_up = np.unique(slot_c)
    spont = np.union1d(np.union1d(spont, first), top_up[rng.random(len(top_up)) < TOP_UP_PROB])
    sp_c, sp_p, sp_q = _spontaneous_lines(pop, cat, spont, rng)
    cust, prod, qty, from_slot = _merge_lines(
        cat, (slot_c, slot_p, slot_q, np.ones(len(slot_c), bool)), (sp_c, sp_p, sp_q, np.zeros(len(sp_c), bool))
    )
    _restart_cycles(pop, cat, cust, prod, qty, d, rng)
    _record_durables(pop, cat, cust, prod)
    return _build_orders(pop, cat, clock, d, store_zone, cust, prod, qty, from_slot, first, rng)


def cycle_gap(cat: Catalogue, prod: np.ndarray, qty: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.lognormal(0.0, CYCLE_NOISE, size=len(prod))
    return np.maximum(1, np.round(cat.use_cycle_days[prod] * qty * noise)).astype(np.int64)


def _due_slot_lines(pop: Population, cat: Catalogue, active: np.ndarray, d: int, rng: np.random.Generator):
    # '<=' so that a due line dropped by the 4-line cap is bought the next day
    cust, slot = np.nonzero((pop.slot_due <= d) & active[:, None])
    prod = pop.slot_product[cust, slot]
    qty = pop.slot_qty[cust, slot]
    buys = rng.random(len(cust)) < pop.adherence[cust]
    elsewhere = ~buys  # bought from a competitor: the cycle restarts without an order here
    pop.slot_due[cust[elsewhere], slot[elsewhere]] = d + cycle_gap(cat, prod[elsewhere], qty[elsewhere], rng)
    return cust[buys], prod[buys], qty[buys]


def _spontaneous_lines(pop: Population, cat: Catalogue, spont: np.ndarray, rng: np.random.Generator):
    n_lines = rng.choice(np.arange(1, MAX_LINES + 1), size=len(spont), p=LINES_SHARE)
    cust = np.repeat(spont, n_lines)
    weights = np.array([c.buy_weight for c in CATEGORIES])
    random_cat = rng.choice(len(CATEGORIES), size=len(cust), p=weights / weights.sum())
    own_cat = pop.interest[cust, rng.integers(0, 2, size=len(cust))]
    category = np.where(rng.random(len(cust)) < INTEREST_SHARE, own_cat, random_cat)
    prod = sample_products(cat, category, rng)
    qty = np.where(cat.is_consumable[prod], 1 + (rng.random(len(cust)) < 0.25), 1)
    owned = (pop.owned_durables[cust] >> cat.category[prod]) & 1  # a durable is bought once
    keep = cat.is_consumable[prod] | (owned == 0)
    return cust[keep], prod[keep], qty[keep].astype(np.int64)


def _merge_lines(cat: Catalogue, *parts: tuple[np.ndarray, ...]):
    """One order per customer: due lines first, one line per product, at most MAX_LINES lines."""
    cust, prod, qty, from_slot = (np.concatenate(a) for a in zip(*parts, strict=True))
    order = np.lexsort((~from_slot, cust))
    cust, prod, qty, from_slot = cust[order], prod[order], qty[order], from_slot[order]
    _, first = np.unique(cust * len(cat) + prod, return_index=True)
    keep = np.zeros(len(cust), dtype=bool)
    keep[first] = True
    cust, prod, qty, from_slot = cust[keep], prod[keep], qty[keep], from_slot[keep]
    rank = _rank_in_group(cust)
    keep = rank < MAX_LINES
    return cust[keep], prod[keep], qty[keep], from_slot[keep]


def _rank_in_group(sorted_keys: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal keys."""
    if len(sorted_keys) == 0:
        return np.zeros(0, dtype=np.int64)
    is_start = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    starts = np.flatnonzero(is_start)
    return np.arange(len(sorted_keys)) - starts[np.cumsum(is_start) - 1]


def _restart_cycles(pop, cat, cust, prod, qty, d, rng) -> None:
    """Any purchase of a consumable in a slot's category restarts that slot's cycle; a consumable from a new
    category may become a habit (a free slot adopts it)."""
    consumable = cat.is_consumable[prod]
    c, p, q = cust[consumable], prod[consumable], qty[consumable]
    gap = cycle_gap(cat, p, q, rng)
    matched = np.zeros(len(c), dtype=bool)
    for k in range(SLOTS):
        slot_prod = pop.slot_product[c, k]
        same = (slot_prod >= 0) & (cat.category[np.maximum(slot_prod, 0)] == cat.category[p])
        pop.slot_due[c[same], k] = d + gap[same]
        matched |= same
    free = pop.slot_product[c] < 0
    adopt = np.flatnonzero(~matched & free.any(axis=1) & (rng.random(len(c)) < ADOPT_PROB))
    adopt = adopt[np.unique(c[adopt], return_index=True)[1]]  # one new habit per customer and day
    slot = np.argmax(free[adopt], axis=1)
    pop.slot_product[c[adopt], slot] = p[adopt]
    pop.slot_qty[c[adopt], slot] = q[adopt]
    pop.slot_due[c[adopt], slot] = d + gap[adopt]


def _record_durables(pop: Population, cat: Catalogue, cust: np.ndarray, prod: np.ndarray) -> None:
    durable = ~cat.is_consumable[prod]
    bits = (np.int64(1) << cat.category[prod[durable]]).astype(pop.owned_durables.dtype)
    np.bitwise_or.at(pop.owned_durables, cust[durable], bits)


def _order_seconds(pop, clock, d, store_zone, cust, channel, first_mask, rng) -> np.ndarray:
    """Around the preferred local hour; store orders in store hours; first orders just after signing up."""
    local = pop.pref_hour[cust] * HOUR + HOUR // 2 + rng.normal(0, 1.25 * HOUR, size=len(cust)).astype(np.int64)
    online = clock.local_to_utc_seconds(d, pop.zone[cust], local % DAY)
    # Online orders fall in [01:00, 23:00) UTC: room for the web session before them, and an hour between a
    # visitor's sessions on consecutive days.
    online = np.where(online < HOUR, online + HOUR, np.where(online >= DAY - HOUR, online - HOUR, online))
    in_store = np.clip(local, STORE_OPEN, STORE_CLOSE - 1)
    store = clock.local_to_utc_seconds(d, np.full(len(cust), store_zone), in_store)
    second = np.where(channel == STORE, store, online)
    # 10-20 minutes: room for the late login (<= 2 steps of MAX_GAP before the purchase) after signing up
    after_signup = pop.signup_epoch[cust] - clock.epoch(d) + rng.integers(600, 1200, size=len(cust))
    return np.where(first_mask, np.minimum(after_signup, DAY - 1), second)


def _build_orders(pop, cat, clock, d, store_zone, cust, prod, qty, from_slot, first, rng) -> DayOrders:
    buyers, line_order = np.unique(cust, return_inverse=True)
    n = len(buyers)
    is_first = np.isin(buyers, first)
    other = (pop.pref_channel[buyers] + rng.integers(1, 4, size=n)) % 4
    loyal = is_first | (rng.random(n) < CHANNEL_LOYALTY)
    channel = np.where(loyal, pop.pref_channel[buyers], other)
    second = _order_seconds(pop, clock, d, store_zone, buyers, channel, is_first, rng)
    u = rng.random(n)
    status = np.where(u < CANCEL_PROB, CANCELLED, np.where(u < CANCEL_PROB + RETURN_PROB, RETURNED, COMPLETED))
    late_p = np.array([LATE_PROB[c] for c in range(4)])[channel] * peak_factor(clock, d)
    late = (status != CANCELLED) & (rng.random(n) < late_p)
    slot_any = np.bincount(line_order, weights=from_slot.astype(float), minlength=n) > 0
    spont_any = np.bincount(line_order, weights=(~from_slot).astype(float), minlength=n) > 0
    trigger = np.where(is_first, 3, np.where(slot_any & spont_any, 2, np.where(slot_any, 1, 0)))

    price = cat.price_cents[prod]
    pct = rng.choice([5, 10, 15, 20], size=len(prod))
    discount = np.where(rng.random(len(prod)) < DISCOUNT_PROB, np.round(qty * price * pct / 100), 0).astype(np.int64)
    total = np.bincount(line_order, weights=qty * price - discount, minlength=n).round().astype(np.int64)

    by_time = np.lexsort((buyers, second))  # order ids follow the clock
    rank = np.empty(n, dtype=np.int64)
    rank[by_time] = np.arange(n)
    lines = np.lexsort((np.arange(len(prod)), rank[line_order]))
    new_line_order = rank[line_order][lines]
    pop.n_orders[buyers] += 1
    return DayOrders(
        customer=buyers[by_time],
        second=second[by_time],
        channel=channel[by_time],
        status=status[by_time],
        late=late[by_time],
        trigger=trigger[by_time],
        total_cents=total[by_time],
        line_order=new_line_order,
        line_number=_rank_in_group(new_line_order) + 1,
        line_product=prod[lines],
        line_qty=qty[lines],
        line_price=price[lines],
        line_discount=discount[lines],
    )
