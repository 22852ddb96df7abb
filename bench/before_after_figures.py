"""What before_after.py runs of each bench, and the figures it reads from its output.

A bench listed in BENCHES runs with its small configuration there; its figures come from
the JSON, the markdown tables or the lines it prints. A bench not listed runs with its
defaults (at most 4 minutes), and `generic_figures` picks numbers from its output.
Arguments may name `{harness}` (the reference harness, /work/shared/bench beside the
checkout) and `{scratch}` (the run's temp dir).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    lower_is_better: bool = True


Parser = Callable[[str], list[Figure]]


@dataclass(frozen=True)
class Bench:
    args: tuple[str, ...]
    parse: Parser
    size: str  # what this run measures next to the bench's default
    timeout_s: float = 300.0
    # Flags (with their values) passed only to a version of the bench that has them.
    optional: tuple[tuple[str, ...], ...] = ()
    # A fixed port the bench's server takes (waited for while another process holds it),
    # and a pattern in its output that makes the run invalid.
    port: int | None = None
    invalid: str | None = None


# -- reading the benches' output ------------------------------------------------------------


def _number(text: str) -> float:
    return float(text.replace(",", "").rstrip("x%").strip())


def _json_object(out: str) -> dict[str, Any]:
    """The JSON object a bench prints (after any other lines)."""
    value = json.loads(out[out.index("{") :])
    if not isinstance(value, dict):
        raise ValueError("no JSON object in the output")
    return value


def _dig(obj: dict[str, Any], path: str) -> float:
    value: Any = obj
    for part in path.split("."):
        value = value[part]
    return float(value)


def _read(name: str, unit: str, value: Callable[..., float], *args: Any) -> Figure:
    """The figure `value(*args)`, or NaN where this version of the bench does not print
    it (so one renamed column costs that figure, not the bench's others)."""
    try:
        return Figure(name, value(*args), unit)
    except (KeyError, IndexError, ValueError):
        return Figure(name, math.nan, unit)


def _json_figures(*wanted: tuple[str, str, str]) -> Parser:
    """Figures at dotted paths of the printed JSON: (figure name, path, unit)."""

    def parse(out: str) -> list[Figure]:
        obj = _json_object(out)
        return [_read(name, unit, _dig, obj, path) for name, path, unit in wanted]

    return parse


_RULE = re.compile(r"\|[\s|:-]+")  # a markdown table's header rule
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


def _cells(line: str) -> list[str]:
    return [cell.strip().strip("`*") for cell in line.strip().strip("|").split("|")]


def _table(out: str) -> dict[str, dict[str, str]]:
    """Each row of the printed markdown tables: its first cell -> {column header: cell}
    (a later row with the same first cell wins)."""
    lines = [line.strip() for line in out.splitlines()]
    rows: dict[str, dict[str, str]] = {}
    header: list[str] = []
    for i, line in enumerate(lines):
        if not line.startswith("|") or _RULE.fullmatch(line):
            continue
        cells = _cells(line)
        if i + 1 < len(lines) and _RULE.fullmatch(lines[i + 1]):
            header = cells
        else:
            rows[cells[0]] = dict(zip(header, cells, strict=False))
    return rows


def _cell_number(rows: dict[str, dict[str, str]], first: str, column: str) -> float:
    """A number in row `first` under the first header that starts with `column` (so a
    header that gains words still reads): the cell's first, or its n-th for `column#n`
    (`12.5 (3.1)`: #2 is the bracketed figure)."""
    column, _, nth = column.partition("#")
    row = rows[first]
    header = next((h for h in row if h.startswith(column)), None)
    if header is None:
        raise KeyError(column)
    return _number(_NUMBER.findall(row[header])[int(nth or 1) - 1])


def _table_figures(*wanted: tuple[str, str, str, str]) -> Parser:
    """Cells of the printed tables: (figure name, the row's first cell, column, unit)."""

    def parse(out: str) -> list[Figure]:
        rows = _table(out)
        return [
            _read(name, unit, _cell_number, rows, first, column)
            for name, first, column, unit in wanted
        ]

    return parse


def _regex_figures(*wanted: tuple[str, str, str]) -> Parser:
    """The first group of a pattern searched in the output: (figure name, pattern, unit)."""

    def group(pattern: str, out: str) -> float:
        match = re.search(pattern, out, re.MULTILINE)
        if match is None:
            raise KeyError(pattern)
        return _number(match.group(1))

    def parse(out: str) -> list[Figure]:
        return [_read(name, unit, group, pattern, out) for name, pattern, unit in wanted]

    return parse


def _higher_is_better(name: str) -> bool:
    return bool(re.search(r"per_s|/s\b|ops|throughput", name))


def generic_figures(out: str) -> list[Figure]:
    """For a bench not listed below: numbers of its JSON, its tables or its `<n> ms` lines."""
    found: list[Figure] = []
    if re.search(r"^\{", out, re.MULTILINE):

        def walk(value: Any, path: str) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    walk(item, f"{path}.{key}" if path else str(key))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                found.append(Figure(path, float(value), "", not _higher_is_better(path)))

        walk(_json_object(out), "")
    for first, row in _table(out).items():
        for header, cell in list(row.items())[1:]:
            if re.fullmatch(r"[-+]?[\d,]*\.?\d+x?", cell):
                name = f"{first} · {header}"
                found.append(Figure(name, _number(cell), "", not _higher_is_better(header)))
    for match in re.finditer(r"^\s*([A-Za-z][^\d\n|]*?)[\s:]+([\d.]+) ?(ms|µs|us|s)\b", out, re.M):
        label = " ".join(match.group(1).split())
        found.append(Figure(label, float(match.group(2)), match.group(3)))
    # A label printed twice (one per section) is two figures, numbered in order.
    seen: dict[str, int] = {}
    for i, figure in enumerate(found):
        seen[figure.name] = seen.get(figure.name, 0) + 1
        if seen[figure.name] > 1:
            found[i] = replace(figure, name=f"{figure.name} ({seen[figure.name]})")
    return found[:16]


# -- the benches: a small configuration each, and what is read from their output ------------

MS_LINE = r"\s+([\d.]+) ms"
FLOW_RUN_PAGE = "flow-run page (1,000 task runs)"
BENCHES: dict[str, Bench] = {
    "append_rows.py": Bench(
        ("--rows", "100000", "--append", "100", "--runs", "10", "--block", "5"),
        _json_figures(
            ("append 100 rows, wall median", "append.wall_ms_median", "ms"),
            ("append, server CPU mean", "append.server_cpu_ms_mean", "ms"),
            ("PATCH whole table, wall median", "patch_whole_table.wall_ms_median", "ms"),
            ("PATCH, server CPU mean", "patch_whole_table.server_cpu_ms_mean", "ms"),
        ),
        "100,000-row table, 10 requests of each kind (default 20)",
    ),
    "auth_cost.py": Bench(
        ("--runs", "1", "--workloads", "W1", "--harness", "{harness}", "--results", "{scratch}"),
        _table_figures(
            ("W1 server CPU per create, auth on", "W1_seq_create_markdown", "server CPU", "ms"),
            ("W1 server CPU per create, open", "W1_seq_create_markdown", "open", "ms"),
            ("W1 auth on / open", "W1_seq_create_markdown", "on / open", "x"),
        ),
        "W1 only, 1 series run per system (default W1,W2, 3 runs)",
        timeout_s=420,
        # compare_servers.py's port: a server of someone else's there answers the harness.
        port=4271,
        invalid=r"valid=False.*",
    ),
    "blob_upload.py": Bench(
        ("--mib", "50", "--runs", "1"),
        _regex_figures(
            ("upload 50 MiB", r"^upload(?:\s+\S+){4}\s+([\d.]+)", "s"),
            ("upload, peak - idle RSS", r"^upload(?:\s+\S+){3}\s+([\d.]+)", "MiB"),
            ("download 50 MiB", r"^download(?:\s+\S+){4}\s+([\d.]+)", "s"),
            ("download, peak - idle RSS", r"^download(?:\s+\S+){3}\s+([\d.]+)", "MiB"),
        ),
        "1 run (default 3)",
    ),
    "charts.py": Bench(
        ("--points", "100", "1000", "10000", "--runs", "10"),
        _table_figures(
            ("append, 1,000 points", "1,000", "append (ms)", "ms"),
            ("update whole spec, 1,000 points", "1,000", "update", "ms"),
            ("append, 10,000 points", "10,000", "append (ms)", "ms"),
            ("update whole spec, 10,000 points", "10,000", "update", "ms"),
            ("progress update", "1,000", "progress", "ms"),
        ),
        "10 calls per median (default 30)",
    ),
    "create_inprocess.py": Bench(
        ("-n", "1000", "--harness", "{harness}"),
        _regex_figures(
            ("create through the ASGI app, CPU", r"^\s*app:\s+([\d.]+) us CPU", "µs"),
            ("create, the op alone, CPU", r"^\s*op:\s+([\d.]+) us CPU", "µs"),
            ("progress update, the op alone, CPU", r"^\s*update:\s+([\d.]+) us CPU", "µs"),
            ("task run recorded (batches), CPU", r"^\s*taskruns:\s+([\d.]+) us CPU", "µs"),
            (
                "the same create on bare sqlite3, CPU",
                r"^\s*raw:\s+([\d.]+) us CPU",
                "µs",
            ),
        ),
        "1,000 calls a round, 3 rounds, best round (default 5 rounds); the before revision "
        "cannot record task runs this way, and the bench stops there",
        optional=(("--rounds", "3"),),
    ),
    "csv_export.py": Bench(
        ("--rows", "100000", "--runs", "3"),
        _json_figures(
            ("CSV download, 100,000 rows", "download_s_median", "s"),
            ("download / csv module", "ratio_download_to_baseline", "x"),
        ),
        "3 downloads (default 5)",
    ),
    "dask_overhead.py": Bench(
        ("--tasks", "200", "--runs", "1"),
        _table_figures(
            ("bare + artifact, per task", "bare + artifact", "ms per task", "ms"),
            ("runfolio task, no artifact, per task", "runfolio, no artifact", "ms per task", "ms"),
            ("runfolio task + artifact, per task", "runfolio", "ms per task", "ms"),
        ),
        "200 tasks, 1 round after the warm-up (default 1,000 and 3)",
    ),
    "diff_tables.py": Bench(
        ("--rows", "10000", "--runs", "15"),
        _regex_figures(
            ("diff of two 10,000-row tables, CPU", r"^runfolio\s+[\d.]+\s+([\d.]+)", "ms"),
            ("diff CPU / bare dict diff", r"^runfolio(?:\s+\S+){3}\s+([\d.]+)x", "x"),
        ),
        "default",
    ),
    "hot_routes.py": Bench(
        ("-n", "300", "--rounds", "5", "--harness", "{harness}"),
        _table_figures(
            ("create, hot routes on, CPU", "create", "hot routes on", "µs"),
            ("create, hot routes off, CPU", "create", "hot routes off", "µs"),
            ("progress update, hot routes on, CPU", "progress update", "hot routes on", "µs"),
            ("progress update, hot routes off, CPU", "progress update", "hot routes off", "µs"),
        ),
        "300 calls a round, 5 rounds (default 500 and 7)",
    ),
    "import_time.py": Bench(
        ("--runs", "5", "--top", "1"),
        _table_figures(
            ("SDK import lines", "runfolio", "import lines", "ms"),
            ("SDK import, whole process", "runfolio", "whole process", "ms"),
        ),
        "5 interpreters (default 11)",
    ),
    "json_column_cost.py": Bench(
        ("--rounds", "3"),
        _regex_figures(
            ("insert markdown, json column", r"^insert markdown\s+[\d.]+\s+([\d.]+)", "ms"),
            ("insert 10,000-row table, json column", r"^insert table\s+[\d.]+\s+([\d.]+)", "ms"),
            ("length of the table, json column", r"^length table\s+[\d.]+\s+([\d.]+)", "ms"),
            ("16 KB prefix of the table, json column", r"^prefix table\s+[\d.]+\s+([\d.]+)", "ms"),
        ),
        "3 rounds (default 7), on a throw-away PostgreSQL",
    ),
    "key_trends.py": Bench(
        ("--versions", "200", "--runs", "15"),
        _regex_figures(
            ("key page, markdown key", r"^key page, markdown key.*?" + MS_LINE, "ms"),
            ("key page, metrics key (chart)", r"^key page, metrics key.*?" + MS_LINE, "ms"),
            ("trends twin, 200 versions", r"^trends twin.*?" + MS_LINE, "ms"),
        ),
        "15 requests per median (default 30)",
    ),
    "like_unicode.py": Bench(
        ("--rows", "20000", "--rounds", "9"),
        _regex_figures(
            ("flow-run filter, ASCII like_", r"^ascii\s.*?\s([\d.]+) ms$", "ms"),
            ("flow-run filter, non-ASCII like_", r"^non-ascii\s.*?\s([\d.]+) ms$", "ms"),
        ),
        "9 rounds (default 15)",
    ),
    "live_latency.py": Bench(
        # 30 updates: a run's p50 moves by ~6 ms (SD) whatever the code (~10 ms at 10),
        # most of it the wait for the watcher's next read (0-50 ms).
        ("--updates", "30", "--rounds", "1", "--creates", "400"),
        _regex_figures(
            ("progress pushed to page, p50", r"progress, pushed\s+p50\s+([\d.]+)", "ms"),
            ("markdown pushed to page, p50", r"markdown, pushed\s+p50\s+([\d.]+)", "ms"),
            (
                "server CPU per create over HTTP",
                r"over HTTP.*\n\s+with change row\s+median ([\d.]+)",
                "ms",
            ),
            (
                "CPU per create on the store",
                r"store itself.*\n\s+with change row\s+median ([\d.]+)",
                "ms",
            ),
        ),
        "10 updates, 1 round of 400 creates (default 50, 3 x 1,500)",
    ),
    "page_render.py": Bench(
        (
            "--database",
            "sqlite",
            "--artifacts",
            "20000",
            "--keys",
            "1000",
            "--hot-versions",
            "1000",
            "--tasks",
            "1000",
            "--repeat",
            "20",
        ),  # fmt: skip
        _table_figures(
            ("latest/filter, no filter, p50", "latest/filter (no filter)", "p50", "ms"),
            ("latest/filter key like_, p50", "latest/filter key like_ 'report'", "p50", "ms"),
            ("Artifacts page /, p50", "Artifacts page /", "p50", "ms"),
            ("Artifacts page /, server CPU", "Artifacts page /", "CPU", "ms"),
            ("Artifacts page ?q=report, p50", "Artifacts page ?q=report", "p50", "ms"),
            ("key page, 1,000 versions, p50", "key page (nightly-report)", "p50", "ms"),
            ("key page, server CPU", "key page (nightly-report)", "CPU", "ms"),
            ("flow-run page, 1,000 task runs, p50", FLOW_RUN_PAGE, "p50", "ms"),
            ("flow-run page, server CPU", FLOW_RUN_PAGE, "CPU", "ms"),
            ("flow-run page's JSON twin, p50", f"{FLOW_RUN_PAGE} JSON", "p50", "ms"),
        ),
        "SQLite only, 20,000 artifacts, 1,000 keys and versions, 20 requests a route "
        "(default SQLite and PostgreSQL, 100,000, 5,000, 100)",
    ),
    "retention_pass.py": Bench(
        ("--keys", "20", "--versions", "1000", "--baseline-seconds", "3"),
        _json_figures(
            ("pass over 20,000 versions", "pass_seconds", "s"),
            ("pass CPU", "pass_cpu_seconds", "s"),
            ("longest read during the pass", "during_pass.reads.max_ms", "ms"),
            ("longest write during the pass", "during_pass.writes.max_ms", "ms"),
        ),
        "20 keys x 1,000 versions (default 100 x 1,000)",
    ),
    "sdk_task_cost.py": Bench(
        ("--tasks", "300", "--rounds", "3"),
        _table_figures(
            ("embedded: task over plain call", "embedded", "task, no artifact", "µs"),
            ("embedded: task over plain call, CPU", "embedded", "task, no artifact#2", "µs"),
            ("embedded: task + 1 artifact", "embedded", "task + 1 artifact", "ms"),
            ("embedded: task + 1 artifact, CPU", "embedded", "task + 1 artifact#2", "ms"),
            ("embedded: artifact outside a flow", "embedded", "artifact outside", "ms"),
            ("embedded: artifact outside a flow, CPU", "embedded", "artifact outside#2", "ms"),
            ("HTTP: task over plain call", "http", "task, no artifact", "µs"),
            ("HTTP: task over plain call, CPU", "http", "task, no artifact#2", "µs"),
            ("HTTP: task + 1 artifact", "http", "task + 1 artifact", "ms"),
            ("HTTP: task + 1 artifact, CPU", "http", "task + 1 artifact#2", "ms"),
            ("HTTP: artifact outside a flow", "http", "artifact outside", "ms"),
            ("HTTP: artifact outside a flow, CPU", "http", "artifact outside#2", "ms"),
        ),
        "300 tasks, 3 rounds, without the reference harness's flow_bench part "
        "(default 500 and 5, with it)",
        optional=(("--skip-harness",),),
    ),
    "webhook_cost.py": Bench(
        ("--creates", "600", "--rounds", "3"),
        _regex_figures(
            ("create, no webhook code", r"^baseline\s+([\d.]+)", "µs"),
            ("create, 0 webhooks", r"^0 webhooks\s+([\d.]+)", "µs"),
            ("create, 3 matching webhooks", r"^3 webhooks\s+([\d.]+)", "µs"),
            ("update, 0 webhooks", r"^0 webhooks(?:\s+\S+){3}\s+([\d.]+)", "µs"),
        ),
        "600 creates x 3 rounds (default 2,000 x 5)",
    ),
}
UNKNOWN = Bench((), generic_figures, "defaults (not configured here), at most 4 min", 240.0)
