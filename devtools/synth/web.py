"""The web funnel: browsing sessions of customers and anonymous-only visitors, plus the session of every web
or app order.

A session is a fixed template of up to 15 steps (page_view, login, search, product views, add_to_cart,
remove_from_cart, late login, checkout, purchase); a boolean mask picks the steps each session takes, so a
whole day of sessions is built with array operations. Browsing sessions never end in a purchase (most carts
are abandoned); an order's session ends in the purchase event at the order's exact time. Visitors are
identified by an anonymous id per device; a ``login`` event sets ``customer_id`` on itself and every later
event of the session.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from devtools.synth.catalogue import Catalogue, sample_products
from devtools.synth.categories import CATEGORIES
from devtools.synth.clock import DAY, HOUR, Clock
from devtools.synth.orders import APP, TRIGGERS, WEB, DayOrders
from devtools.synth.population import DEVICES, HOUR_WEIGHTS, Population
from devtools.synth.visitor_ids import customer_device_keys, visitor_keys

STEPS = (
    *("page_view", "login", "search"),
    *("product_view",) * 4,
    *("add_to_cart",) * 4,
    *("remove_from_cart", "login", "checkout", "purchase"),
)
LOGIN_EARLY, SEARCH, VIEW, CART, REMOVE, LOGIN_LATE, CHECKOUT, PURCHASE = 1, 2, 3, 7, 11, 12, 13, 14
NO_LOGIN = len(STEPS)
MEAN_GAP, MAX_GAP = 45, 240  # seconds between events; 14 gaps * 240 s < 1 hour
CHURNED_BROWSING = 0.1  # gone customers still look around now and then, but no longer buy
VISITOR_RATE = 0.02  # sessions per day of an anonymous-only visitor
CART_PROB, CHECKOUT_PROB = 0.42, 0.35  # browsing: carts, and carts that get as far as checkout


@dataclass
class Visitors:
    """Anonymous-only visitors: they browse but never log in (about as many as customers)."""

    rate: np.ndarray
    pref_hour: np.ndarray
    device: np.ndarray
    interest: np.ndarray  # browse category


def build_visitors(n: int, rng: np.random.Generator) -> Visitors:
    browse = np.array([c.browse_weight for c in CATEGORIES])
    return Visitors(
        rate=rng.gamma(0.6, VISITOR_RATE / 0.6, size=n).astype(np.float32),
        pref_hour=rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum()),  # int64: multiplied by HOUR
        device=rng.choice(3, size=n, p=(0.30, 0.60, 0.10)).astype(np.int8),
        interest=rng.choice(len(CATEGORIES), size=n, p=browse / browse.sum()).astype(np.int8),
    )


@dataclass
class Sessions:
    visitor_key: np.ndarray  # uint64, hashed into the anonymous id
    customer: np.ndarray  # -1 for anonymous-only visitors
    device: np.ndarray
    app: np.ndarray
    products: np.ndarray  # (S, 4) product index, -1 when unused
    mask: np.ndarray  # (S, len(STEPS)) which steps happen
    login_step: np.ndarray  # first step with customer_id set (NO_LOGIN if none)
    category: np.ndarray
    order_no: np.ndarray  # -1 for browsing sessions
    anchor: np.ndarray  # second of the UTC day: start (browsing) or purchase time (orders)
    ends_at_anchor: np.ndarray

    @staticmethod
    def concat(parts: list[Sessions]) -> Sessions:
        return Sessions(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Sessions)})


def _browse_steps(known: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = len(known)
    mask = np.zeros((s, len(STEPS)), dtype=bool)
    mask[:, 0] = True
    early = known & (rng.random(s) < 0.45)
    mask[:, LOGIN_EARLY] = early
    mask[:, SEARCH] = rng.random(s) < 0.55
    views = rng.choice(5, size=s, p=(0.12, 0.38, 0.25, 0.15, 0.10))
    mask[:, VIEW:CART] = np.arange(4) < views[:, None]
    cart = (views >= 1) & (rng.random(s) < CART_PROB)
    carts = np.where(cart, 1 + ((views >= 2) & (rng.random(s) < 0.25)), 0)
    mask[:, CART:REMOVE] = np.arange(4) < carts[:, None]
    mask[:, REMOVE] = cart & (rng.random(s) < 0.12)
    checkout = cart & (rng.random(s) < CHECKOUT_PROB)
    late = known & ~early & checkout & (rng.random(s) < 0.7)
    mask[:, LOGIN_LATE] = late
    mask[:, CHECKOUT] = checkout
    login = np.where(early, LOGIN_EARLY, np.where(late, LOGIN_LATE, NO_LOGIN))
    return mask, login


def browsing_sessions(
    pop: Population,
    visitors: Visitors,
    cat: Catalogue,
    clock: Clock,
    d: int,
    factor: float,
    store_zone: int,
    ordering: np.ndarray,
    rng: np.random.Generator,
) -> Sessions:
    """``ordering``: customers with a web/app order today; that order's session is their visit of the day."""
    signed_up = pop.signup_day < d  # a new customer's first visits are anonymous (or their first order's)
    rate = pop.session_rate * np.where(pop.churn_day > d, 1.0, CHURNED_BROWSING) * factor
    cust = np.flatnonzero(signed_up & (rng.random(pop.n) < -np.expm1(-rate)))
    cust = cust[~np.isin(cust, ordering)]
    vis = np.flatnonzero(rng.random(len(visitors.rate)) < -np.expm1(-visitors.rate * factor))
    n_c, n_v = len(cust), len(vis)
    slot = np.where((pop.devices[cust, 1] >= 0) & (rng.random(n_c) < 0.5), 1, 0)
    device = np.concatenate([pop.devices[cust, slot], visitors.device[vis]])
    browse = np.array([c.browse_weight for c in CATEGORIES])
    random_cat = rng.choice(len(CATEGORIES), size=n_c + n_v, p=browse / browse.sum())
    own = np.concatenate([pop.interest[cust, rng.integers(0, 2, size=n_c)], visitors.interest[vis]])
    category = np.where(rng.random(n_c + n_v) < 0.65, own, random_cat)
    customer = np.concatenate([cust, np.full(n_v, -1)])
    mask, login = _browse_steps(customer >= 0, rng)
    hour = np.concatenate([pop.pref_hour[cust], visitors.pref_hour[vis]])
    zone = np.concatenate([pop.zone[cust], np.full(n_v, store_zone)])
    local = hour * HOUR + HOUR // 2 + rng.normal(0, 1.5 * HOUR, size=n_c + n_v).astype(np.int64)
    start = clock.local_to_utc_seconds(d, zone, local % DAY)
    # browsing starts in [01:00, 22:00) UTC and so ends before 23:00: sessions of one visitor on consecutive
    # days are at least an hour apart (online orders are placed in [01:00, 23:00), see orders)
    start = np.where(start < HOUR, start + HOUR, np.where(start >= DAY - 2 * HOUR, start - 2 * HOUR, start))
    in_app = np.concatenate([pop.pref_channel[cust] == APP, np.zeros(n_v, bool)])
    return Sessions(
        visitor_key=np.concatenate([customer_device_keys(cust, slot), visitor_keys(vis)]),
        customer=customer,
        device=device,
        app=in_app & (device != DEVICES.index("desktop")) & (rng.random(n_c + n_v) < 0.8),
        products=sample_products(cat, np.repeat(category, 4), rng).reshape(-1, 4),
        mask=mask,
        login_step=login,
        category=category,
        order_no=np.full(n_c + n_v, -1),
        anchor=start,
        ends_at_anchor=np.zeros(n_c + n_v, bool),
    )


