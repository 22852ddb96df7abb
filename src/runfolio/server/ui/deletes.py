"""Deleting from the UI: a version, or a whole key, each after a confirmation page.

    GET  /artifacts/{id}/delete         what will go: the key, the version, when it was made
    POST /artifacts/{id}/delete         delete it; back to the key's page (its new latest)
    GET  /artifacts/key/{key}/delete    what will go: the key and how many versions
    POST /artifacts/key/{key}/delete    delete every version; back to the artifacts list

The buttons show for whoever may delete (the workspace's admins; anyone when accounts
are off); the POSTs pass the CSRF check and then the operation's own role check, so
anyone else gets 403 with nothing deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from runfolio import ops
from runfolio.errors import Forbidden, NotFound
from runfolio.ops import deletes
from runfolio.server.ui import cookies, data, guarded_forms, rights, urls
from runfolio.server.ui.fmt import exact as when_text
from runfolio.server.ui.site import ForbiddenPage, PageApi, page_api
from runfolio.server.ui.templating import SECURITY_HEADERS, page

router = APIRouter(include_in_schema=False)

NOT_DELETED = "Not deleted"


def _may_delete(api: PageApi) -> None:
    """The confirmation pages are for those who may delete (the POST checks it again)."""
    assert api.workspace is not None  # page_api sets it
    if not rights.manages(api.principal, api.workspace.id):
        raise ForbiddenPage(
            "Delete",
            f"Only an admin of {api.workspace.path} may delete artifacts. Nothing was changed.",
            api.header,
        )


def _confirm_page(request: Request, api: PageApi, context: Mapping[str, object]) -> Response:
    response = page("delete_confirm.html", dict(context), nav="artifacts", header=api.header)
    if api.new_csrf_cookie and api.header is not None:
        cookies.set_csrf(response, request, api.header.csrf_token)
    return response


@router.get(urls.ARTIFACT_DELETE)
async def confirm_version(request: Request, artifact_id: uuid.UUID) -> Response:
    api = await page_api(request)
    _may_delete(api)
    view = (await api.read(data.artifact_page, artifact_id)).artifact
    artifact = view.artifact
    if artifact.key is None:
        what = [f"The keyless artifact {artifact.id}, made {when_text(artifact.created)}."]
        after = "It is gone for good: keyless artifacts have no other versions."
        back = urls.artifact(artifact.id)
    else:
        what = [
            f"Version {view.version} of {view.versions} of the key “{artifact.key}”, "
            f"made {when_text(artifact.created)} (id {artifact.id})."
        ]
        if view.versions == 1:
            after = f"It is the key's only version: the key “{artifact.key}” goes with it."
        elif artifact.id == view.latest_id:
            after = f"It is the latest: version {(view.version or 1) - 1} becomes the latest."
        else:
            after = f"The key's latest version stays as it is; {(view.versions or 1) - 1} remain."
        back = urls.artifact_key(artifact.key, artifact.id)
    context = {
        "title": "Delete this version?",
        "what": what,
        "after": after,
        "action": urls.artifact_delete(artifact.id),
        "back": back,
        "button": "Delete this version",
    }
    return _confirm_page(request, api, context)


@router.get(urls.ARTIFACT_KEY_DELETE)
async def confirm_key(request: Request, key: str) -> Response:
    api = await page_api(request)
    _may_delete(api)
    found = await api.read(data.artifact_key_page, key)
    total = found.versions_paging.total
    context = {
        "title": f"Delete the key “{key}”?",
        "what": [
            f"Every version of the key “{key}”: {total} version{'s' if total != 1 else ''}, "
            f"made from {when_text(found.first_created)} to "
            f"{when_text(found.selected.artifact.created)}."
        ],
        "after": "The key disappears from the artifacts list. This cannot be undone.",
        "action": urls.artifact_key_delete(key),
        "back": urls.artifact_key(key),
        "button": f"Delete all {total} version{'s' if total != 1 else ''}",
    }
    return _confirm_page(request, api, context)


def _delete_version(ctx: ops.Context, artifact_id: uuid.UUID) -> str | None:
    """Delete one version; the key it belonged to if that key still has versions."""
    key = ops.read_artifact(ctx, artifact_id).key
    ops.delete_artifact(ctx, artifact_id)
    if key is None:
        return None
    try:
        ops.read_latest_artifact(ctx, key)
    except NotFound:
        return None
    return key


@router.post(urls.ARTIFACT_DELETE)
async def delete_version(request: Request, artifact_id: uuid.UUID) -> Response:
    posted = await guarded_forms.checked(request)
    if isinstance(posted, Response):
        return posted
    try:
        key = await guarded_forms.run_write(request, _delete_version, posted.api.ctx, artifact_id)
    except (Forbidden, NotFound) as exc:
        back = urls.artifact(artifact_id)
        return guarded_forms.refusal(exc, NOT_DELETED, posted.header, back)
    target = urls.artifacts() if key is None else urls.artifact_key(key)
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


@router.post(urls.ARTIFACT_KEY_DELETE)
async def delete_key(request: Request, key: str) -> Response:
    posted = await guarded_forms.checked(request)
    if isinstance(posted, Response):
        return posted
    try:
        await guarded_forms.run_write(request, deletes.delete_key, posted.api.ctx, key)
    except (Forbidden, NotFound) as exc:
        return guarded_forms.refusal(exc, NOT_DELETED, posted.header, urls.artifact_key(key))
    return RedirectResponse(urls.artifacts(), status_code=303, headers=SECURITY_HEADERS)
