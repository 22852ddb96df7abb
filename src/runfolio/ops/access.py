"""Who may do what: roles, principals, and the one check every operation passes.

A principal is whoever an operation runs for: a user (signed in to the UI), an
API key (acting for its user in one workspace, with at most that user's role),
the server's auth string, an open server's anonymous caller, or a local caller
(the embedded client and the CLI on the database itself, which hold the
database file or its URL and so may do anything).

`Context.reading()` and `Context.writing()` call `authorise` with the role the
operation needs, so no operation can skip it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from runfolio.errors import Forbidden, NotFound


class Role(enum.IntEnum):
    """A role in a workspace; each includes the rights of those below it."""

    READ = 1  # see everything in the workspace
    WRITE = 2  # create and update artifacts and runs
    ADMIN = 3  # delete, manage members and keys

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            choices = ", ".join(role.label for role in cls)
            raise ValueError(f"unknown role {text!r}: choose one of {choices}") from None


# What each kind of operation is called in a refusal.
_ACTIONS = {Role.READ: "read", Role.WRITE: "write", Role.ADMIN: "delete or administer"}


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever an operation runs for, and their role in each workspace.

    `everywhere` is a role held in every workspace (server admins, the auth string,
    open servers, local callers); `grants` the roles held in particular ones.
    `name` is what rows it creates record as their creator (None: not recorded).
    """

    name: str | None
    everywhere: Role | None = None
    grants: Mapping[uuid.UUID, Role] = field(default_factory=dict)
    # A key's id, so that revoking it can drop it from the server's cache.
    key_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None

    def role_in(self, workspace_id: uuid.UUID) -> Role | None:
        granted = self.grants.get(workspace_id)
        if self.everywhere is None:
            return granted
        return self.everywhere if granted is None else max(granted, self.everywhere)


#: The embedded client and the CLI on the database itself.
LOCAL = Principal(name=None, everywhere=Role.ADMIN)
#: A server with no users and no auth string: anyone who can reach it (loopback only).
OPEN = Principal(name=None, everywhere=Role.ADMIN)


def authorise(
    principal: Principal, workspace_id: uuid.UUID | None, workspace: str, need: Role
) -> uuid.UUID:
    """The workspace id if `principal` holds `need` there.

    A workspace that does not exist and one the principal has no role in answer
    alike (NotFound), so a caller learns nothing about workspaces not theirs.
    """
    role = None if workspace_id is None else principal.role_in(workspace_id)
    if role is None or workspace_id is None:
        raise NotFound(f"Workspace not found: {workspace}")
    if role < need:
        raise Forbidden(
            f"Your role in workspace {workspace} is {role.label}; to {_ACTIONS[need]} "
            f"here takes the {need.label} role."
        )
    return workspace_id
