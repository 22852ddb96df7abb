"""What an artifact's stored data shows as: decoded safely, then judged against its type.

The UI reads `data` as its stored JSON text and decodes it here, so no stored
value can fail a page or a list. Data that does not fit its type (a table that
is a number, say) is shown as formatted JSON; data nested too deep to decode
(or not JSON at all) as its stored text, or only a notice when that text is too
long to show. Each comes with a notice saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json

from runfolio.server.ui.render import Kind, kind_of, misfit_notice

# pydantic-core's parser refuses deeper values; page models wrap the data a few
# levels deeper still and serialise to about 250, so every decoded value fits a twin.
MAX_DEPTH = 200
MAX_SHOWN_TEXT = 200_000  # characters of undecodable stored text a page shows


@dataclass(frozen=True, slots=True)
class Shown:
    """How one artifact's data is shown."""

    value: Any  # the decoded data; None when it could not be decoded
    kind: Kind  # which renderer draws it
    notice: str | None = None  # why it is shown as stored, if it is
    text: str | None = None  # the stored text, when it could not be decoded


def _undecodable(text: str, error: ValueError) -> Shown:
    if "recursion limit" in str(error):
        reason = f"This data nests deeper than {MAX_DEPTH} levels"
    else:
        reason = "This data is not valid JSON"
    if len(text) > MAX_SHOWN_TEXT:
        return Shown(None, "json", f"{reason} and is too long to show as text.")
    return Shown(None, "json", f"{reason}; shown as stored text.", text)


def decode(type_: str | None, text: str | None) -> Shown:
    """The data of an artifact of type `type_` whose stored JSON text is `text`
    (None: null, or not read)."""
    if text is None:
        return Shown(None, kind_of(type_, None))
    try:
        value = from_json(text, allow_inf_nan=True)
    except ValueError as error:
        return _undecodable(text, error)
    notice = misfit_notice(type_, value)
    if notice is not None:
        return Shown(value, "json", notice)
    return Shown(value, kind_of(type_, value))


def value_of(text: str | None) -> Any:
    """The decoded data, or None when it cannot be decoded (for progress values)."""
    if text is None:
        return None
    try:
        return from_json(text, allow_inf_nan=True)
    except ValueError:
        return None
