"""A key's history in a real browser: the trends chart on the key page (hover titles,
points that open their version, gaps), the compare form and page, and a download."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.ui.seed import Seed, unique

pytestmark = pytest.mark.browser


def _metrics(seed: Seed, key: str) -> list[dict[str, object]]:
    rows = [
        [{"model": "a", "acc": 0.5, "loss": 1.5}, {"model": "b", "acc": 0.1, "loss": 9.0}],
        [{"model": "b", "acc": 0.2, "loss": 8.0}, {"model": "a", "acc": 0.6}],
        [{"model": "a", "acc": 0.8, "loss": 0.7}],
    ]
    return [seed.artifact(key=key, type="table", data=json.dumps(r)) for r in rows]


def test_trends_chart_on_the_key_page(page: Page, seed: Seed) -> None:
    key = unique("trend")
    versions = _metrics(seed, key)
    page.goto(f"/artifacts/key/{key}")
    chart = page.locator("#trends")
    expect(chart.locator("figure.trend-panel")).to_have_count(2)  # acc, loss
    acc = chart.locator("figure[data-series=acc]")
    expect(acc.locator("a.trend-point")).to_have_count(3)
    expect(acc.locator("polyline.trend-line")).to_have_count(1)
    loss = chart.locator("figure[data-series=loss]")
    expect(loss.locator("a.trend-point")).to_have_count(2)  # the last row of v2 has no loss
    expect(loss.locator("polyline.trend-line")).to_have_count(0)  # a gap, not a zero
    title = acc.locator("a.trend-point[data-version='2'] title")
    day = str(versions[1]["created"])[:10]
    expect(title).to_contain_text(f"acc · v2: 0.6 · {day} ")
    box = acc.locator("a.trend-point[data-version='1'] circle").bounding_box()
    assert box is not None and box["width"] > 4  # drawn, and big enough to point at
    acc.locator("a.trend-point[data-version='1']").click()
    expect(page).to_have_url(f"/artifacts/key/{key}?version={versions[0]['id']}")
    expect(page.locator("#version-info")).to_contain_text("Version 1 of 3")


def test_compare_form_and_page(page: Page, seed: Seed) -> None:
    key = unique("compare")
    _metrics(seed, key)
    page.goto(f"/artifacts/key/{key}")
    form = page.locator("#compare-form")
    form.locator("select[name=from]").select_option("1")
    form.locator("select[name=to]").select_option("2")
    form.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(f"/artifacts/key/{key}/compare?from=1&to=2")
    expect(page.locator("#compare-summary")).to_contain_text("0 added, 0 removed, 2 changed")
    rows = page.locator("#diff-rows tbody tr.row-changed")
    expect(rows).to_have_count(2)  # reordered rows matched on "model"
    changed = page.locator("#diff-rows td.cell-changed[data-column=acc]")
    expect(changed.locator("del")).to_have_text(["0.1", "0.5"])  # rows in v2's order: b, a
    expect(changed.locator("ins")).to_have_text(["0.2", "0.6"])
    background = changed.first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")  # the stylesheet marks it

    # Match rows on another column: the page's own form keeps the versions.
    page.locator("#compare-form select[name=key_column]").select_option("acc")
    page.locator("#compare-form").get_by_role("button", name="Compare").click()
    expect(page).to_have_url(f"/artifacts/key/{key}/compare?from=1&to=2&key_column=acc")
    expect(page.locator("#compare-summary")).to_contain_text("2 added, 2 removed, 0 changed")

    with page.expect_download() as caught:
        page.get_by_role("link", name="Download v2").click()
    assert caught.value.suggested_filename == f"{key}.csv"


def test_markdown_compare_marks_words(page: Page, seed: Seed) -> None:
    key = unique("words")
    seed.artifact(key=key, type="markdown", data="# Report\nSales rose by **5%** in May.")
    seed.artifact(key=key, type="markdown", data="# Report\nSales rose by **7%** in May.\nNew line")
    page.goto(f"/artifacts/key/{key}/compare")
    line = page.locator("#diff-lines tr[data-line=changed]")
    expect(line.locator("mark.word-removed")).to_have_text("5")
    expect(line.locator("mark.word-added")).to_have_text("7")
    expect(page.locator("#diff-lines tr[data-line=added] .line-after")).to_have_text("New line")
    sides = page.locator("#diff-sides .md strong")  # both versions rendered as markdown
    expect(sides).to_have_text(["5%", "7%"])
