"""Deterministic visitor ids: one uuid-looking anonymous id per (customer, device) or anonymous-only visitor.

Hashing (splitmix64 of the run's salt and a visitor key) instead of storing strings keeps a million customers'
devices out of memory; the same key always gives the same id, so web events and ``_truth/customers.csv``
agree.
"""

from __future__ import annotations

import numpy as np


def anonymous_ids(keys: np.ndarray, salt: int) -> list[str]:
    """Deterministic uuid-looking ids from (seed, visitor) keys (splitmix64, two rounds)."""
    with np.errstate(over="ignore"):
        a = _mix(keys.astype(np.uint64) ^ np.uint64(salt))
        b = _mix(a)
    return [
        f"{x >> 32:08x}-{(x >> 16) & 0xFFFF:04x}-4{x & 0xFFF:03x}-{y >> 48:04x}-{y & 0xFFFFFFFFFFFF:012x}"
        for x, y in zip(a.tolist(), b.tolist(), strict=True)
    ]


def _mix(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def customer_device_keys(customer: np.ndarray, slot: np.ndarray) -> np.ndarray:
    return customer.astype(np.uint64) * np.uint64(4) + slot.astype(np.uint64)


def visitor_keys(visitor: np.ndarray) -> np.ndarray:
    return visitor.astype(np.uint64) * np.uint64(4) + np.uint64(2)
