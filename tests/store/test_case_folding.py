"""`like_` folds case as PostgreSQL's ILIKE does (its C.UTF-8 collation), on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from runfolio.schemas.filters import FlowFilter, FlowRunFilter, NameFilter
from runfolio.schemas.runs import FlowCreate, FlowRunCreate
from runfolio.store import runs
from runfolio.store.engine import dispose_engines, open_engine, read, write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID as WS
from runfolio.store.textfold import simple_lower

NAMES = ["ärger-report", "σίσυφος", "ΣΊΣΥΦΟΣ", "istanbul", "ıstanbul", "straße", "plain-ascii"]

# (like_, the names it finds)
CASES = [
    ("ÄRGER", {"ärger-report"}),
    ("Ärger-R", {"ärger-report"}),
    ("ärger", {"ärger-report"}),
    # Each Σ lowers to σ, a final one too; ς is a letter of its own (PostgreSQL's
    # per-character mapping, not Python's final-sigma rule).
    ("ΣΊΣΥΦ", {"σίσυφος", "ΣΊΣΥΦΟΣ"}),
    ("ΣΥΦΟΣ", {"ΣΊΣΥΦΟΣ"}),
    ("συφος", {"σίσυφος"}),
    # Dotted capital I lowers to a plain i; dotless ı has no ASCII partner.
    ("İSTANBUL", {"istanbul"}),
    ("ıSTANBUL", {"ıstanbul"}),
    ("ISTANBUL", {"istanbul"}),
    # No folding beyond lowercase: ß is not "ss".
    ("STRAẞE", {"straße"}),
    ("strasse", set()),
    ("PLAIN-ä", set()),
    ("PLAIN", {"plain-ascii"}),
    # % and _ stay literal in a non-ASCII pattern too.
    ("ä%", set()),
    ("_rger", set()),
]


@pytest.fixture
def db(tmp_path: Path, database_url: str | None) -> Iterator[Engine]:
    engine = open_engine(database_url or f"sqlite:///{tmp_path / 'runfolio.db'}")
    with write(engine) as conn:
        for name in NAMES:
            flow, _ = runs.create_flow(conn, WS, FlowCreate(name=name))
            runs.create_flow_run(conn, WS, FlowRunCreate(flow_id=flow.id, name=name))
    yield engine
    dispose_engines()


def test_like_folds_case_as_postgresql_does(db: Engine) -> None:
    with read(db) as conn:
        for like, expected in CASES:
            flows = runs.filter_flows(conn, WS, FlowFilter(name=NameFilter(like_=like)), 100, 0)
            assert {f.name for f in flows} == expected, like
            found = runs.filter_flow_runs(conn, WS, FlowRunFilter(name=NameFilter(like_=like)))
            assert {r.name for r in found} == expected, like


def test_simple_lower_is_per_character() -> None:
    assert simple_lower("ΣΊΣΥΦΟΣ İSTANBUL ẞ Ǆ") == "σίσυφοσ istanbul ß ǆ"
    assert simple_lower(None) is None
