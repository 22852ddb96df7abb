"""How `runfolio artifact diff` draws a diff in a terminal (rich)."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from runfolio.cli._format import make_table
from runfolio.history.diff import ArtifactDiff
from runfolio.history.tablediff import TableDiff
from runfolio.history.textdiff import Span, TextDiff

MAX_TERMINAL_ROWS = 50  # per group (changed, added, removed); -o json lists more
CONTEXT_LINES = 3  # unchanged lines kept around a change


def _table(d: TableDiff) -> Table:
    table = make_table(f"Rows matched on {d.key_column or '(no column)'}")
    table.add_column("", no_wrap=True)
    for column in d.columns:
        style = (
            "green" if column in d.added_columns else "red" if column in d.removed_columns else ""
        )
        table.add_column(Text(column, style=style), overflow="fold")
    for row in d.changed[:MAX_TERMINAL_ROWS]:
        cells: list[Text] = [Text("~", style="yellow")]
        for i, column in enumerate(d.columns):
            if column in row.changed:
                cell = Text(row.before[i], style="red strike")
                cell.append(" → ")
                cell.append(row.after[i], style="green")
                cells.append(cell)
            else:
                cells.append(Text(row.after[i]))
        table.add_row(*cells)
    for mark, style, rows in (("+", "green", d.added), ("-", "red", d.removed)):
        for cells_text in rows[:MAX_TERMINAL_ROWS]:
            table.add_row(Text(mark, style=style), *(Text(c, style=style) for c in cells_text))
    return table


def _spans(parts: list[Span], style: str) -> Text:
    text = Text()
    for part in parts:
        text.append(part.text, style=f"bold reverse {style}" if part.changed else style)
    return text


def _text(d: TextDiff) -> Text:
    out = Text()
    changed = [i for i, line in enumerate(d.lines) if line.op != "same"]
    near = {j for i in changed for j in range(i - CONTEXT_LINES, i + CONTEXT_LINES + 1)}
    skipped = False
    for i, line in enumerate(d.lines):
        if line.op == "same" and i not in near:
            if not skipped:
                out.append("  …\n", style="dim")
            skipped = True
            continue
        skipped = False
        if line.op == "same":
            out.append("  ").append_text(_spans(line.before, "dim")).append("\n")
        if line.op in ("removed", "changed"):
            out.append("- ", style="red").append_text(_spans(line.before, "red")).append("\n")
        if line.op in ("added", "changed"):
            out.append("+ ", style="green").append_text(_spans(line.after, "green")).append("\n")
    return out


def render(title: str, d: ArtifactDiff) -> RenderableType:
    parts: list[RenderableType] = [Text(title, style="bold"), Text(d.summary)]
    if d.note:
        parts.append(Text(d.note, style="yellow"))
    if d.table is not None and not d.identical:
        parts.append(_table(d.table))
        if max(d.table.counts.added, d.table.counts.removed, d.table.counts.changed) > (
            MAX_TERMINAL_ROWS
        ):
            parts.append(Text(f"(first {MAX_TERMINAL_ROWS} rows of each kind; -o json lists more)"))
    elif d.text is not None and not d.identical:
        parts.append(_text(d.text))
    elif d.urls is not None:
        parts.append(Text(f"- {d.urls.before.url}", style="red" if not d.identical else ""))
        parts.append(Text(f"+ {d.urls.after.url}", style="green" if not d.identical else ""))
    elif d.structure is not None and d.structure.changes:
        table = make_table("Changes")
        for name in ("Path", "Change", "Before", "After"):
            table.add_column(name, overflow="fold")
        for c in d.structure.changes:
            table.add_row(c.path, c.op, Text(c.before or "", "red"), Text(c.after or "", "green"))
        parts.append(table)
    return Group(*parts)


def show(title: str, d: ArtifactDiff) -> None:
    Console().print(render(title, d))
