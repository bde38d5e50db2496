"""Latent behaviour of every customer, held as numpy arrays (one element per customer, ids in signup order).

This is what the pipeline is meant to rediscover, and what ``_truth/customers.csv`` records:

* a heterogeneous spontaneous purchase rate (gamma) and a per-purchase drop-out probability (beta), BG/NBD
  style: after each order the customer may become inactive for good;
* up to three replenishment "slots": a favourite consumable bought again after ~use_cycle_days x quantity;
* a preferred order channel, a preferred contact hour in the customer's own time zone, one or two devices.

Customers who signed up before the window get a state as of the window start: still active or already gone
(``pre_window``), and for the active ones replenishment due dates at a random phase of their cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devtools.synth.arrays import assemble, compact
from devtools.synth.catalogue import Catalogue, sample_products
from devtools.synth.categories import CATEGORIES, CONSUMABLE_CATEGORIES
from devtools.synth.clock import DAY, HOUR, Clock

BUILD_CHUNK = 100_000  # customers drawn at a time
NEVER = 2**30  # a day index that never comes (fits the int32 day arrays)
SLOTS = 3
HISTORY_DAYS = 3 * 365  # customers signed up as early as three years before the window
SIGNUP_GROWTH = 0.35  # yearly growth of the signup rate: more customers join later
MEAN_SPONTANEOUS_RATE = 0.012  # unplanned orders per day (about 4 a year)
CHANNEL_SHARE = (0.45, 0.25, 0.20, 0.10)  # web, app, store, marketplace (contract order)
STORE_CHANNEL = 2
CHANNEL_LOYALTY = 0.75  # share of orders placed in the preferred channel
HOUR_WEIGHTS = np.array(
    [0, 0, 0, 0, 0, 0, 1, 5, 6, 3, 2, 2, 6, 5, 2, 3, 4, 4, 8, 12, 12, 9, 6, 2], dtype=float
)  # preferred contact hours: mornings, lunch and, mostly, evenings
DEVICES = ("desktop", "mobile", "tablet")
DEVICE_SHARE = (0.35, 0.55, 0.10)
CHURN_REASONS = ("", "dropout", "bad_experience", "pre_window")
# expected extra drop-out per order caused by bad experiences, used only to age pre-window customers
EXPECTED_BAD_CHURN_PER_ORDER = 0.028  # ~12.5% bad x (30% complain x 0.40 + 70% x 0.15)


@dataclass
class Population:
    n: int
    signup_epoch: np.ndarray  # int64 epoch seconds
    signup_day: np.ndarray  # day index (negative: before the window)
    first_order_at_signup: np.ndarray  # bool: a new customer who orders right when signing up
    spontaneous_rate: np.ndarray  # float, orders per day
    dropout_prob: np.ndarray  # float, chance of leaving for good after each order
    adherence: np.ndarray  # float, chance a due replenishment is bought here (not elsewhere)
    pref_channel: np.ndarray  # int, index into ORDER_CHANNELS
    pref_hour: np.ndarray  # local hour 0-23 (int64: it is multiplied by HOUR)
    zone: np.ndarray  # int, index into Clock.zones
    interest: np.ndarray  # (n, 2) consumable category indices the customer cares about
    slot_product: np.ndarray  # (n, SLOTS) product index, -1 for an unused slot
    slot_qty: np.ndarray  # (n, SLOTS) usual quantity
    slot_due: np.ndarray  # (n, SLOTS) day index of the next replenishment (NEVER when unused)
    owned_durables: np.ndarray  # bit mask over categories
    session_rate: np.ndarray  # float, browsing sessions per day
    devices: np.ndarray  # (n, 2) index into DEVICES, -1 for no second device
    churn_day: np.ndarray  # first inactive day index, NEVER while active
    churn_reason: np.ndarray  # int, index into CHURN_REASONS
    n_orders: np.ndarray
    n_bad: np.ndarray
    first_bad_day: np.ndarray

    def active(self, d: int) -> np.ndarray:
        return (self.signup_day <= d) & (self.churn_day > d)


def build_population(n: int, clock: Clock, zone: np.ndarray, cat: Catalogue, rng: np.random.Generator) -> Population:
    """``zone`` (from the identity model) decides local hours; everything else is drawn here.

    Signup times are drawn for everybody at once (they are sorted into id order); the rest is drawn in chunks
    of customers so that the int64/float64 temporaries stay small next to the compact final arrays."""
    pref_channel = rng.choice(4, size=n, p=CHANNEL_SHARE).astype(np.int8)
    signup_day, signup_epoch = _signup_times(n, clock, zone, pref_channel == STORE_CHANNEL, rng)
    parts = (
        _population_chunk(
            signup_day[lo : lo + BUILD_CHUNK],
            signup_epoch[lo : lo + BUILD_CHUNK],
            pref_channel[lo : lo + BUILD_CHUNK],
            zone[lo : lo + BUILD_CHUNK],
            clock,
            cat,
            rng,
        )
        for lo in range(0, n, BUILD_CHUNK)
    )
    return assemble(Population, n, parts)


def _population_chunk(
    signup_day: np.ndarray,
    signup_epoch: np.ndarray,
    pref_channel: np.ndarray,
    zone: np.ndarray,
    clock: Clock,
    cat: Catalogue,
    rng: np.random.Generator,
) -> Population:
    n = len(signup_day)
    rate = rng.gamma(0.8, MEAN_SPONTANEOUS_RATE / 0.8, size=n)
    pop = Population(
        n=n,
        signup_epoch=signup_epoch,
        signup_day=signup_day.astype(np.int64),
        first_order_at_signup=(signup_day >= 0) & (rng.random(n) < 0.6),
        spontaneous_rate=rate,
        dropout_prob=rng.beta(1.2, 36.0, size=n),  # mean ~3% per order
        adherence=rng.beta(8.0, 2.0, size=n),
        pref_channel=pref_channel,
        pref_hour=rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum()),
        zone=zone,
        interest=np.zeros((n, 2), dtype=np.int64),
        slot_product=np.full((n, SLOTS), -1, dtype=np.int64),
        slot_qty=np.ones((n, SLOTS), dtype=np.int64),
        slot_due=np.full((n, SLOTS), NEVER, dtype=np.int64),
        owned_durables=np.zeros(n, dtype=np.int64),
        # people who buy more also browse more
        session_rate=rng.gamma(1.5, 0.03 / 1.5, size=n) * (0.6 + 0.4 * rate / MEAN_SPONTANEOUS_RATE),
        devices=_devices(n, rng),
        churn_day=np.full(n, NEVER, dtype=np.int64),
        churn_reason=np.zeros(n, dtype=np.int64),
        n_orders=np.zeros(n, dtype=np.int64),
        n_bad=np.zeros(n, dtype=np.int64),
        first_bad_day=np.full(n, NEVER, dtype=np.int64),
    )
    _assign_habits(pop, cat, rng)
    _age_pre_window(pop, clock, cat, rng)
    compact(pop, COMPACT_DTYPES)
    return pop


# Small dtypes keep a million customers in ~100 MB. Anything multiplied by a Python constant (pref_hour * HOUR)
# stays int64: NumPy 2 keeps the array's dtype in such arithmetic and would overflow.
COMPACT_DTYPES = {
    "signup_day": np.int32,
    "spontaneous_rate": np.float32,
    "dropout_prob": np.float32,
    "adherence": np.float32,
    "pref_channel": np.int8,
    "zone": np.int8,
    "interest": np.int8,
    "slot_product": np.int32,
    "slot_qty": np.int16,
    "slot_due": np.int32,
    "owned_durables": np.int16,
    "session_rate": np.float32,
    "devices": np.int8,
    "churn_day": np.int32,
    "churn_reason": np.int8,
    "n_orders": np.int32,
    "n_bad": np.int32,
    "first_bad_day": np.int32,
}


def _signup_times(
    n: int, clock: Clock, zone: np.ndarray, in_store: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Signup instants with a growing rate from HISTORY_DAYS before the window to its end, sorted (= id order).

    The sort only orders the instants; customers are exchangeable, so index i simply gets the i-th signup."""
    g = SIGNUP_GROWTH / 365
    lo, hi = np.exp(-g * HISTORY_DAYS), np.exp(g * clock.days)
    t = np.sort(np.log(lo + rng.random(n) * (hi - lo)) / g)  # days relative to the window start
    day = np.floor(t).astype(np.int64)
    # In-window signups happen at a plausible local hour; the second is kept clear of midnight so that the
    # first order (up to 20 minutes later) and its web session stay on the same UTC day.
    hour = np.where(in_store, rng.integers(9, 20, size=n), rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum()))
    local = hour * HOUR + rng.integers(0, HOUR, size=n)
    second = ((t - day) * DAY).astype(np.int64)
    inside = day >= 0
    utc = clock.local_to_utc_seconds(day[inside], zone[inside], local[inside])
    second[inside] = np.clip(utc, HOUR, DAY - HOUR - 1300)  # the first order stays before 23:00 UTC (see orders)
    return day, clock.day0_epoch + day * DAY + second


