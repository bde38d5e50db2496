"""SQL of the gates' query expectations as it reaches PostgreSQL, without importing Great Expectations."""

from __future__ import annotations

import itertools
import re

JOIN_RE = re.compile(r"\bjoin\b", re.IGNORECASE)
# what GE masks before it looks for JOIN: string literals, quoted identifiers and comments
MASKED_RE = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)
UNALIASED_BATCH_RE = re.compile(r"\{batch\}(?!\s+as\s)", re.IGNORECASE)


def has_join(query: str) -> bool:
    return bool(JOIN_RE.search(MASKED_RE.sub(" ", query)))


def portable_rows_query(query: str) -> str:
    """An ``unexpected_rows_query`` that runs on PostgreSQL 14 to 18.

    GE puts the batch in place of ``{batch}`` as ``(<select>) AS subselect``, except in a query with a JOIN, where it
    writes ``(<select>)`` and leaves the alias to the author. PostgreSQL 15 and older require an alias on every
    subquery in FROM ("subquery in FROM must have an alias"; 16 made it optional), so in a query with a JOIN each
    bare ``{batch}`` gets an alias of its own here.
    """
    if not has_join(query):
        return query
    numbers = itertools.count(1)
    return UNALIASED_BATCH_RE.sub(lambda _: f"{{batch}} as batch_rows_{next(numbers)}", query)


def substitute_batch(query: str, batch_sql: str) -> str:
    """``{batch}`` replaced by a batch query the way GE does it (see ``portable_rows_query``)."""
    batch = f"({batch_sql})" if has_join(query) else f"({batch_sql}) as subselect"
    return query.replace("{batch}", batch)
