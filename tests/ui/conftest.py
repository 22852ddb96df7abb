"""Browser fixtures: one real server process and one headless Chromium for the session.

Each test makes its own data (unique keys, its own runs) through the server's
HTTP API, and gets a fresh browser context whose console and page errors fail
the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.servers import ServerProcess, running_server
from tests.ui.seed import Seed

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("ui-server")) as proc:
        yield proc


@pytest.fixture(scope="session")
def seed(ui_server: ServerProcess) -> Iterator[Seed]:
    client = Seed(ui_server.api_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        # ./scripts/test installs it; a missing browser is a broken setup, not a pass.
        pytest.fail(f"{CHROMIUM} is not installed: run ./scripts/test (it installs chromium)")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def problems() -> list[str]:
    """Console errors and uncaught exceptions of the test's page (a test may expect some)."""
    return []


@pytest.fixture
def page(browser: Browser, ui_server: ServerProcess, problems: list[str]) -> Iterator[Page]:
    """A fresh page on the UI server; any console error or uncaught exception fails the test."""
    context = browser.new_context(
        base_url=ui_server.url, viewport={"width": 1280, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    yield tab
    context.close()
    assert not problems, problems
