"""Who calls an operation, in which workspace, against which database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from runfolio.settings import Settings
from runfolio.store import workspaces
from runfolio.store.engine import read, write
from runfolio.store.filtering import resolve_page
from runfolio.store.tables import DEFAULT_ACCOUNT, DEFAULT_WORKSPACE, DEFAULT_WORKSPACE_ID

DEFAULT_MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller of an operation: the workspace it addresses, and who it is.

    `identity` is None for local callers (the embedded client, the CLI on the
    embedded store) and for servers without accounts.
    """

    account: str = DEFAULT_ACCOUNT
    workspace: str = DEFAULT_WORKSPACE
    identity: str | None = None

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
    def reading(self) -> Iterator[tuple[Connection, uuid.UUID]]:
        """A read transaction and the workspace id (a workspace that does not exist
        reads as empty: reads never write)."""
        with read(self.db) as conn:
            if self.caller.is_default_workspace:
                yield conn, DEFAULT_WORKSPACE_ID
            else:
                yield conn, workspaces.lookup(conn, self.caller.account, self.caller.workspace)

    @contextmanager
    def writing(self) -> Iterator[tuple[Connection, uuid.UUID]]:
        """A write transaction and the workspace id (created on its first write)."""
        with write(self.db) as conn:
            if self.caller.is_default_workspace:
                yield conn, DEFAULT_WORKSPACE_ID
            else:
                yield conn, workspaces.resolve(conn, self.caller.account, self.caller.workspace)
