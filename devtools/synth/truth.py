"""Ground truth in ``<out>/_truth/`` (not part of the landing contract; the loader never reads it).

``customers.csv`` (written at the end of the run), one row per customer:

* ``purchase_rate_per_day``: expected orders per active day (spontaneous rate + replenishment rate);
  ``spontaneous_rate_per_day`` is the gamma-distributed part alone; ``dropout_prob`` the chance of leaving for
  good after each order (BG/NBD style); ``replenishment_adherence`` the chance a due refill is bought here;
* ``replenishment_products`` / ``_quantities`` / ``_gap_days``: the customer's consumable habits at the end of
  the run (';'-separated; gap = use_cycle_days x quantity, the expected days between two purchases);
* ``preferred_channel``, ``preferred_contact_hour`` (local hour in ``time_zone``: orders and visits cluster
  around hour:30), ``devices`` and their ``anonymous_ids`` (same order), ``session_rate_per_day``;
* ``active_at_start``: signed up before the window and not yet gone at its start;
* ``churned`` / ``churn_date`` / ``churn_reason``: gone for good (no more orders; rare browsing), from the day
  after ``churn_date`` (the day of the last order for ``dropout`` and ``bad_experience``; before the window
  for ``pre_window``); ``n_orders``, ``n_bad_experiences``, ``first_bad_experience_date`` count the window only.

``orders.csv``: per order the latent ``late`` delivery, the ``experience`` (good/late/cancelled/returned),
what triggered it (``replenishment``/``spontaneous``/``mixed``/``first_order``), whether a ``complaint``
follows, and ``churn_after`` (the reason, when the customer left right after this order).

``defects.csv`` (``--dirty`` only, see ``dirty.py``) and ``params.json`` (arguments and behaviour constants).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from devtools.synth.catalogue import Catalogue
from devtools.synth.categories import CATEGORY_NAMES
from devtools.synth.clock import Clock, bools, iso_dates, iso_utc
from devtools.synth.customers import ZONES, Identity, customer_ids
from devtools.synth.population import (
    CHURN_REASONS,
    DEVICES,
    NEVER,
    Population,
    expected_order_rate,
    slot_cycle,
)
from devtools.synth.records import TRUTH_ORDER_COLUMNS
from devtools.synth.visitor_ids import anonymous_ids, customer_device_keys
from devtools.synth.vocab import COUNTRIES
from proactive_crm.landing.contract import ORDER_CHANNELS

CUSTOMER_COLUMNS = (
    "customer_id",
    "signup_at",
    "active_at_start",
    "purchase_rate_per_day",
    "spontaneous_rate_per_day",
    "dropout_prob",
    "replenishment_adherence",
    "replenishment_products",
    "replenishment_quantities",
    "replenishment_gap_days",
    "interest_categories",
    "preferred_channel",
    "preferred_contact_hour",
    "time_zone",
    "country",
    "devices",
    "anonymous_ids",
    "session_rate_per_day",
    "churned",
    "churn_date",
    "churn_reason",
    "n_orders",
    "n_bad_experiences",
    "first_bad_experience_date",
)
CHUNK = 20_000  # customers per text chunk: bounded memory at a million customers


class TruthWriter:
    def __init__(self, out_dir: Path) -> None:
        self.dir = out_dir / "_truth"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._orders_file = open(self.dir / "orders.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._orders = csv.writer(self._orders_file, lineterminator="\n")
        self._orders.writerow(TRUTH_ORDER_COLUMNS)

    def orders(self, rows: list[tuple[str, ...]]) -> None:
        self._orders.writerows(rows)

    def close(self) -> None:
        self._orders_file.close()

    def params(self, params: dict) -> None:
        (self.dir / "params.json").write_text(json.dumps(params, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def customers(self, pop: Population, ident: Identity, cat: Catalogue, clock: Clock, salt: int) -> None:
        whole = {"rate": expected_order_rate(pop, cat), "gap": slot_cycle(pop, cat)}  # once, not per chunk
        with open(self.dir / "customers.csv", "w", encoding="utf-8", newline="") as f:
            out = csv.writer(f, lineterminator="\n")
            out.writerow(CUSTOMER_COLUMNS)
            for start in range(0, pop.n, CHUNK):
                idx = np.arange(start, min(start + CHUNK, pop.n))
                out.writerows(_customer_rows(pop, ident, cat, clock, idx, salt, whole))


def _joined(matrix: np.ndarray, valid: np.ndarray, names: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """Per row, the valid values of a (rows, k) matrix joined with ';'. Valid values come first in each row
    (slots and devices fill from the left), so object-array concatenation can do it column by column."""
    lookup = np.array(names, dtype=object) if names is not None else None
    text = lookup[matrix] if lookup is not None else matrix.astype(str).astype(object)
    out = np.where(valid[:, 0], text[:, 0], "")
    for k in range(1, matrix.shape[1]):
        out = np.where(valid[:, k], out + ";" + text[:, k], out)
    return out.tolist()


def _device_columns(pop: Population, idx: np.ndarray, salt: int) -> tuple[list[str], list[str]]:
    has = pop.devices[idx] >= 0
    kinds = _joined(np.maximum(pop.devices[idx], 0), has, DEVICES)
    cust, slot = np.nonzero(has)
    texts = np.full(has.shape, "", dtype=object)
    texts[cust, slot] = anonymous_ids(customer_device_keys(idx[cust], slot), salt)
    return kinds, _joined(np.arange(texts.size).reshape(texts.shape), has, texts.ravel().tolist())


def _customer_rows(
    pop: Population,
    ident: Identity,
    cat: Catalogue,
    clock: Clock,
    idx: np.ndarray,
    salt: int,
    whole: dict[str, np.ndarray],
) -> list[tuple[str, ...]]:
    slots = pop.slot_product[idx] >= 0
    devices, anon = _device_columns(pop, idx, salt)
    churned = pop.churn_day[idx] != NEVER
    epoch_day0 = clock.day0_epoch // 86_400
    churn_date = iso_dates(epoch_day0 + np.where(churned, pop.churn_day[idx].astype(np.int64) - 1, 0))
    first_bad = pop.first_bad_day[idx].astype(np.int64)
    bad_date = iso_dates(epoch_day0 + np.minimum(first_bad, clock.days))
    columns = [
        customer_ids(idx),
        iso_utc(pop.signup_epoch[idx]),
        bools((pop.signup_day[idx] < 0) & (pop.churn_day[idx] > 0)),
        [f"{r:.5f}" for r in whole["rate"][idx].tolist()],
        [f"{r:.5f}" for r in pop.spontaneous_rate[idx].tolist()],
        [f"{p:.4f}" for p in pop.dropout_prob[idx].tolist()],
        [f"{a:.3f}" for a in pop.adherence[idx].tolist()],
        _joined(np.maximum(pop.slot_product[idx], 0), slots, cat.product_ids),
        _joined(pop.slot_qty[idx], slots),
        _joined(whole["gap"][idx], slots),
        _joined(pop.interest[idx], np.ones((len(idx), 2), bool), CATEGORY_NAMES),
        [ORDER_CHANNELS[c] for c in pop.pref_channel[idx].tolist()],
        [str(h) for h in pop.pref_hour[idx].tolist()],
        [ZONES[z] for z in pop.zone[idx].tolist()],
        [COUNTRIES[c].code for c in ident.country[idx].tolist()],
        devices,
        anon,
        [f"{r:.5f}" for r in pop.session_rate[idx].tolist()],
        bools(churned),
        [t if c else "" for t, c in zip(churn_date, churned.tolist(), strict=True)],
        [CHURN_REASONS[r] for r in pop.churn_reason[idx].tolist()],
        [str(n) for n in pop.n_orders[idx].tolist()],
        [str(n) for n in pop.n_bad[idx].tolist()],
        [t if b < NEVER else "" for t, b in zip(bad_date, first_bad.tolist(), strict=True)],
    ]
    return list(zip(*columns, strict=True))
