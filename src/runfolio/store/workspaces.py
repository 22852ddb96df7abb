"""Workspaces: every row belongs to one. The default one always exists; named ones
are created by an admin (`runfolio workspace create ACCOUNT/NAME`), never by use."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from runfolio.errors import Conflict, Invalid
from runfolio.schemas.common import new_id, utcnow
from runfolio.store.tables import (
    DEFAULT_ACCOUNT,
    DEFAULT_WORKSPACE,
    DEFAULT_WORKSPACE_ID,
    memberships,
    workspaces,
)

# Names appear in URLs (`/api/accounts/ACCOUNT/workspaces/NAME/...`): kept to what
# needs no escaping there, and to the column's size.
NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Workspace:
    id: uuid.UUID
    account: str
    name: str

    @property
    def path(self) -> str:
        return f"{self.account}/{self.name}"


def lookup(conn: Connection, account: str, name: str) -> uuid.UUID | None:
    """The id of workspace `account/name`, or None when there is none."""
    if (account, name) == (DEFAULT_ACCOUNT, DEFAULT_WORKSPACE):
        return DEFAULT_WORKSPACE_ID
    query = select(workspaces.c.id).where(
        workspaces.c.account == account, workspaces.c.name == name
    )
    found: uuid.UUID | None = conn.execute(query).scalar()
    return found


def parse_path(path: str) -> tuple[str, str]:
    """`ACCOUNT/NAME` → (account, name), both checked; `default` is the default workspace."""
    if path.strip() == DEFAULT_WORKSPACE:
        return DEFAULT_ACCOUNT, DEFAULT_WORKSPACE
    account, slash, name = path.strip().partition("/")
    for part, value in (("account", account), ("name", name)):
        if not slash or not NAME_PATTERN.match(value):
            raise Invalid.field(
                ("workspace",),
                f"{path!r} is not ACCOUNT/NAME: the {part} must be 1 to 100 lowercase letters, "
                "digits, dots, dashes or underscores, starting and ending with a letter or digit",
                path,
            )
    return account, name


def find(conn: Connection, path: str) -> Workspace:
    """The workspace `ACCOUNT/NAME` names (Invalid if there is none)."""
    account, name = parse_path(path)
    found = lookup(conn, account, name)
    if found is None:
        raise Invalid.field(("workspace",), f"no workspace {account}/{name}", path)
    return Workspace(found, account, name)


def create(conn: Connection, path: str) -> Workspace:
    """Create workspace `ACCOUNT/NAME` (Conflict if it exists)."""
    account, name = parse_path(path)
    if lookup(conn, account, name) is not None:
        raise Conflict(f"Workspace {account}/{name} already exists.")
    workspace_id = new_id()
    conn.execute(
        workspaces.insert().values(id=workspace_id, account=account, name=name, created=utcnow())
    )
    return Workspace(workspace_id, account, name)


def list_all(conn: Connection) -> list[Workspace]:
    rows = conn.execute(
        select(workspaces.c.id, workspaces.c.account, workspaces.c.name).order_by(
            workspaces.c.account, workspaces.c.name
        )
    )
    return [Workspace(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class Summary:
    """A workspace as an admin's listing shows it."""

    workspace: Workspace
    created: dt.datetime
    members: int


def list_summaries(conn: Connection) -> list[Summary]:
    """Every workspace with its creation time and how many users have a role in it."""
    members = func.count(memberships.c.user_id)
    rows = conn.execute(
        select(workspaces.c.id, workspaces.c.account, workspaces.c.name, workspaces.c.created)
        .add_columns(members)
        .outerjoin(memberships, memberships.c.workspace_id == workspaces.c.id)
        .group_by(workspaces.c.id, workspaces.c.account, workspaces.c.name, workspaces.c.created)
        .order_by(workspaces.c.account, workspaces.c.name)
    )
    return [
        Summary(Workspace(ws_id, account, name), created, count)
        for ws_id, account, name, created, count in rows
    ]
