"""Small HTML pieces that pages repeat once per row (a run page has a thousand of
them): built in Python, as a Jinja macro call costs several times more. The macros
of the same names (`_partials/macros.html`) call these, so each is written once.

Built with f-strings around `escape` (`Markup.format` is several times slower)."""

from __future__ import annotations

import datetime as dt

from markupsafe import Markup, escape

from runfolio.server.ui import fmt
from runfolio.server.ui.models import GraphBar

_NO_TIME = Markup('<span class="muted">–</span>')


def time_tag(value: dt.datetime | None) -> Markup:
    """A time as its relative wording, the exact time on hover."""
    if not value:
        return _NO_TIME
    iso, exact, relative = escape(fmt.iso(value)), escape(fmt.exact(value)), fmt.relative(value)
    return Markup(f'<time datetime="{iso}" title="{exact}">{escape(relative)}</time>')


def state_class(state_type: str | None) -> str:
    return f"state-{(state_type or 'unknown').lower()}"


def state_tag(
    state_type: str | None, state_name: str | None, run_id: object | None = None
) -> Markup:
    """A state's badge; `run_id` marks it for live updates of that run."""
    live = f' data-run-state="{escape(run_id)}"' if run_id else ""
    name = escape(state_name or state_type or "Unknown")
    return Markup(
        f'<span class="state {escape(state_class(state_type))}"{live}>'
        f'<span class="dot" aria-hidden="true"></span><span class="state-name">{name}</span></span>'
    )


def graph_row(bar: GraphBar | None = None) -> Markup:
    """A task run's row on the run graph (`_partials/run_graph.html`); without `bar`, the
    empty row live.js fills in for a task run that appears later."""
    if bar is None:
        return Markup(
            '<li class="graph-row"><div class="graph-label-col">'
            '<span class="graph-name" data-bar-name></span>'
            '<span class="graph-duration" data-bar-duration></span></div>'
            '<div class="graph-track"><div class="graph-bar" data-bar>'
            '<div class="graph-bar-progress" hidden data-bar-progress></div>'
            '<span class="graph-bar-label" hidden data-bar-label></span></div></div></li>'
        )
    task, name = escape(bar.task_run_id), escape(bar.name)
    shape = escape(state_class(bar.state_type)) + ("" if bar.started else " not-started")
    fill = f' style="width: {bar.progress}%"' if bar.progress is not None else " hidden"
    label = escape(bar.progress_label) if bar.progress_label else ""
    return Markup(
        f'<li class="graph-row" id="task-{task}" data-task="{task}">'
        '<div class="graph-label-col">'
        f'<span class="graph-name" data-bar-name title="{name}">{name}</span>'
        f'<span class="graph-duration" data-bar-duration>{escape(bar.duration)}</span></div>'
        f'<div class="graph-track"><div class="graph-bar {shape}"'
        f' style="left: {bar.left}%; width: {bar.width}%"'
        f' title="{escape(bar.state_name or bar.state_type)}" data-bar>'
        f'<div class="graph-bar-progress"{fill} data-bar-progress></div>'
        f'<span class="graph-bar-label"{"" if label else " hidden"} data-bar-label>{label}</span>'
        "</div></div></li>"
    )
