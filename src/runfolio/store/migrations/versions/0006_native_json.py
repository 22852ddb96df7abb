"""JSON columns are PostgreSQL's json (TEXT on SQLite, unchanged)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

json keeps the text exactly as written (key order, every escape) and the server checks
it is JSON. NaN and infinities are not: rows that hold them (written by earlier
versions, which the API answered as null) get null there first.
"""

import json
from typing import Any

from alembic import op
from sqlalchemy import text

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Every column runfolio keeps JSON in, at this revision.
JSON_COLUMNS = {
    "artifact_collections": ("data", "metadata_"),
    "artifact_row_appends": ("rows",),
    "artifacts": ("data", "metadata_"),
    "flow_runs": ("parameters", "context", "state_details", "tags", "labels", "empirical_policy"),
    "flows": ("tags", "labels"),
    "run_states": ("data", "details"),
    "task_runs": ("task_inputs", "state_details", "tags", "labels", "empirical_policy"),
    "webhook_deliveries": ("payload",),
    "webhooks": ("events", "artifact_types", "rule"),
}


def _without_non_finite(stored: str) -> str | None:
    """`stored` with its NaN and infinities as null; None if it holds none."""
    found = False

    def null(_token: str) -> None:
        nonlocal found
        found = True

    value: Any = json.loads(stored, parse_constant=null)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if found else None


def _null_non_finite(table: str, column: str) -> None:
    conn = op.get_bind()
    # Only rows with the words can hold the tokens (most often inside a string instead).
    candidates = conn.execute(
        text(
            f"SELECT ctid, {column} FROM {table} "
            f"WHERE {column} LIKE '%NaN%' OR {column} LIKE '%Infinity%'"
        )
    ).all()
    for ctid, stored in candidates:
        fixed = _without_non_finite(stored)
        if fixed is not None:
            conn.execute(
                text(f"UPDATE {table} SET {column} = :fixed WHERE ctid = :ctid"),
                {"fixed": fixed, "ctid": ctid},
            )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # TEXT stays TEXT
    for table, columns in JSON_COLUMNS.items():
        # No writer may add a row between the repair and the change of type.
        op.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        for column in columns:
            _null_non_finite(table, column)
        op.execute(
            f"ALTER TABLE {table} "
            + ", ".join(f"ALTER COLUMN {c} TYPE json USING {c}::json" for c in columns)
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in JSON_COLUMNS.items():
        op.execute(
            f"ALTER TABLE {table} "
            + ", ".join(f"ALTER COLUMN {c} TYPE text USING {c}::text" for c in columns)
        )
