"""Retention policy operations: anyone who reads a workspace sees its policies; only
its admins set and remove them (they decide what gets deleted)."""

from __future__ import annotations

from runfolio.ops.access import Role
from runfolio.ops.context import Context
from runfolio.schemas.retention import RetentionPolicy, RetentionPolicySet
from runfolio.store import retention as store


def list_policies(ctx: Context) -> list[RetentionPolicy]:
    with ctx.reading(Role.READ) as (conn, ws):
        return store.list_policies(conn, ws)


def set_policy(ctx: Context, action: RetentionPolicySet) -> tuple[RetentionPolicy, bool]:
    """Set the policy of a pattern; returns it and whether it is new."""
    with ctx.writing(Role.ADMIN) as (conn, ws):
        return store.set_policy(conn, ws, action, created_by=ctx.caller.principal.name)


def remove_policy(ctx: Context, key_pattern: str) -> None:
    with ctx.writing(Role.ADMIN) as (conn, ws):
        store.remove_policy(conn, ws, key_pattern)
