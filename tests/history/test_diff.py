"""Diffs of crafted version pairs: tables, text, numbers, links and unknown types."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from runfolio.errors import Invalid
from runfolio.history.diff import diff_data


def _table(rows: list[dict[str, object]]) -> str:
    return json.dumps(rows)  # as the SDK sends a table: a JSON string


def test_reordered_rows_are_not_changes() -> None:
    rows = [{"id": i, "name": f"n{i}", "score": i / 2} for i in range(50)]
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    d = diff_data("table", _table(rows), "table", _table(shuffled))
    assert d.kind == "table" and d.identical
    assert d.table is not None and d.table.counts.unchanged == 50
    assert d.table.counts.changed == d.table.counts.added == d.table.counts.removed == 0


def test_changed_cells_added_and_removed_rows() -> None:
    before = [{"id": "a", "v": 1, "w": "x"}, {"id": "b", "v": 2, "w": "y"}, {"id": "c", "v": 3}]
    after = [
        {"id": "d", "v": 4, "w": "z"},
        {"id": "b", "v": 20, "w": "y"},
        {"id": "a", "v": 1, "w": "x"},
    ]
    d = diff_data("table", _table(before), "table", _table(after))
    t = d.table
    assert t is not None and not d.identical
    assert (t.counts.added, t.counts.removed, t.counts.changed, t.counts.unchanged) == (1, 1, 1, 1)
    assert t.added == [["d", "4", "z"]] and t.removed == [["c", "3", ""]]
    assert t.changed[0].key == "b" and t.changed[0].changed == ["v"]
    assert t.changed[0].before[1] == "2" and t.changed[0].after[1] == "20"
    assert d.summary.startswith("1 added, 1 removed, 1 changed")


def test_key_column_choice_and_bad_key_column() -> None:
    before = [{"n": 1, "name": "alpha"}, {"n": 2, "name": "beta"}]
    after = [{"n": 2, "name": "alpha"}, {"n": 1, "name": "beta"}]
    by_first = diff_data("table", _table(before), "table", _table(after))
    assert by_first.table is not None and by_first.table.counts.changed == 2
    by_name = diff_data("table", _table(before), "table", _table(after), key_column="name")
    assert by_name.table is not None and by_name.table.key_column == "name"
    assert by_name.table.counts.changed == 2 and by_name.table.changed[0].changed == ["n"]
    with pytest.raises(Invalid) as caught:
        diff_data("table", _table(before), "table", _table(after), key_column="nope")
    assert "key_column" in str(caught.value) and caught.value.errors[0]["loc"] == ["key_column"]
    with pytest.raises(Invalid):
        diff_data("markdown", "a", "markdown", "b", key_column="n")


def test_three_table_shapes_and_columns_added() -> None:
    lists = json.dumps([["a", 1], ["b", 2]])
    more = json.dumps([["b", 2, True], ["a", 1, False]])
    d = diff_data("table", lists, "table", more)
    assert d.table is not None and d.table.added_columns == ["3"]
    assert d.table.counts.unchanged == 2 and not d.identical
    columns = {"k": ["x", "y"], "v": [1, 2]}
    rows = [{"k": "y", "v": 2}, {"k": "x", "v": 1}]
    assert diff_data("table", columns, "table", json.dumps(rows)).identical


def test_duplicate_keys_match_in_order() -> None:
    before = [{"k": "a", "v": 1}, {"k": "a", "v": 2}]
    after = [{"k": "a", "v": 1}, {"k": "a", "v": 3}, {"k": "a", "v": 4}]
    t = diff_data("table", _table(before), "table", _table(after)).table
    assert t is not None
    assert (t.counts.unchanged, t.counts.changed, t.counts.added) == (1, 1, 1)


def test_ten_thousand_rows() -> None:
    rows: list[dict[str, Any]] = [
        {"id": i, "name": f"row {i}", "score": i * 1.5} for i in range(10_000)
    ]
    after = [dict(r) for r in reversed(rows) if r["id"] % 1000 != 5]  # 10 removed
    for r in after[:100]:
        r["score"] = -1
    after.append({"id": 10_000, "name": "new", "score": 0})
    t = diff_data("table", _table(rows), "table", _table(after)).table
    assert t is not None
    assert (t.counts.added, t.counts.removed, t.counts.changed) == (1, 10, 100)
    assert t.counts.unchanged == 10_000 - 10 - 100
    assert all(c.changed == ["score"] for c in t.changed)
    assert sorted(r[0] for r in t.removed) == sorted(str(i) for i in range(5, 10_000, 1000))


def test_markdown_lines_and_words_with_unicode() -> None:
    before = "# Résumé\nLe café est très bon.\nfin\nsupprimée"
    after = "# Résumé\nLe thé est très bon.\nfin\najoutée 🎉\nencore"
    d = diff_data("markdown", before, "markdown", after)
    assert d.kind == "text" and d.text is not None
    ops = [line.op for line in d.text.lines]
    assert ops == ["same", "changed", "same", "changed", "added"]
    changed = d.text.lines[1]
    assert [s.text for s in changed.before if s.changed] == ["café"]
    assert [s.text for s in changed.after if s.changed] == ["thé"]
    assert "".join(s.text for s in changed.after) == "Le thé est très bon."
    assert (d.text.added, d.text.removed, d.text.changed) == (1, 0, 2)
    assert diff_data("markdown", before, "markdown", before).identical


def test_progress_numbers_links_images() -> None:
    p = diff_data("progress", 40, "progress", 62.5)
    assert p.kind == "value" and p.value is not None and p.value.delta == 22.5
    assert p.summary == "40 → 62.5 (+22.5)"
    assert diff_data("progress", None, "progress", 5).value.delta is None  # type: ignore[union-attr]
    link = diff_data("markdown", "[a](https://x.org/1)", "markdown", "[b](https://x.org/2)")
    assert link.kind == "link" and link.urls is not None
    assert (link.urls.before.url, link.urls.after.text) == ("https://x.org/1", "b")
    image = diff_data("image", "https://x.org/a.png", "image", "https://x.org/a.png")
    assert image.kind == "image" and image.identical


def test_unknown_types_and_type_changes_get_a_structural_diff() -> None:
    before = json.dumps({"series": [1, 2, 3], "title": "t"})
    after = json.dumps({"series": [1, 5, 3, 4], "kind": "bar"})
    d = diff_data("chart", before, "chart", after)
    assert d.kind == "json" and d.structure is not None
    found = {(c.path, c.op) for c in d.structure.changes}
    assert found == {
        ("$.series[1]", "changed"),
        ("$.series[3]", "added"),
        ("$.title", "removed"),
        ("$.kind", "added"),
    }
    switched = diff_data("markdown", "# x", "table", json.dumps([[1]]))
    assert switched.note is not None and "markdown to table" in switched.note
    assert diff_data("html", {"a": 1.0}, "html", {"a": 1}).identical


def test_a_key_column_only_the_new_version_has() -> None:
    before = json.dumps([{"v": 1}, {"v": 2}])
    after = json.dumps([{"id": "x", "v": 1}])
    t = diff_data("table", before, "table", after, key_column="id").table
    assert t is not None and t.added_columns == ["id"]
    assert (t.counts.added, t.counts.removed) == (1, 2)  # no key on one side: nothing matches
