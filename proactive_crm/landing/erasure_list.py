"""The erasure list: hashed keys of people who asked to be forgotten, and of the records that point at them.

Kept in the restricted schema, written by the erasure (``proactive_crm.privacy.erasure``) and read by the loader
before every file, so a retailer's export that still holds an erased customer never brings them back. Keys are
SHA-256 hashes of the identifiers as delivered: the list itself holds no id, although a hash of a guessable id is
pseudonymous, not anonymous (README "Privacy").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg

# customer: a customer_id; order: an order_id of an erased customer (its lines carry no customer_id);
# visitor: a web anonymous_id seen logged in as an erased customer (their anonymous browsing too).
KINDS = ("customer", "order", "visitor")

DDL = """
create schema if not exists restricted;
create table if not exists restricted.erasure_list (
    key_kind text not null check (key_kind in ('customer', 'order', 'visitor')),
    key_hash text not null,
    erased_at timestamptz not null default now(),
    primary key (key_kind, key_hash)
);
comment on table restricted.erasure_list is
    'SHA-256 hashes of erased customer ids and of the order ids and web visitor ids that point at them; the loader '
    'drops every landing row that matches (counted as rows_erased in raw.load_audit).';
"""


def key_hash(value: str) -> str:
    return hashlib.sha256(value.strip().encode("utf-8")).hexdigest()


def ensure_erasure_list(conn: psycopg.Connection) -> None:
    conn.execute(DDL)


@dataclass
class ErasedKeys:
    """The hashes of the erasure list by kind; ``empty`` lets the loader skip all hashing in the usual case."""

    by_kind: dict[str, set[str]] = field(default_factory=lambda: {kind: set() for kind in KINDS})

    @property
    def empty(self) -> bool:
        return not any(self.by_kind.values())

    @property
    def all(self) -> set[str]:
        return set().union(*self.by_kind.values())

    def __getitem__(self, kind: str) -> set[str]:
        return self.by_kind[kind]


def read_erased_keys(conn: psycopg.Connection | psycopg.Cursor) -> ErasedKeys:
    keys = ErasedKeys()
    if conn.execute("select to_regclass('restricted.erasure_list')").fetchone()[0] is None:
        return keys
    for kind, digest in conn.execute("select key_kind, key_hash from restricted.erasure_list"):
        keys.by_kind[kind].add(digest)
    return keys


def add_keys(conn: psycopg.Connection | psycopg.Cursor, kind: str, values: Iterable[str]) -> int:
    """Record identifiers (hashed) on the erasure list; returns how many were new."""
    hashes = sorted({key_hash(v) for v in values if v is not None and str(v).strip()})
    if not hashes:
        return 0
    rows = conn.execute(
        "insert into restricted.erasure_list (key_kind, key_hash) select %s, unnest(%s::text[]) "
        "on conflict do nothing returning 1",
        (kind, hashes),
    ).fetchall()
    return len(rows)
