"""What Alembic finds between a database and table definitions, as the tests compare them."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from runfolio.store.tables import POSTGRESQL_ONLY_INDEXES


def schema_diff(conn: Connection, target: MetaData, **opts: Any) -> list[Any]:
    """Alembic's differences, less the indexes this database's dialect never has
    (Alembic compares without the indexes' `ddl_if`)."""
    skipped = POSTGRESQL_ONLY_INDEXES if conn.dialect.name != "postgresql" else frozenset()

    def include(obj: Any, name: str | None, kind: str, reflected: bool, _other: Any) -> bool:
        return not (kind == "index" and name in skipped)

    context = MigrationContext.configure(conn, opts={**opts, "include_object": include})
    return list(compare_metadata(context, target))
