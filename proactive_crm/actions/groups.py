"""Global control group and per-action-type holdouts: deterministic hashes, the same in Python and in SQL.

A customer's bucket is the first 32 bits of ``md5("<salt>:<key>")`` divided by 2^32, a number in [0, 1): below the
configured share means "in the group". The key is the customer id (control group) or ``<action_type>:<customer_id>``
(holdout), so membership never changes between nights, re-runs or machines, and the actions gate can recompute it
in PostgreSQL with ``bucket_sql``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

SCALE = float(2**32)


def bucket(salt: str, key: str) -> float:
    return int(hashlib.md5(f"{salt}:{key}".encode()).hexdigest()[:8], 16) / SCALE


def buckets(salt: str, keys: Iterable[str]) -> np.ndarray:
    prefix = f"{salt}:".encode()
    return np.fromiter(
        (int.from_bytes(hashlib.md5(prefix + k.encode()).digest()[:4], "big") / SCALE for k in keys), dtype=float
    )


def in_control_group(customer_ids: Iterable[str], salt: str, share: float) -> np.ndarray:
    return buckets(salt, customer_ids) < share


def in_holdout(action_types: Iterable[str], customer_ids: Iterable[str], salt: str, share: float) -> np.ndarray:
    keys = (f"{t}:{c}" for t, c in zip(action_types, customer_ids, strict=True))
    return buckets(salt, keys) < share


def bucket_sql(salt: str, key_sql: str) -> str:
    """SQL for the bucket of ``key_sql`` (an expression); the salt is a policy value, quoted here."""
    quoted = "'" + salt.replace("'", "''") + ":'"
    return f"(('x' || substr(md5({quoted} || {key_sql}), 1, 8))::bit(32)::bigint / {SCALE})"