def _devices(n: int, rng: np.random.Generator) -> np.ndarray:
    first = rng.choice(3, size=n, p=DEVICE_SHARE)
    second = (first + rng.integers(1, 3, size=n)) % 3  # a different kind of device
    return np.stack([first, np.where(rng.random(n) < 0.45, second, -1)], axis=1)


def _assign_habits(pop: Population, cat: Catalogue, rng: np.random.Generator) -> None:
    """Interests and replenishment slots: distinct consumable categories by popularity (Gumbel top-k)."""
    weights = np.array([CATEGORIES[c].buy_weight for c in CONSUMABLE_CATEGORIES])
    keys = np.log(weights) + rng.gumbel(size=(pop.n, len(weights)))
    ranked = CONSUMABLE_CATEGORIES[np.argsort(-keys, axis=1)[:, :SLOTS]]
    pop.interest[:] = ranked[:, :2]
    n_slots = rng.choice(SLOTS + 1, size=pop.n, p=(0.22, 0.45, 0.23, 0.10))
    used = np.arange(SLOTS)[None, :] < n_slots[:, None]
    products = sample_products(cat, ranked.ravel(), rng).reshape(pop.n, SLOTS)
    pop.slot_product[:] = np.where(used, products, -1)
    pop.slot_qty[:] = rng.choice([1, 2, 3], size=(pop.n, SLOTS), p=(0.6, 0.3, 0.1))


