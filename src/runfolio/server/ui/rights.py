"""Who may manage a workspace's API keys and members: every such decision of the UI
is made here, from the principal's role in that workspace (`Principal.role_in`).

A workspace admin (the admin role there, or a server admin, who is admin of every
workspace) manages every key and the members; anyone else sees and revokes only
their own keys, and makes keys of at most their own role.
"""

from __future__ import annotations

import uuid

from runfolio.ops.access import Principal, Role


def manages(principal: Principal, workspace_id: uuid.UUID) -> bool:
    """Whether `principal` manages the workspace's members and every key made for it."""
    role = principal.role_in(workspace_id)
    return role is not None and role >= Role.ADMIN


def key_roles(principal: Principal, workspace_id: uuid.UUID) -> list[Role]:
    """The roles a key `principal` makes here may have: up to their own."""
    held = principal.role_in(workspace_id)
    return [] if held is None else [role for role in Role if role <= held]


class NoKeys(Exception):
    """The principal is neither a workspace admin nor a user: it has no keys of its own."""


def key_owner(principal: Principal, workspace_id: uuid.UUID) -> uuid.UUID | None:
    """Whose keys `principal` may see and revoke here: None for every key (a workspace
    admin), else its own user's. NoKeys when it is neither (nothing to show)."""
    if manages(principal, workspace_id):
        return None
    if principal.user_id is None:
        raise NoKeys
    return principal.user_id
