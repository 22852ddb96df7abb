"""Which workspace the pages show: the one the browser chose (`runfolio_workspace`
cookie, `ACCOUNT/NAME`) if its user may read it, else the default workspace if
they may, else the first they may read.

Server admins and open servers read every workspace; other users those they are
members of. A user who may read none gets a page saying so (`NoWorkspace`).
"""

from __future__ import annotations

from sqlalchemy import Engine

from runfolio.errors import Forbidden, Invalid
from runfolio.ops.access import Principal
from runfolio.server.ui.models import Header
from runfolio.store import workspaces
from runfolio.store.engine import read
from runfolio.store.tables import DEFAULT_WORKSPACE_ID
from runfolio.store.workspaces import Workspace


class NoWorkspace(Forbidden):
    """The caller may read no workspace at all (with the page header to show)."""

    def __init__(self, header: Header) -> None:
        super().__init__("You are not a member of any workspace. Ask an admin to add you to one.")
        self.header = header


def readable(engine: Engine, principal: Principal) -> list[Workspace]:
    """The workspaces `principal` may read, by path."""
    with read(engine) as conn:
        every = workspaces.list_all(conn)
    return [w for w in every if principal.role_in(w.id) is not None]


def parse_choice(value: str | None) -> tuple[str, str] | None:
    """A chosen workspace's (account, name), or None when `value` names none."""
    if not value:
        return None
    try:
        return workspaces.parse_path(value)
    except Invalid:
        return None


def choose(found: list[Workspace], wanted: str | None) -> Workspace | None:
    """The workspace to show among `found` (readable ones): see the module's note."""
    choice = parse_choice(wanted)
    for workspace in found:
        if (workspace.account, workspace.name) == choice:
            return workspace
    for workspace in found:
        if workspace.id == DEFAULT_WORKSPACE_ID:
            return workspace
    return found[0] if found else None
