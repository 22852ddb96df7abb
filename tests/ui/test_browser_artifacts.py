"""The artifact pages in a real browser: every renderer, the Artifacts list, versions, 404."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.servers import ServerProcess
from tests.ui.seed import Seed, unique

pytestmark = pytest.mark.browser


def test_each_renderer_draws_its_type(page: Page, seed: Seed, ui_server: ServerProcess) -> None:
    prefix = unique("render")
    md = seed.artifact(
        key=f"{prefix}-md",
        type="markdown",
        data="# Sales report\n\n| Region | Revenue |\n|:--|--:|\n| Europe | $250,000 |\n",
        description="Quarterly **numbers**",
    )
    seed.artifact(
        key=f"{prefix}-link",
        type="markdown",
        data="[The data](https://example.com/data.csv)",
    )
    table = seed.artifact(
        key=f"{prefix}-table",
        type="table",
        data='[{"name": "a", "score": 1.5, "x": null}, {"name": "b", "score": Infinity}]',
    )
    image_url = f"{ui_server.url}/static/favicon.svg"
    seed.artifact(key=f"{prefix}-image", type="image", data=image_url, description="A logo")
    seed.artifact(key=f"{prefix}-progress", type="progress", data=42.5)

    page.goto(f"/artifacts/key/{prefix}-md")
    expect(page.locator(".artifact-body .md h1")).to_have_text("Sales report")
    expect(page.locator(".artifact-body .md table td").first).to_have_text("Europe")
    expect(page.locator(".description strong")).to_have_text("numbers")
    expect(page.locator(".meta a.mono")).to_have_text(md["id"])

    page.goto(f"/artifacts/key/{prefix}-link")
    link = page.locator("[data-renderer=link] a.link-text")
    expect(link).to_have_text("The data")
    expect(link).to_have_attribute("href", "https://example.com/data.csv")

    page.goto(f"/artifacts/key/{prefix}-table")
    grid = page.locator("[data-renderer=table] table.data")
    expect(grid.locator("thead th")).to_have_text(["name", "score", "x"])
    expect(grid.locator("tbody tr")).to_have_count(2)
    expect(grid.locator("tbody tr").nth(0).locator("td")).to_have_text(["a", "1.5", ""])
    expect(grid.locator("tbody tr").nth(1).locator("td")).to_have_text(["b", "Infinity", ""])
    csv_link = page.get_by_role("link", name="Download CSV")
    expect(csv_link).to_have_attribute("href", f"/artifacts/{table['id']}/table.csv")

    page.goto(f"/artifacts/key/{prefix}-image")
    image = page.locator("[data-renderer=image] img")
    expect(image).to_have_attribute("src", image_url)
    expect(image).to_have_attribute("alt", "A logo")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")

    page.goto(f"/artifacts/key/{prefix}-progress")
    bar = page.locator("[data-renderer=progress] [role=progressbar]")
    expect(bar).to_have_attribute("aria-valuenow", "42.5")
    expect(page.locator("[data-renderer=progress] .progress-label")).to_have_text("42.5%")
    assert "42.5%" in (bar.locator(".progress-fill").get_attribute("style") or "")


def test_artifacts_page_lists_searches_and_labels_links(page: Page, seed: Seed) -> None:
    prefix = unique("list")
    seed.artifact(key=f"{prefix}-docs", type="markdown", data="[Docs](https://example.com)")
    seed.artifact(
        key=f"{prefix}-notes", type="markdown", data="# Notes", description="## Release *notes*"
    )
    seed.artifact(key=f"{prefix}-rows", type="table", data="[[1, 2]]")

    page.goto("/")
    page.get_by_placeholder("Search keys…").fill(prefix)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(rf"/artifacts\?q={prefix}"))
    rows = page.locator("#artifact-list tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator(f"tr[data-key='{prefix}-docs'] .type")).to_have_text("link")
    expect(page.locator(f"tr[data-key='{prefix}-notes'] .type")).to_have_text("markdown")
    expect(page.locator(f"tr[data-key='{prefix}-notes'] .excerpt-text em")).to_have_text("notes")
    expect(page.locator(f"tr[data-key='{prefix}-rows'] .type")).to_have_text("table")

    page.locator("select[name=type]").select_option("link")  # applies on change
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-key", f"{prefix}-docs")
    rows.first.get_by_role("link", name=f"{prefix}-docs").click()
    expect(page).to_have_url(re.compile(rf"/artifacts/key/{prefix}-docs$"))


def test_versions_timeline_and_choosing_a_version(page: Page, seed: Seed) -> None:
    key = unique("versions")
    run = seed.flow_run("versioned-flow", name="brave-otter")
    for n in (1, 2, 3):
        seed.artifact(key=key, type="markdown", data=f"# Edition {n}", flow_run_id=run["id"])

    page.goto(f"/artifacts/key/{key}")
    items = page.locator("#versions .timeline-item")
    expect(items).to_have_count(3)
    expect(items.locator(".v")).to_have_text(["v3", "v2", "v1"])
    expect(items.nth(0)).to_have_class(re.compile("selected"))
    expect(items.nth(0).locator(".timeline-run")).to_contain_text("versioned-flow / brave-otter")
    expect(page.locator(".artifact-body h1")).to_have_text("Edition 3")
    expect(page.locator("#version-info")).to_contain_text("Version 3 of 3")

    items.nth(2).locator("a").click()
    expect(page).to_have_url(re.compile(r"\?version="))
    expect(page.locator(".artifact-body h1")).to_have_text("Edition 1")
    expect(page.locator("#version-info")).to_contain_text("Version 1 of 3")
    expect(page.locator("#version-info .tag-old")).to_be_visible()
    expect(page.locator("#versions .timeline-item.selected .v")).to_have_text("v1")

    page.locator("#version-info").get_by_role("link", name="show the latest").click()
    expect(page.locator(".artifact-body h1")).to_have_text("Edition 3")


def test_keyless_artifact_page(page: Page, seed: Seed) -> None:
    created = seed.artifact(type="markdown", data="no key here")
    page.goto(f"/artifacts/{created['id']}")
    expect(page.locator(".page-head")).to_contain_text("keyless artifact")
    expect(page.locator(".artifact-body .md p")).to_have_text("no key here")


def test_unknown_pages_are_404(page: Page, problems: list[str]) -> None:
    for path, message in [
        ("/artifacts/key/no-such-key", "no artifact with the key “no-such-key”"),
        ("/artifacts/01890000-0000-7000-8000-000000000000", "no artifact with the id"),
        ("/runs/01890000-0000-7000-8000-000000000000", "no flow run with the id"),
        ("/no/such/page", "nothing at this address"),
    ]:
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        expect(page.locator("h1")).to_have_text("Not found")
        expect(page.locator("#not-found-message")).to_contain_text(message)
    # The browser reports each 404 document load on the console; nothing else may appear.
    assert all("404" in p for p in problems), problems
    problems.clear()


def test_table_of_1000_rows_pages_and_sorts(page: Page, seed: Seed) -> None:
    rows = [
        {"n": i, "name": f"item-{i:04d}", "score": None if i % 250 == 7 else (i * 37) % 1000}
        for i in range(1000)
    ]
    key = unique("big-table")
    seed.artifact(key=key, type="table", data=json.dumps(rows))

    page.goto(f"/artifacts/key/{key}")
    body = page.locator("table.data tbody")
    first_cells = body.locator("tr td:first-child")
    expect(body.locator("tr")).to_have_count(100)
    expect(first_cells.first).to_have_text("0")
    expect(page.locator("[data-table-range]")).to_have_text("Rows 1–100 of 1,000")

    page.locator("[data-table-next]").click()
    expect(first_cells.first).to_have_text("100")
    expect(page.locator("[data-table-page]")).to_have_text("Page 2 of 10")
    expect(body.locator("tr")).to_have_count(100)
    for _ in range(8):
        page.locator("[data-table-next]").click()
    expect(page.locator("[data-table-page]")).to_have_text("Page 10 of 10")
    expect(first_cells.last).to_have_text("999")
    expect(page.locator("[data-table-next]")).to_be_disabled()

    score = page.locator("thead th:nth-child(3)")
    score.locator("button").click()  # ascending, back to page 1
    expect(score).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("[data-table-page]")).to_have_text("Page 1 of 10")
    expect(page.locator("[data-table-prev]")).to_be_disabled()
    scores = body.locator("tr td:nth-child(3)")
    expect(scores.nth(0)).to_have_text("0")
    expect(scores.nth(1)).to_have_text("1")
    score.locator("button").click()  # descending
    expect(score).to_have_attribute("aria-sort", "descending")
    expect(scores.first).to_have_text("999")
    for _ in range(9):  # empty cells sort last, whatever the direction
        page.locator("[data-table-next]").click()
    expect(scores.last).to_have_text("")
    expect(scores.nth(95)).not_to_have_text("")

    page.locator(
        "thead th:nth-child(1) button"
    ).click()  # numbers as numbers: 0, 1, 2 (not 0, 1, 10)
    expect(first_cells.nth(0)).to_have_text("0")
    expect(first_cells.nth(1)).to_have_text("1")
    expect(first_cells.nth(2)).to_have_text("2")