def slot_cycle(pop: Population, cat: Catalogue) -> np.ndarray:
    """Days one usual purchase of each slot lasts (0 for unused slots)."""
    cycle = cat.use_cycle_days[np.maximum(pop.slot_product, 0)] * pop.slot_qty
    return np.where(pop.slot_product >= 0, cycle, 0)


def expected_order_rate(pop: Population, cat: Catalogue) -> np.ndarray:
    """Spontaneous rate plus the replenishment rate (adherent share of each slot's 1/cycle), per day."""
    cycle = slot_cycle(pop, cat)
    replenish = np.where(cycle > 0, 1.0 / np.maximum(cycle, 1), 0.0).sum(axis=1) * pop.adherence
    return pop.spontaneous_rate + replenish


def _age_pre_window(pop: Population, clock: Clock, cat: Catalogue, rng: np.random.Generator) -> None:
    """Decide who is still active at the window start and where each active customer is in their cycles."""
    cycle = slot_cycle(pop, cat)
    tenure = np.maximum(-pop.signup_day, 0).astype(float)
    hazard = expected_order_rate(pop, cat) * (pop.dropout_prob + EXPECTED_BAD_CHURN_PER_ORDER)
    gone = (pop.signup_day < 0) & (rng.random(pop.n) > np.exp(-hazard * tenure))
    pop.churn_day[gone] = pop.signup_day[gone] + np.ceil(rng.random(gone.sum()) * tenure[gone]).astype(np.int64)
    pop.churn_reason[gone] = CHURN_REASONS.index("pre_window")
    # Active old customers are somewhere in each cycle; new ones make their first replenishment purchase
    # within half a cycle of signing up.
    phase = rng.random(cycle.shape)
    old_due = np.floor(phase * cycle).astype(np.int64)
    new_due = pop.signup_day[:, None] + np.floor(phase * cycle * 0.5).astype(np.int64)
    due = np.where(pop.signup_day[:, None] < 0, old_due, new_due)
    pop.slot_due[:] = np.where(cycle > 0, due, NEVER)
