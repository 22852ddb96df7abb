"""Retention policies of a workspace: set, list, remove, and which one a key follows.

The pass that applies them is `runfolio.store.retention_pass`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, select

from runfolio.errors import NotFound
from runfolio.schemas.common import new_id, utcnow
from runfolio.schemas.retention import (
    RetentionPolicy,
    RetentionPolicySet,
    matches,
    most_specific_first,
    specificity,
)
from runfolio.store.tables import columns_in, retention_policies

_COLUMNS = columns_in(retention_policies, RetentionPolicy.model_fields)


def list_policies(conn: Connection, workspace_id: uuid.UUID) -> list[RetentionPolicy]:
    """The workspace's policies, the most specific pattern first (the order they apply in)."""
    rows = conn.execute(select(*_COLUMNS).where(retention_policies.c.workspace_id == workspace_id))
    found = [RetentionPolicy.model_validate(row._mapping) for row in rows]
    return sorted(found, key=lambda policy: specificity(policy.key_pattern))


def set_policy(
    conn: Connection,
    workspace_id: uuid.UUID,
    action: RetentionPolicySet,
    created_by: str | None = None,
) -> tuple[RetentionPolicy, bool]:
    """Set the policy of `action.key_pattern`; returns it and whether it is new."""
    table = retention_policies
    now = utcnow()
    values = {"keep_last": action.keep_last, "keep_days": action.keep_days, "updated": now}
    changed = conn.execute(
        table.update()
        .where(table.c.workspace_id == workspace_id, table.c.key_pattern == action.key_pattern)
        .values(**values)
    )
    created = changed.rowcount == 0
    if created:
        conn.execute(
            table.insert().values(
                id=new_id(),
                workspace_id=workspace_id,
                key_pattern=action.key_pattern,
                created_by=created_by,
                created=now,
                **values,
            )
        )
    return get_policy(conn, workspace_id, action.key_pattern), created


def get_policy(conn: Connection, workspace_id: uuid.UUID, pattern: str) -> RetentionPolicy:
    row = conn.execute(
        select(*_COLUMNS).where(
            retention_policies.c.workspace_id == workspace_id,
            retention_policies.c.key_pattern == pattern,
        )
    ).first()
    if row is None:
        raise NotFound(f"No retention policy for the key pattern {pattern!r}.")
    return RetentionPolicy.model_validate(row._mapping)


def remove_policy(conn: Connection, workspace_id: uuid.UUID, pattern: str) -> None:
    table = retention_policies
    removed = conn.execute(
        table.delete().where(table.c.workspace_id == workspace_id, table.c.key_pattern == pattern)
    )
    if removed.rowcount == 0:
        raise NotFound(f"No retention policy for the key pattern {pattern!r}.")


class PolicyMatcher:
    """Which policy a key follows: the most specific matching pattern, or none."""

    def __init__(self, policies: list[RetentionPolicy]) -> None:
        by_pattern = {policy.key_pattern: policy for policy in policies}
        self._ordered = [by_pattern[p] for p in most_specific_first(list(by_pattern))]

    def __bool__(self) -> bool:
        return bool(self._ordered)

    def policy_for(self, key: str) -> RetentionPolicy | None:
        for policy in self._ordered:
            if matches(policy.key_pattern, key):
                return policy
        return None
