"""Deleting a whole key (every version), for its workspace's admins.

A key with many versions goes in several short transactions (older versions first,
the latest last, which removes its collection row), so deleting it never holds the
write lock long. Interrupted, the key is left with its newest versions and its
collection row correct.
"""

from __future__ import annotations

from runfolio.ops.access import Role
from runfolio.ops.context import Context
from runfolio.store import artifacts as artifact_store
from runfolio.store.retention_pass import BATCH_SIZE, KeyPlan, delete_batch


def delete_key(ctx: Context, key: str) -> int:
    """Delete every version of `key`; returns how many. NotFound for an unknown key."""
    deleted = 0
    while True:
        with ctx.writing(Role.ADMIN) as (conn, ws):
            collection = artifact_store.read_collection(conn, ws, key)
            # No cutoffs: every version but the latest, a batch at a time.
            everything = KeyPlan(ws, ctx.caller.workspace_path, key, "", 0, None, None)
            went = delete_batch(conn, everything, BATCH_SIZE)
            deleted += went
            if went < BATCH_SIZE:
                artifact_store.delete(conn, ws, collection.latest_id)
                return deleted + 1
