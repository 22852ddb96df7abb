"""The retention page of the current workspace, and its forms (its admins; everyone
when accounts are off).

    GET  /retention          the policies, the most specific pattern first; a form to add one
    POST /retention          set a pattern's policy (replacing its old one)
    POST /retention/remove   remove a pattern's policy

The server applies them on its schedule (RUNFOLIO_RETENTION_INTERVAL); `runfolio gc`
at once.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.responses import RedirectResponse, Response

from runfolio.errors import Forbidden, NotFound
from runfolio.ops import Context
from runfolio.ops import retention as ops
from runfolio.schemas.retention import PATTERN_MAX, RetentionPolicy, RetentionPolicySet
from runfolio.server.ui import admin_forms, guarded_forms, rights, urls
from runfolio.server.ui.pages import site
from runfolio.server.ui.site import ForbiddenPage, PageApi
from runfolio.server.ui.templating import SECURITY_HEADERS

router = APIRouter(include_in_schema=False)

NOT_SET = "Policy not set"


class RetentionPage(BaseModel):
    """The current workspace's retention policies, in the order they apply."""

    workspace: str
    policies: list[RetentionPolicy]
    pattern_max: int = Field(description="The longest key pattern accepted.")


def retention_page(ctx: Context, workspace: str) -> RetentionPage:
    return RetentionPage(
        workspace=workspace, policies=ops.list_policies(ctx), pattern_max=PATTERN_MAX
    )


@site.page(urls.RETENTION, template="retention.html", nav="retention")
async def retention(api: PageApi) -> RetentionPage:
    """The current workspace's retention policies (its admins only)."""
    assert api.workspace is not None  # page_api sets it
    if not rights.manages(api.principal, api.workspace.id):
        raise ForbiddenPage(
            "Retention",
            f"Only an admin of {api.workspace.path} may see and change its retention "
            "policies. Nothing was changed.",
            api.header,
        )
    return await api.read(retention_page, api.workspace.path)


def _number(text: str) -> str | None:
    """A form field: blank is none."""
    return text.strip() or None


@router.post(urls.RETENTION)
async def set_policy(request: Request) -> Response:
    posted = await guarded_forms.checked(request)
    if isinstance(posted, Response):
        return posted
    form = posted.form
    fields = {
        "key_pattern": form.get("key_pattern", "").strip(),
        "keep_last": _number(form.get("keep_last", "")),
        "keep_days": _number(form.get("keep_days", "")),
    }
    back = urls.retention()
    try:
        # The form sends text: read it as the API's JSON would be read, numbers as numbers.
        action = RetentionPolicySet.model_validate_json(_as_json(fields))
    except (ValidationError, ValueError) as exc:
        text = _problems(exc)
        return admin_forms.message(
            NOT_SET, f"{text} Nothing was changed.", posted.header, status_code=400, back=back
        )
    try:
        await guarded_forms.run_write(request, ops.set_policy, posted.api.ctx, action)
    except (Forbidden, NotFound) as exc:
        return guarded_forms.refusal(exc, NOT_SET, posted.header, back)
    return RedirectResponse(back, status_code=303, headers=SECURITY_HEADERS)


def _as_json(fields: dict[str, str | None]) -> str:
    """The fields as a JSON body; a number field that is not a number stays text, so
    validation names it."""
    body: dict[str, object] = {"key_pattern": fields["key_pattern"]}
    for name in ("keep_last", "keep_days"):
        value = fields[name]
        if value is None:
            continue
        try:
            number = json.loads(value)
        except ValueError:
            number = value
        body[name] = number if isinstance(number, int | float) else value
    return json.dumps(body)


def _problems(exc: Exception) -> str:
    if not isinstance(exc, ValidationError):
        return str(exc)
    labels = {"key_pattern": "Pattern", "keep_last": "Keep last", "keep_days": "Keep days"}
    parts = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        message = err["msg"].removeprefix("Value error, ")
        if field == "key_pattern":
            message = (
                f"1 to {PATTERN_MAX} lowercase letters, digits, dashes, * (any run of "
                "characters) and ? (one character)"
            )
        parts.append(f"{labels[field]}: {message}." if field in labels else f"{message}.")
    return " ".join(parts)


@router.post(urls.RETENTION_REMOVE)
async def remove_policy(request: Request) -> Response:
    posted = await guarded_forms.checked(request)
    if isinstance(posted, Response):
        return posted
    back = urls.retention()
    pattern = posted.form.get("key_pattern", "")
    try:
        await guarded_forms.run_write(request, ops.remove_policy, posted.api.ctx, pattern)
    except (Forbidden, NotFound) as exc:
        return guarded_forms.refusal(exc, "Policy not removed", posted.header, back)
    return RedirectResponse(back, status_code=303, headers=SECURITY_HEADERS)
