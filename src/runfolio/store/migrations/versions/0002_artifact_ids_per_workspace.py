"""artifact ids are unique per workspace

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

An artifact is found by (workspace, id): a client-chosen id that another
workspace already uses is stored as a new artifact, so a create reveals
nothing about other workspaces. The primary key becomes (workspace_id, id),
which also serves the lookups the (workspace_id, id) index served.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifacts", recreate="always") as batch_op:
        batch_op.drop_index("ix_artifacts__workspace_id_id")
        batch_op.drop_constraint("pk_artifacts", type_="primary")
        batch_op.create_primary_key("pk_artifacts", ["workspace_id", "id"])


def downgrade() -> None:
    # Fails (as it must) if two workspaces hold artifacts with the same id.
    with op.batch_alter_table("artifacts", recreate="always") as batch_op:
        batch_op.drop_constraint("pk_artifacts", type_="primary")
        batch_op.create_primary_key("pk_artifacts", ["id"])
        batch_op.create_index("ix_artifacts__workspace_id_id", ["workspace_id", "id"], unique=False)
