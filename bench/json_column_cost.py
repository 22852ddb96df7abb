#!/usr/bin/env python3
"""What PostgreSQL's json column costs against the text column it replaced (migration 0006).

Starts a throwaway PostgreSQL server (tests/pg.py), opens it with runfolio's engine
(`connect`: its pool and connection settings) and makes two one-column tables: one
`text`, bound as before 0006 (JSONText's text dumped by Python, `%(data)s::VARCHAR`),
one `json`, bound as JSONText does now (`%(data)s::JSON`, the same text). Round-robin
over `--rounds`, each kind alternately first, it times:

  insert markdown   one committed INSERT of a ~1.4 KB markdown (a JSON string), `--small` times
  insert table      one committed INSERT of a 10,000-row table (list of objects), `--large` times
  length table      `length(data)` (text) against `length(CAST(data AS TEXT))` (json) of
                    that row: what history and search pay for reading the text
  prefix table      `substr(data, 1, 16384)` against `substr(CAST(data AS TEXT), 1, 16384)`:
                    what an append to that table reads first (text can be read in part)

  server markdown   the server alone: 1,000 rows of the markdown in one INSERT ... SELECT
  server table      the same with 10 rows of the table (per row; no client, no encoding)

and prints the median per operation and the ratio json / text. Python's JSON encoding
is the same for both and included. Run by hand, never in CI:

    .venv/bin/python bench/json_column_cost.py --rounds 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/pg.py runs the PostgreSQL server, as for the tests

from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text, func, select, text  # noqa: E402
from sqlalchemy.engine import Dialect  # noqa: E402
from sqlalchemy.types import TypeDecorator  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402

from runfolio.store.engine import connect, read, write  # noqa: E402
from runfolio.store.types import JSONText, dumps, json_text  # noqa: E402


class TextJSON(TypeDecorator[Any]):
    """JSONText as it was before 0006: the same text, in a text column."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else dumps(value)


metadata = MetaData()
TABLES = {
    "text": Table(
        "bench_text", metadata, Column("id", Integer, primary_key=True), Column("data", TextJSON)
    ),
    "json": Table(
        "bench_json", metadata, Column("id", Integer, primary_key=True), Column("data", JSONText)
    ),
}

MARKDOWN = (
    "# Report\n\nSome *markdown* with a [link](https://example.com) and a list:\n\n"
    + "".join(f"- item {i}: ärger and σίσυφος, `code` and more words here\n" for i in range(22))
)
TABLE = [{"id": i, "name": f"row-{i}", "score": i * 0.5, "ok": i % 2 == 0} for i in range(10_000)]


def _timed(action: Callable[[], object], times: int) -> list[float]:
    out = []
    for _ in range(times):
        start = time.perf_counter()
        action()
        out.append(time.perf_counter() - start)
    return out


def _insert(engine: Engine, table: Table, value: Any) -> Callable[[], object]:
    def run() -> None:
        with write(engine) as conn:
            conn.execute(table.insert(), {"data": value})

    return run


def _length(engine: Engine, kind: str, row_id: int) -> Callable[[], object]:
    return _read(engine, kind, row_id, func.length)


def _prefix(engine: Engine, kind: str, row_id: int) -> Callable[[], object]:
    return _read(engine, kind, row_id, lambda stored: func.substr(stored, 1, 16_384))


def _server_insert(engine: Engine, kind: str, value: Any, rows: int) -> Callable[[], object]:
    # `|| repeat('', g)` makes each row's value an expression of the row, so the server
    # checks the json of every row (a constant would be cast once).
    cast = "CAST(:v || repeat('', g) AS json)" if kind == "json" else ":v || repeat('', g)"
    sql = text(
        f"INSERT INTO {TABLES[kind].name} (data) SELECT {cast} FROM generate_series(1, :n) AS g"
    )
    encoded = dumps(value)

    def run() -> None:
        with write(engine) as conn:
            conn.execute(sql, {"v": encoded, "n": rows})

    return run


def _read(engine: Engine, kind: str, row_id: int, of: Callable[[Any], Any]) -> Callable[[], object]:
    table = TABLES[kind]
    stored = table.c.data if kind == "text" else json_text(table.c.data)
    query = select(of(stored)).where(table.c.id == row_id)

    def run() -> None:
        with read(engine) as conn:
            conn.execute(query).scalar_one()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--small", type=int, default=200, help="markdown inserts per round")
    parser.add_argument("--large", type=int, default=5, help="table inserts per round")
    args = parser.parse_args()
    print(
        f"markdown: {len(MARKDOWN.encode())} bytes ({len(dumps(MARKDOWN).encode())} as JSON); "
        f"table: {len(TABLE)} rows, {len(dumps(TABLE).encode())} bytes as JSON"
    )
    server = PostgresServer()
    try:
        server.start()
        with server.database() as url:
            engine = connect(url)
            metadata.create_all(engine)
            samples: dict[tuple[str, str], list[float]] = {}
            for round_ in range(args.rounds):
                kinds = ["text", "json"] if round_ % 2 == 0 else ["json", "text"]
                for kind in kinds:
                    table = TABLES[kind]
                    for name, value, times in (
                        ("insert markdown", MARKDOWN, args.small),
                        ("insert table", TABLE, args.large),
                    ):
                        samples.setdefault((name, kind), []).extend(
                            _timed(_insert(engine, table, value), times)
                        )
                    with read(engine) as conn:  # the table just inserted
                        big = conn.execute(select(func.max(table.c.id))).scalar_one()
                    samples.setdefault(("length table", kind), []).extend(
                        _timed(_length(engine, kind, big), args.small)
                    )
                    samples.setdefault(("prefix table", kind), []).extend(
                        _timed(_prefix(engine, kind, big), args.small)
                    )
                    for name, value, rows in (
                        ("server markdown", MARKDOWN, 1000),
                        ("server table", TABLE, 10),
                    ):
                        took = _timed(_server_insert(engine, kind, value, rows), 3)
                        samples.setdefault((name, kind), []).extend(t / rows for t in took)
            engine.dispose()
    finally:
        server.stop()
    print(f"{'operation':18} {'text ms':>9} {'json ms':>9} {'json/text':>9}")
    names = ["insert markdown", "insert table", "length table", "prefix table"]
    for name in [*names, "server markdown", "server table"]:
        text_ms = statistics.median(samples[(name, "text")]) * 1000
        json_ms = statistics.median(samples[(name, "json")]) * 1000
        print(f"{name:18} {text_ms:9.3f} {json_ms:9.3f} {json_ms / text_ms:9.2f}")


if __name__ == "__main__":
    main()
