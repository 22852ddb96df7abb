"""Small HTML pieces that pages repeat once per row (a run page has a thousand of
them): built in Python, as a Jinja macro call costs several times more. The macros
of the same names (`_partials/macros.html`) call these, so each is written once.

Built with f-strings around `escape` (`Markup.format` is several times slower)."""

from __future__ import annotations

import datetime as dt

from markupsafe import Markup, escape

from runfolio.server.ui import fmt

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
