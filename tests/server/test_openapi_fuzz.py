"""The OpenAPI document describes the API: schemathesis generates requests from
GET /api/openapi.json, sends them to a real server on loopback and runs every check
(status codes, content types, body shapes, valid data accepted and invalid data
refused, methods and `Allow`, created objects readable and deleted ones gone).

What it runs (all checks, cases per operation, the two narrow exceptions and why) is
in schemathesis.toml beside this file. Every operation of the document is tested: the
one route it lacks, the `/api/events/in` websocket, is outside OpenAPI and has its own
tests (tests/compat/test_events_protocol.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import running_server

pytestmark = pytest.mark.server

CONFIG = Path(__file__).with_name("schemathesis.toml")
# The run takes well under two minutes on two cores (about 40 s on an idle machine;
# the boundary cases of the deep filter bodies are most of it). The fixed seed makes a
# failure reproducible with the command and report the test prints.
WORKERS = 2
SEED = 1
TIMEOUT_SECONDS = 240  # a hung server fails the test instead of stalling the suite


def test_the_api_answers_as_its_document_says(tmp_path: Path) -> None:
    with running_server(tmp_path / "home") as proc:
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--no-color",
            "--config-file",
            str(CONFIG),
            "run",
            f"{proc.api_url}/openapi.json",
            "--seed",
            str(SEED),
            "--workers",
            str(WORKERS),
            "--request-timeout",
            "10",
        ]
        # Its cache (.schemathesis/) goes to the temporary directory, not the work tree.
        run = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
        )
    report = run.stdout[-20000:] + run.stderr[-5000:]
    assert run.returncode == 0, report
    assert " passed" in run.stdout and "failed" not in run.stdout, report
