"""Lowercasing text the way PostgreSQL's `lower()` (and so ILIKE) does.

PostgreSQL maps each character on its own to its simple lowercase (with the C.UTF-8 or
en_US.UTF-8 collation): `Σ` is always `σ` and `İ` is `i`. Python's `str.lower()` uses
the full mappings instead, which differ in exactly two places: a final capital sigma
becomes `ς`, and `İ` becomes `i` + U+0307. Mapping those two first gives PostgreSQL's
answer.
"""

from __future__ import annotations


def simple_lower(text: str | None) -> str | None:
    """`text` lowercased character by character (None stays None, as NULL does in SQL)."""
    if text is None:
        return None
    return text.replace("Σ", "σ").replace("İ", "i").lower()


#: The name `simple_lower` has as an SQL function on SQLite connections.
SQL_LOWER = "runfolio_lower"
