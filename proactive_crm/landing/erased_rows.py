"""The loader's side of erasure: landing rows of erased people are dropped before validation and never stored.

Dropped rows are counted (``rows_erased`` in ``raw.load_audit``), so a file's accounting still adds up:
rows read = loaded + rejected + erased. Only the distinct values of a column are hashed, and nothing at all when
the erasure list is empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from proactive_crm.landing.erasure_list import ErasedKeys, key_hash
from proactive_crm.landing.parse import ParsedFile

# Per source, the columns that point at a person, and the erasure-list kind their values are matched against.
IDENTIFYING: dict[str, tuple[tuple[str, str], ...]] = {
    "customers": (("customer_id", "customer"),),
    "orders": (("customer_id", "customer"), ("order_id", "order")),
    "order_lines": (("order_id", "order"),),
    "reviews": (("customer_id", "customer"), ("order_id", "order")),
    "web_events": (("customer_id", "customer"), ("anonymous_id", "visitor")),
    "action_responses": (("customer_id", "customer"),),
}
# Identifiers an erased customer's rows reveal: their orders (whose lines carry no customer id) and the visitor ids
# they browsed under (their anonymous events before logging in).
LINKED: dict[str, tuple[str, str]] = {"orders": ("order_id", "order"), "web_events": ("anonymous_id", "visitor")}

TOKEN_SPLIT = re.compile(r"[\s,;|\t\"'{}\[\]:]+")


def mentions(text: str | None, hashes: set[str]) -> bool:
    """Whether any field of a raw record (CSV or JSON text) is an erased key: for rows that could not be parsed."""
    return bool(text) and any(key_hash(token) in hashes for token in TOKEN_SPLIT.split(text) if token)


@dataclass
class Dropped:
    rows: int = 0
    linked: dict[str, set[str]] = field(default_factory=dict)  # kind -> plain identifiers newly tied to an erasure


def _hits(values: pa.ChunkedArray | pa.Array, hashes: set[str], extra: set[str] = frozenset()) -> np.ndarray:
    if hashes:  # hash each distinct value once
        found = [v for v in pc.unique(values).to_pylist() if v is not None and (v in extra or key_hash(v) in hashes)]
    else:  # nothing of this kind listed yet: only the identifiers this file tied to an erased customer
        found = sorted(extra)
    if not found:
        return np.zeros(len(values), dtype=bool)
    return pc.fill_null(pc.is_in(values, value_set=pa.array(found, pa.string())), False).to_numpy(zero_copy_only=False)


def drop_erased(parsed: ParsedFile, source: str, keys: ErasedKeys, dropped: Dropped) -> ParsedFile:
    """The batch without rows of erased people; counts and linked identifiers accumulate in ``dropped``."""
    if keys.empty or source not in IDENTIFYING:
        return parsed
    table = parsed.table
    erased = np.zeros(table.num_rows, dtype=bool)
    for column, kind in IDENTIFYING[source]:
        if column in table.column_names and (column, kind) != LINKED.get(source):
            erased |= _hits(table.column(column), keys[kind])
    if source in LINKED and LINKED[source][0] in table.column_names:
        column, kind = LINKED[source]
        values = table.column(column)
        newly = {v for v in pc.filter(values, pa.array(erased)).to_pylist() if v}
        dropped.linked.setdefault(kind, set()).update(newly)
        erased |= _hits(values, keys[kind], dropped.linked[kind])
    if not erased.any():
        return parsed
    dropped.rows += int(erased.sum())
    kept = np.nonzero(~erased)[0]
    return ParsedFile(
        table.filter(pa.array(~erased)),
        parsed.line_numbers[kept],
        parsed.extra_columns,
        lambda i: parsed.raw_text(int(kept[i])),
    )


def drop_erased_rejections(
    rejected: list[tuple[int, str, str]], keys: ErasedKeys, dropped: Dropped
) -> list[tuple[int, str, str]]:
    """Records the parser could not split into fields, without those that mention an erased key."""
    if keys.empty or not rejected:
        return rejected
    hashes = keys.all
    kept = [r for r in rejected if not mentions(r[1], hashes)]
    dropped.rows += len(rejected) - len(kept)
    return kept
