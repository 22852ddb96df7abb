"""What webhooks add to an artifact create (and update) on the server, side by side.

The server's work for a create is `ops.create_artifact` in a write transaction; this
runs it in-process (no HTTP, so the difference is not diluted) on four SQLite files,
round-robin, in the same run:

    baseline      the webhook hooks replaced by no-ops (the create path without them)
    0 webhooks    the real path on a workspace with no webhooks (an indexed lookup at
                  most once a second, the answer remembered meanwhile)
    3 non-match   3 active webhooks whose rule does not hold (judged, nothing queued)
    3 webhooks    3 active webhooks that match (3 delivery rows queued per create)

No sender runs: queued rows are only written, as in the write's transaction.

    .venv/bin/python bench/webhook_cost.py --creates 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from runfolio import ops
from runfolio.ops import Context
from runfolio.ops import webhooks as webhook_ops
from runfolio.schemas.artifacts import ArtifactCreate, ArtifactUpdate
from runfolio.schemas.webhooks import WebhookCreate
from runfolio.store import webhooks as hooks
from runfolio.store.engine import connect, read
from runfolio.store.tables import DEFAULT_WORKSPACE_ID

MATCH = {"kind": "markdown_contains", "text": "FAILED"}
NO_MATCH = {"kind": "markdown_contains", "text": "never in the data"}
VARIANTS = ("baseline", "0 webhooks", "3 non-match", "3 webhooks")


@contextmanager
def hooks_disabled(disabled: bool) -> Iterator[None]:
    """The create path as it was before webhooks (for the baseline only)."""
    if not disabled:
        yield
        return
    saved = (hooks.artifact_created, hooks.watch, hooks.artifact_updated)
    hooks.artifact_created = lambda *a, **k: None  # type: ignore[assignment]
    hooks.watch = lambda *a, **k: None  # type: ignore[assignment]
    hooks.artifact_updated = lambda *a, **k: None  # type: ignore[assignment]
    try:
        yield
    finally:
        hooks.artifact_created, hooks.watch, hooks.artifact_updated = saved


def make_db(folder: Path, variant: str) -> Engine:
    engine = connect(f"sqlite:///{folder / (variant.replace(' ', '-') + '.db')}")
    ctx = Context(engine)
    if variant.startswith("3"):
        rule = MATCH if variant == "3 webhooks" else NO_MATCH
        for n in range(3):
            action = WebhookCreate(name=f"h{n}", url=f"http://127.0.0.1:9/{n}", rule=rule)
            webhook_ops.create_webhook(ctx, action)
    return engine


def timed(fn: Callable[[], Any], count: int) -> float:
    """CPU microseconds of this process per call: what the server spends, and far less
    swayed by other processes on a busy machine than the wall clock."""
    start = time.process_time()
    for _ in range(count):
        fn()
    return (time.process_time() - start) / count * 1e6


def lookup_us(engine: Engine, count: int = 20_000) -> float:
    """CPU microseconds of the query that finds a workspace has no webhooks (made at most
    once a second per workspace and process: the answer is remembered that long)."""

    def look() -> None:
        hooks.forget_no_webhooks(DEFAULT_WORKSPACE_ID)
        hooks.active_hooks(conn, DEFAULT_WORKSPACE_ID)

    with read(engine) as conn:
        return timed(look, count)


def measure(engine: Engine, creates: int) -> tuple[float, float]:
    """Microseconds per create, and per update of one artifact (its data changed)."""
    ctx = Context(engine)
    action = ArtifactCreate(key="report", type="markdown", data="tests FAILED: 3")
    per_create = timed(lambda: ops.create_artifact(ctx, action), creates)
    made, _ = ops.create_artifact(ctx, action)
    change = ArtifactUpdate(data="tests FAILED: 4")
    per_update = timed(lambda: ops.update_artifact(ctx, made.id, change), creates // 4)
    return per_create, per_update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=2000, help="creates per variant per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engines = {v: make_db(Path(tmp), v) for v in VARIANTS}
        create_us: dict[str, list[float]] = {v: [] for v in VARIANTS}
        update_us: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for round_ in range(args.rounds + 1):  # round 0 warms up
            for variant in VARIANTS:
                with hooks_disabled(variant == "baseline"):
                    per_create, per_update = measure(engines[variant], args.creates)
                if round_:
                    create_us[variant].append(per_create)
                    update_us[variant].append(per_update)
        lookups = [lookup_us(engines["0 webhooks"]) for _ in range(args.rounds)]
        for engine in engines.values():
            engine.dispose()
    base_c = statistics.median(create_us["baseline"])
    base_u = statistics.median(update_us["baseline"])
    print(f"{args.creates} creates x {args.rounds} rounds per variant, round-robin;")
    print("median CPU time of this process per operation (commit and fsync included)")
    print(f"{'variant':<14}{'create µs':>11}{'vs base':>9}{'added µs':>10}"
          f"{'update µs':>11}{'vs base':>9}{'added µs':>10}")  # fmt: skip
    for variant in VARIANTS:
        c = statistics.median(create_us[variant])
        u = statistics.median(update_us[variant])
        print(
            f"{variant:<14}{c:>11.1f}{c / base_c:>9.3f}{c - base_c:>10.1f}"
            f"{u:>11.1f}{u / base_u:>9.3f}{u - base_u:>10.1f}"
        )
    print(f"the no-webhooks lookup, when made: {statistics.median(lookups):.1f} µs")


if __name__ == "__main__":
    main()
