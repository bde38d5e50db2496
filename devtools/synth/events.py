"""A day's web sessions as events: timing within each session, time order across sessions, and the rows.

Events are planned for the whole day with array operations (``plan_events``) and formatted into rows in
chunks (``event_rows``), so a day of a million customers never holds all of its text at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devtools.synth.catalogue import Catalogue
from devtools.synth.categories import CATEGORIES, CATEGORY_NAMES
from devtools.synth.clock import Clock, iso_utc
from devtools.synth.customers import customer_ids
from devtools.synth.population import DEVICES
from devtools.synth.visitor_ids import anonymous_ids
from devtools.synth.vocab import REFERRERS
from devtools.synth.web import (
    CHECKOUT,
    LOGIN_EARLY,
    LOGIN_LATE,
    MAX_GAP,
    MEAN_GAP,
    REMOVE,
    SEARCH,
    STEPS,
    VIEW,
    Sessions,
)


@dataclass
class EventPlan:
    """A day's events in time order as arrays; rows are formatted from it in chunks."""

    sess: Sessions
    sid: np.ndarray  # session of each event
    step: np.ndarray
    epoch: np.ndarray  # occurred_at, epoch seconds
    product: np.ndarray
    logged_in: np.ndarray
    anon: list[str]  # per session
    customer_id: list[str]  # per session
    term: np.ndarray  # per session: which search term
    referrer: np.ndarray  # per session
    home: np.ndarray  # per session: landing on the home page (else a category page)

    def __len__(self) -> int:
        return len(self.sid)


def plan_events(sess: Sessions, clock: Clock, d: int, salt: int, rng: np.random.Generator) -> EventPlan:
    sid, step = np.nonzero(sess.mask)  # row-major: by session, then step
    gap = np.clip(rng.exponential(MEAN_GAP, size=len(sid)), 2, MAX_GAP).astype(np.int64)
    first = np.r_[True, sid[1:] != sid[:-1]] if len(sid) else np.zeros(0, bool)
    gap[first] = 0
    elapsed = np.cumsum(gap)
    elapsed -= elapsed[np.flatnonzero(first)][sid]  # every session has a page_view, so group == session
    duration = np.zeros(len(sess.anchor), dtype=np.int64)
    np.maximum.at(duration, sid, elapsed)
    start = np.where(sess.ends_at_anchor, sess.anchor - duration, sess.anchor)
    second = start[sid] + elapsed
    order = np.lexsort((step, sid, second))
    sid, step, second = sid[order], step[order], second[order]
    product = np.where((step >= VIEW) & (step < REMOVE), sess.products[sid, (step - VIEW) % 4], -1)
    referrer_p = np.array([w for _, w in REFERRERS])
    return EventPlan(
        sess=sess,
        sid=sid,
        step=step,
        epoch=clock.epoch(d) + second,
        product=np.where(step == REMOVE, sess.products[sid, 0], product),
        logged_in=(sess.customer[sid] >= 0) & (step >= sess.login_step[sid]),
        anon=anonymous_ids(sess.visitor_key, salt),
        customer_id=customer_ids(np.maximum(sess.customer, 0)),
        term=rng.integers(0, 1 << 30, size=len(sess.anchor)),
        referrer=rng.choice(len(REFERRERS), size=len(sess.anchor), p=referrer_p / referrer_p.sum()),
        home=rng.random(len(sess.anchor)) < 0.5,
    )


def event_rows(plan: EventPlan, cat: Catalogue, lo: int, hi: int, first_event_no: int) -> list[list[str]]:
    """Rows lo..hi of the plan in contract order (event_id, occurred_at, anonymous_id, event_type, customer_id,
    product_id, search_query, page_url, referrer, device)."""
    sess, pids = plan.sess, cat.product_ids
    stamps = iso_utc(plan.epoch[lo:hi])
    rows = []
    events = zip(
        plan.sid[lo:hi].tolist(),
        plan.step[lo:hi].tolist(),
        plan.product[lo:hi].tolist(),
        plan.logged_in[lo:hi].tolist(),
        stamps,
        strict=True,
    )
    for e, (s, t, p, li, ts) in enumerate(events, start=first_event_no + lo):
        category = int(sess.category[s])
        query = _query(category, int(plan.term[s])) if t == SEARCH else ""
        pid = pids[p] if p >= 0 else ""
        url = _page_url(t, pid, query, CATEGORY_NAMES[category], bool(plan.home[s]), int(sess.order_no[s]))
        rows.append(
            [
                f"E{e:011d}",
                ts,
                plan.anon[s],
                STEPS[t],
                plan.customer_id[s] if li else "",
                pid,
                query,
                ("app://shop" + url) if sess.app[s] else url,
                REFERRERS[plan.referrer[s]][0] if t == 0 else "",
                DEVICES[sess.device[s]],
            ]
        )
    return rows


def _query(category: int, draw: int) -> str:
    terms = CATEGORIES[category].words("search_terms")
    return terms[draw % len(terms)]


def _page_url(step: int, pid: str, query: str, category: str, home: bool, order_no: int) -> str:
    if step == 0:
        return "/" if home else f"/c/{category}"
    if step in (LOGIN_EARLY, LOGIN_LATE):
        return "/account/login"
    if step == SEARCH:
        return "/search?q=" + query.replace(" ", "+")
    if step < REMOVE:
        return f"/p/{pid}"
    if step == REMOVE:
        return "/cart"
    if step == CHECKOUT:
        return "/checkout"
    return f"/checkout/confirmation?order=O{order_no:09d}"
