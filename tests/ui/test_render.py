"""The renderers without a browser: markdown sanitising, URLs, links, progress, kinds, tables."""

from __future__ import annotations

import json
import random
import re
from html.parser import HTMLParser

import pytest

from runfolio.server.ui import render, tables

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    "[a](javascript:alert(1))",
    '<a href="javascript:alert(1)">a</a>',
    '<a href="JAVASCRIPT:alert(1)">a</a>',
    '<a href="java&#x09;script:alert(1)">a</a>',
    '<a href=" javascript:alert(1)">a</a>',
    '<a href="data:text/html,<script>alert(1)</script>">a</a>',
    '<iframe src="https://example.com"></iframe>',
    '<svg onload="alert(1)"></svg>',
    '<div style="position:fixed" onclick="alert(1)">x</div>',
    '<form action="https://evil.example"><input name="q"></form>',
    "<style>body { display: none }</style>",
    '<object data="x.swf"></object>',
]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def _elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("source", HOSTILE)
def test_markdown_drops_everything_active(source: str) -> None:
    html = str(render.markdown(f"# Title\n\n{source}\n\nend"))
    forbidden = {"script", "iframe", "svg", "style", "form", "input", "object", "embed"}
    for tag, attrs in _elements(html):
        assert tag not in forbidden, html
        for name, value in attrs:
            assert not name.startswith("on"), html
            if name in ("href", "src"):
                assert render.safe_url(value) == value, html
                assert not (value or "").lower().startswith(("javascript", "data")), html
            if name == "style":
                assert value in ("text-align:left", "text-align:right", "text-align:center")
    assert html.startswith("<h1>Title</h1>")
    assert "alert" not in html or "[a](javascript:alert(1))" in html  # shown as text at most


def test_markdown_keeps_the_useful_parts() -> None:
    html = str(
        render.markdown(
            "## Sales\n\n| Region | Revenue |\n|:--|--:|\n| Europe | $250 |\n\n"
            "**bold** _it_ `code` ~~old~~\n\n[docs](https://example.com/d) [rel](/runs)\n\n"
            "![chart](https://example.com/c.png)\n\n<details><summary>More</summary>hidden</details>"
        )
    )
    assert "<h2>Sales</h2>" in html
    assert '<th style="text-align:left">Region</th>' in html
    assert '<td style="text-align:right">$250</td>' in html
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html and "<code>code</code>" in html
    assert "<s>old</s>" in html
    assert 'href="https://example.com/d"' in html and 'href="/runs"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert '<img src="https://example.com/c.png" alt="chart">' in html
    assert "<details><summary>More</summary>hidden</details>" in html


def test_excerpt_is_inline_and_short() -> None:
    text = "# Heading\n\nSome **bold** text <script>x()</script> " + "word " * 100
    excerpt = str(render.markdown_excerpt(text))
    assert excerpt.startswith("Heading Some <strong>bold</strong> text")
    assert "<h1>" not in excerpt and "<script" not in excerpt and "x()" not in excerpt
    assert excerpt.endswith("…")


@pytest.mark.parametrize(
    ("url", "link", "image"),
    [
        ("https://example.com/a?b=1#c", True, True),
        ("http://example.com", True, True),
        ("/relative/path", True, False),
        ("other-page", True, False),
        ("//example.com/x", True, False),
        ("javascript:alert(1)", False, False),
        ("JavaScript:alert(1)", False, False),
        ("java\tscript:alert(1)", False, False),
        ("data:image/png;base64,AAAA", False, False),
        ("vbscript:x", False, False),
        ("mailto:a@example.com", False, False),
        ("http:no-host", False, False),
        ("", False, False),
        (None, False, False),
    ],
)
def test_safe_urls(url: str | None, link: bool, image: bool) -> None:
    assert (render.safe_url(url) is not None) is link
    assert (render.image_src(url) is not None) is image


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("[Example](https://example.com/x)", ("Example", "https://example.com/x", True)),
        ("[https://e.com/y](https://e.com/y)", ("https://e.com/y", "https://e.com/y", True)),
        ("[](https://e.com/y)", ("https://e.com/y", "https://e.com/y", True)),
        ("[wiki](https://w.org/Foo_(bar))", ("wiki", "https://w.org/Foo_(bar)", True)),
        ("[x](javascript:alert(1))", ("x", "javascript:alert(1)", False)),
        ("[a](b) and [c](d)", None),
        ("[a](b)[c](d)", None),
        ("# [a](b)", None),
        ("plain text", None),
        (42, None),
    ],
)  # fmt: skip
def test_single_link_detection(data: object, expected: tuple[str, str, bool] | None) -> None:
    link = render.parse_link(data)
    if expected is None:
        assert link is None
    else:
        assert link is not None
        assert (link.text, link.url, link.href is not None) == expected


