"""The screenshot script still runs: demo data on a fresh server, one PNG per main page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.servers import running_server
from tests.ui.screenshots import capture, image_host, seed_demo
from tests.ui.seed import Seed

pytestmark = pytest.mark.browser


def test_screenshots_of_the_main_pages(browser: Browser, tmp_path: Path) -> None:
    with running_server(tmp_path / "home") as server, image_host() as images:
        seed = Seed(server.api_url)
        ids = seed_demo(seed, images)
        seed.close()
        written = capture(browser, server.url, ids, tmp_path / "shots")
    assert [p.name for p in written] == [
        "artifacts.png",
        "artifact-markdown.png",
        "artifact-table.png",
        "artifact-image.png",
        "artifact-chart.png",
        "artifact-html.png",
        "artifact-file.png",
        "artifact-table-appended.png",
        "compare.png",
        "trends.png",
        "run.png",
        "runs.png",
    ]
    for path in written:
        assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 10_000
