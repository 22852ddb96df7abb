"""Trigram indexes on artifact keys (PostgreSQL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

A key `like_` is ILIKE '%part%': no B-tree serves it, so PostgreSQL read every
version and every key. pg_trgm's GIN operator class answers it from an index. When
the server lacks the extension or refuses it, the migration goes on without the
indexes (with a warning). SQLite gets nothing.
"""

from alembic import op

from runfolio.store.migrations import enable_trigram_search

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

KEYED_TABLES = ("artifacts", "artifact_collections")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql" or not enable_trigram_search(conn):
        return
    for table in KEYED_TABLES:
        op.create_index(
            f"ix_{table}__key_trgm",
            table,
            ["key"],
            postgresql_using="gin",
            postgresql_ops={"key": "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The extension stays: it may have been there before, or serve other tables.
    for table in KEYED_TABLES:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}__key_trgm")
