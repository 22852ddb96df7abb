"""Reading a posted HTML form (application/x-www-form-urlencoded).

The UI's forms have a few short text fields; parsing them here needs no
multipart library. The request guard already caps the body's size.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 20


async def posted(request: Request) -> dict[str, str]:
    """The form's fields (the first value of each); empty for any other body."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != FORM_TYPE:
        return {}
    body = (await request.body()).decode("utf-8", "replace")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:  # more fields than any of our forms has: not one of them
        return {}
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields
