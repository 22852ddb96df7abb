#!/usr/bin/env python3
"""What a user's script pays on import: runfolio's SDK against Prefect's, in the same run.

Each measurement is a fresh interpreter timing the user's import lines (interpreter
start-up excluded, printed apart); the two SDKs alternate, so machine noise hits
both alike. Prints medians, the ratio (target: runfolio <= 1/12 of Prefect) and the
`-X importtime` top offenders of runfolio's import. Run by hand, never in CI:

    .venv/bin/python bench/import_time.py --runs 15

Prefect comes from the compat virtualenv the tests build (tests/compat/prefect_venv.py);
`--build-prefect` builds it when missing, `--prefect-python` points at another one.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.compat import prefect_venv  # noqa: E402  (the bench runs from a checkout)

RUNFOLIO = (
    "from runfolio import flow, task; from runfolio.artifacts import create_markdown_artifact"
)
PREFECT = "from prefect import flow, task; from prefect.artifacts import create_markdown_artifact"
_TIMED = "import time; t = time.perf_counter(); {imports}; print(time.perf_counter() - t)"


def timed_import(python: str, imports: str) -> tuple[float, float]:
    """(seconds in the import lines, seconds for the whole process) in a fresh interpreter."""
    start = time.perf_counter()
    out = subprocess.run(
        [python, "-c", _TIMED.format(imports=imports)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1]), time.perf_counter() - start


def top_offenders(python: str, imports: str, count: int) -> list[tuple[int, int, str]]:
    """The modules with the most self time under `-X importtime` (µs self, µs cumulative)."""
    out = subprocess.run(
        [python, "-X", "importtime", "-c", imports], capture_output=True, text=True, check=True
    )
    rows = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        rows.append((int(self_us), int(cumulative_us), name.rstrip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--top", type=int, default=15, help="importtime offenders to print")
    ap.add_argument("--prefect-python", help="a Python with prefect installed")
    ap.add_argument("--build-prefect", action="store_true", help="build the compat venv")
    a = ap.parse_args()

    prefect_python = a.prefect_python
    if prefect_python is None:
        venv = prefect_venv.cache_root() / prefect_venv.NAME
        if a.build_prefect:
            venv = prefect_venv.ensure_prefect_venv()
        if prefect_venv.venv_python(venv).exists():
            prefect_python = str(prefect_venv.venv_python(venv))
        else:
            print(f"no Prefect at {venv} (use --build-prefect): runfolio only", file=sys.stderr)

    systems = {"runfolio": (sys.executable, RUNFOLIO)}
    if prefect_python:
        systems["prefect"] = (prefect_python, PREFECT)
    for python, imports in systems.values():  # warm the file cache and .pyc files
        timed_import(python, imports)
    imports_s: dict[str, list[float]] = {name: [] for name in systems}
    process_s: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(a.runs):
        for name, (python, imports) in systems.items():
            in_import, whole = timed_import(python, imports)
            imports_s[name].append(in_import)
            process_s[name].append(whole)
    bare = [timed_import(sys.executable, "pass")[1] for _ in range(a.runs)]

    print(f"## import time, median of {a.runs} fresh interpreters\n")
    print("| system | import lines ms (median / min / max) | whole process ms (median) |")
    print("|---|---|---|")
    for name in systems:
        xs = imports_s[name]
        print(
            f"| {name} | {statistics.median(xs) * 1e3:.1f} / {min(xs) * 1e3:.1f} / "
            f"{max(xs) * 1e3:.1f} | {statistics.median(process_s[name]) * 1e3:.1f} |"
        )
    print(f"| bare `python -c pass` | – | {statistics.median(bare) * 1e3:.1f} |")
    if "prefect" in systems:
        ours = statistics.median(imports_s["runfolio"])
        theirs = statistics.median(imports_s["prefect"])
        verdict = "met" if ours * 12 <= theirs else "NOT met"
        print(
            f"\nrunfolio / prefect = 1/{theirs / ours:.1f} "
            f"(target <= 1/12, i.e. <= {theirs / 12 * 1e3:.0f} ms here: {verdict})"
        )
    print(f"\n## runfolio: top {a.top} modules by self time (-X importtime, µs)\n")
    print("| self µs | cumulative µs | module |")
    print("|---|---|---|")
    for self_us, cumulative_us, name in top_offenders(sys.executable, RUNFOLIO, a.top):
        print(f"| {self_us} | {cumulative_us} | `{name.strip()}` |")


if __name__ == "__main__":
    main()
