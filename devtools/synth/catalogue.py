"""The product catalogue: ~12 categories, consumables with a use cycle and durables with a service interval.

Consumables are what drives replenishment: one unit lasts ``use_cycle_days`` (larger packs proportionally
longer), so a customer who buys it comes back after roughly use_cycle_days x quantity. Durables are bought
rarely and carry a ``service_interval_days``. Prices are held in integer cents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devtools.synth.categories import CATEGORIES, CATEGORY_NAMES, Category
from devtools.synth.clock import bools, money

PRICE_CHANGE_PROB = 1 / 150  # per product and day: roughly two price changes a year per product


@dataclass
class Catalogue:
    product_ids: list[str]
    names: list[str]
    category: np.ndarray  # int, index into CATEGORIES
    price_cents: np.ndarray  # int64, the current price (changes over time)
    unit_cost_cents: np.ndarray
    is_consumable: np.ndarray  # bool
    use_cycle_days: np.ndarray  # int, 0 for durables
    service_interval_days: np.ndarray  # int, 0 for consumables
    pick_cdf: np.ndarray  # category index + cumulative popularity within the category (see sample_products)

    def __len__(self) -> int:
        return len(self.product_ids)


def build_catalogue(rng: np.random.Generator) -> Catalogue:
    parts = [_category_products(i, cat, rng) for i, cat in enumerate(CATEGORIES)]
    names = [n for p in parts for n in p["names"]]
    arrays = {
        k: np.concatenate([p[k] for p in parts]) for k in ("category", "price", "cost", "cycle", "service", "pop")
    }
    category = arrays["category"]
    # Cumulative popularity within each category, shifted by the category index: one searchsorted then picks a
    # product for many (category, uniform) pairs at once.
    pick_cdf = np.empty(len(names))
    for c in range(len(CATEGORIES)):
        members = category == c
        weights = arrays["pop"][members]
        cdf = np.cumsum(weights) / weights.sum()
        cdf[-1] = 1.0
        pick_cdf[members] = c + cdf
    return Catalogue(
        product_ids=[f"P{i + 1:05d}" for i in range(len(names))],
        names=names,
        category=category,
        price_cents=arrays["price"],
        unit_cost_cents=arrays["cost"],
        is_consumable=np.array([CATEGORIES[c].consumable for c in category]),
        use_cycle_days=arrays["cycle"],
        service_interval_days=arrays["service"],
        pick_cdf=pick_cdf,
    )


def _category_products(index: int, cat: Category, rng: np.random.Generator) -> dict:
    combos = [(b, v, p) for b in cat.words("brands") for v in cat.words("variants") for p in cat.packs]
    n = min(len(combos), int(rng.integers(18, 33)))
    chosen = [combos[i] for i in rng.choice(len(combos), size=n, replace=False)]
    factor = np.array([p[1] for _, _, p in chosen])
    lo, hi = cat.price_eur
    base = np.exp(rng.uniform(np.log(lo), np.log(hi), size=n))
    price = np.maximum(np.round(base * factor**0.85), 2) * 100 - 1  # bigger packs are cheaper per unit; x.99
    margin = rng.uniform(0.20, 0.60, size=n)
    cost = np.round(price * (1 - margin))
    interval = rng.integers(cat.interval_days[0], cat.interval_days[1] + 1, size=n)
    cycle = np.clip(np.round(interval * factor), 7, 120) if cat.consumable else np.zeros(n)
    service = np.zeros(n) if cat.consumable else interval
    popularity = rng.permutation(1.0 / np.arange(1, n + 1) ** 0.8)  # a few bestsellers, a long tail
    return {
        "names": [" ".join(x for x in (b, v, p[0]) if x) for b, v, p in chosen],
        "category": np.full(n, index, dtype=np.int64),
        "price": price.astype(np.int64),
        "cost": cost.astype(np.int64),
        "cycle": cycle.astype(np.int64),
        "service": service.astype(np.int64),
        "pop": popularity,
    }


def sample_products(cat: Catalogue, categories: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One product per requested category, by popularity within the category."""
    keys = categories + rng.random(len(categories))
    return np.searchsorted(cat.pick_cdf, keys, side="right").astype(np.int64)


def draw_price_changes(cat: Catalogue, rng: np.random.Generator) -> np.ndarray:
    """Change some prices by -10%..+12% (kept at x.99) and return the changed products, for re-export."""
    changed = np.flatnonzero(rng.random(len(cat)) < PRICE_CHANGE_PROB)
    if len(changed):
        new = np.round(cat.price_cents[changed] * rng.uniform(0.90, 1.12, size=len(changed)) / 100) * 100 - 1
        cat.price_cents[changed] = np.maximum(new, 199).astype(np.int64)
    return changed


def product_rows(cat: Catalogue, products: np.ndarray, updated_at: list[str]) -> list[tuple[str, ...]]:
    """Rows in contract column order: product_id, name, category, price, is_consumable, updated_at, unit_cost,
    use_cycle_days, service_interval_days."""
    cycle = cat.use_cycle_days[products]
    service = cat.service_interval_days[products]
    return list(
        zip(
            [cat.product_ids[i] for i in products.tolist()],
            [cat.names[i] for i in products.tolist()],
            [CATEGORY_NAMES[c] for c in cat.category[products].tolist()],
            money(cat.price_cents[products]),
            bools(cat.is_consumable[products]),
            updated_at,
            money(cat.unit_cost_cents[products]),
            [str(c) if c > 0 else "" for c in cycle.tolist()],
            [str(s) if s > 0 else "" for s in service.tolist()],
            strict=True,
        )
    )