def test_kinds_and_progress() -> None:
    assert render.kind_of("markdown", "[a](https://x.y)") == "link"
    assert render.kind_of("markdown", "# a") == "markdown"
    assert render.kind_of("table", "[]") == "table"
    assert render.kind_of(None, {"storage_key": "x"}) == "json"
    assert render.kind_of("custom", "x") == "json"
    assert render.progress_value(42.5) == 42.5
    assert render.progress_value(100) == 100.0
    assert render.progress_value(150) == 100.0
    assert render.progress_value(-3) == 0.0
    assert render.progress_value(None) is None
    assert render.progress_value(True) is None
    assert render.progress_value(float("nan")) is None
    assert [render.percent(v) for v in (42.5, 100.0, 0.0, 33.333, None)] == [
        "42.5%",
        "100%",
        "0%",
        "33.3%",
        "–",
    ]
    assert render.pretty_json('{"x": [1, 2]}') == '{\n  "x": [\n    1,\n    2\n  ]\n}'
    assert render.pretty_json("not json") == "not json"


@pytest.mark.parametrize(
    "data",
    [
        '[{"a": 1, "b": NaN}, {"a": Infinity, "c": "z"}]',  # the SDK's JSON string
        [{"a": 1, "b": None}, {"a": 1e400, "c": "z"}],  # a structure
    ],
)
def test_table_list_of_objects(data: object) -> None:
    view = tables.table_view(data)
    assert view is not None
    assert view.columns == ["a", "b", "c"]
    assert view.rows[1] == ["Infinity", "", "z"]
    assert view.rows[0][1] in ("NaN", "")


def test_table_object_of_lists_and_list_of_lists() -> None:
    view = tables.table_view('{"x": [1, 2, 3], "y": ["a", null]}')
    assert view is not None
    assert (view.columns, view.rows) == (["x", "y"], [["1", "a"], ["2", ""], ["3", ""]])
    assert view.numeric == [True, False]
    view = tables.table_view([[1, "<b>x</b>", None], [2.5, {"k": [1]}, True]])
    assert view is not None
    assert view.columns == ["1", "2", "3"]
    assert view.rows == [["1", "<b>x</b>", ""], ["2.5", '{"k": [1]}', "true"]]


@pytest.mark.parametrize("data", ["not json", "[1, 2]", '"a string"', 5, None, [[1], {"a": 1}]])
def test_not_a_table(data: object) -> None:
    assert tables.table_view(data) is None


def test_csv_has_every_row_and_defuses_formulas() -> None:
    rows = [{"n": i, "f": "=HYPERLINK(1)" if i == 0 else "-3", "s": "a,b"} for i in range(250)]
    view = tables.table_view(json.dumps(rows))
    assert view is not None
    lines = "".join(tables.csv_lines(view)).splitlines()
    assert len(lines) == 251
    assert lines[0] == "n,f,s"
    assert lines[1] == '0,\'=HYPERLINK(1),"a,b"'
    assert lines[2] == '1,-3,"a,b"'


def test_the_link_pattern_on_stored_text_agrees_with_parse_link() -> None:
    """SQL filters links with `LINK_JSON_PATTERN` on the stored JSON text; the pages decide
    with `parse_link`. Both must agree on every string, or counts and rows differ."""
    pattern = re.compile(render.LINK_JSON_PATTERN)
    like = re.compile(render.LINK_JSON_LIKE.replace("%", ".*").replace("[", r"\["), re.DOTALL)
    pieces = ["[", "]", "(", ")", "](", "a", " ", "\n", "\t", "\r", "\x0c", "\x0b", "\x1c"]
    pieces += ["\x1f", "\x01", "\x08", "\\", '"', "\xa0", "\x85", "\u2028", "\u3000", "é"]
    rng = random.Random(7)
    links = 0
    for _ in range(40_000):
        body = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        if rng.random() < 0.6:  # most strings then have a link's outline
            body = rng.choice(["", " ", "\n", "\x1c"]) + "[" + body + ")" + rng.choice(["", "\t"])
        stored = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        is_link = render.parse_link(body) is not None
        links += is_link
        assert (pattern.search(stored) is not None) is is_link, repr(body)
        assert like.fullmatch(stored) or not is_link, repr(body)
    assert links > 2_000  # the cases were not all of one kind