def order_sessions(
    pop: Population, cat: Catalogue, orders: DayOrders, order_no: np.ndarray, rng: np.random.Generator
) -> Sessions:
    """The session behind each web/app order: its products viewed and carted, checkout, purchase."""
    online = np.flatnonzero((orders.channel == WEB) | (orders.channel == APP))
    s = len(online)
    cust = orders.customer[online]
    line_of = np.isin(orders.line_order, online)
    products = np.full((len(orders), 4), -1, dtype=np.int64)
    products[orders.line_order[line_of], orders.line_number[line_of] - 1] = orders.line_product[line_of]
    products = products[online]
    lines = (products >= 0).sum(axis=1)
    app = orders.channel[online] == APP
    handheld = pop.devices[cust] >= DEVICES.index("mobile")  # apps run on phones and tablets
    slot = np.where(app & ~handheld[:, 0] & handheld[:, 1], 1, 0)
    mask = np.zeros((s, len(STEPS)), dtype=bool)
    mask[:, 0] = True
    first_order = orders.trigger[online] == TRIGGERS.index("first_order")  # logs in (signs up) at checkout
    early = (rng.random(s) < 0.6) & ~first_order
    mask[:, LOGIN_EARLY] = early
    mask[:, SEARCH] = rng.random(s) < 0.35
    mask[:, VIEW:CART] = np.arange(4) < lines[:, None]
    mask[:, CART:REMOVE] = np.arange(4) < lines[:, None]
    mask[:, LOGIN_LATE] = ~early
    mask[:, CHECKOUT] = True
    mask[:, PURCHASE] = True
    return Sessions(
        visitor_key=customer_device_keys(cust, slot),
        customer=cust,
        device=pop.devices[cust, slot],
        app=app,
        products=products,
        mask=mask,
        login_step=np.where(early, LOGIN_EARLY, LOGIN_LATE),
        category=cat.category[products[:, 0]],
        order_no=order_no[online],
        anchor=orders.second[online],
        ends_at_anchor=np.ones(s, bool),
    )
