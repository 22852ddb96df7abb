"""Workspaces: every row belongs to one; named ones come into being on their first write.

Reads never write: a read in a workspace that does not exist yet sees an empty
one (`NO_WORKSPACE_ID` matches no row).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from runfolio.schemas.common import new_id, utcnow
from runfolio.store.tables import (
    DEFAULT_ACCOUNT,
    DEFAULT_WORKSPACE,
    DEFAULT_WORKSPACE_ID,
    workspaces,
)

# Owns no row: reads of a workspace that does not exist find nothing, without a write.
NO_WORKSPACE_ID = uuid.UUID("ffffffff-ffff-7fff-bfff-ffffffffffff")


def _find(conn: Connection, account: str, name: str) -> uuid.UUID | None:
    if (account, name) == (DEFAULT_ACCOUNT, DEFAULT_WORKSPACE):
        return DEFAULT_WORKSPACE_ID
    query = select(workspaces.c.id).where(
        workspaces.c.account == account, workspaces.c.name == name
    )
    found: uuid.UUID | None = conn.execute(query).scalar()
    return found


def lookup(conn: Connection, account: str, name: str) -> uuid.UUID:
    """The id of workspace `account/name`, or `NO_WORKSPACE_ID` when it does not exist."""
    found = _find(conn, account, name)
    return NO_WORKSPACE_ID if found is None else found


def resolve(conn: Connection, account: str, name: str) -> uuid.UUID:
    """The id of workspace `account/name`, creating it when it does not exist yet."""
    found = _find(conn, account, name)
    if found is not None:
        return found
    workspace_id = new_id()
    try:
        with conn.begin_nested():
            conn.execute(
                workspaces.insert().values(
                    id=workspace_id, account=account, name=name, created=utcnow()
                )
            )
    except IntegrityError:
        # Created by a concurrent request in between: use that one.
        created = _find(conn, account, name)
        assert created is not None
        return created
    return workspace_id
