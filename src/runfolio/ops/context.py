"""Who calls an operation, in which workspace, against which database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from runfolio.ops.access import LOCAL, Principal, Role, authorise
from runfolio.settings import Settings
from runfolio.store import workspaces
from runfolio.store.engine import read, write
from runfolio.store.filtering import resolve_page
from runfolio.store.tables import DEFAULT_ACCOUNT, DEFAULT_WORKSPACE, DEFAULT_WORKSPACE_ID

DEFAULT_MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller of an operation: the workspace it addresses, and who it is.

    The principal is `LOCAL` for the embedded client and the CLI on the database
    itself; a server puts there whoever its credentials name.
    """

    account: str = DEFAULT_ACCOUNT
    workspace: str = DEFAULT_WORKSPACE
    principal: Principal = LOCAL

    @property
    def workspace_path(self) -> str:
        return f"{self.account}/{self.workspace}"

    @property
    def is_default_workspace(self) -> bool:
        return self.account == DEFAULT_ACCOUNT and self.workspace == DEFAULT_WORKSPACE


@dataclass(frozen=True, slots=True)
class Context:
    """Everything an operation needs besides its arguments."""

    db: Engine
    caller: Caller = Caller()
    max_limit: int = DEFAULT_MAX_LIMIT
    #: Refuse artifact data that does not fit its known type (off: stored as sent).
    strict_artifact_data: bool = False

    @classmethod
    def configured(cls, db: Engine, settings: Settings, caller: Caller | None = None) -> Context:
        """The context the settings ask for."""
        return cls(db, caller or Caller(), settings.default_limit, settings.strict_artifact_data)

    def page(self, limit: int | None, offset: int | None) -> tuple[int, int]:
        """Paging rules: null limit means the maximum; more than the maximum is refused."""
        return resolve_page(limit, offset, self.max_limit)

    @contextmanager
    def reading(
        self, need: Role = Role.READ, *, snapshot: bool = True
    ) -> Iterator[tuple[Connection, uuid.UUID]]:
        """A read transaction and the workspace id, once the caller is found to hold
        `need` there (NotFound, Forbidden otherwise). `snapshot=False`: see `read`."""
        with read(self.db, snapshot=snapshot) as conn:
            yield conn, self._authorised(conn, need)

    @contextmanager
    def writing(self, need: Role = Role.WRITE) -> Iterator[tuple[Connection, uuid.UUID]]:
        """A write transaction and the workspace id, once the caller is found to hold
        `need` there (deletes ask for `Role.ADMIN`)."""
        with write(self.db) as conn:
            yield conn, self._authorised(conn, need)

    def workspace_without_query(self, need: Role = Role.WRITE) -> uuid.UUID | None:
        """The workspace id when the caller plainly holds `need` there (the default
        workspace, a role held everywhere): the common case, which needs no query.
        None when it takes the database to tell."""
        principal = self.caller.principal
        if (
            self.caller.is_default_workspace
            and principal.everywhere is not None
            and principal.everywhere >= need
        ):
            return DEFAULT_WORKSPACE_ID
        return None

    def _authorised(self, conn: Connection, need: Role) -> uuid.UUID:
        known = self.workspace_without_query(need)
        if known is not None:
            return known
        caller = self.caller
        principal = caller.principal
        if caller.is_default_workspace:
            workspace_id: uuid.UUID | None = DEFAULT_WORKSPACE_ID
        else:
            workspace_id = workspaces.lookup(conn, caller.account, caller.workspace)
        return authorise(principal, workspace_id, caller.workspace_path, need)
