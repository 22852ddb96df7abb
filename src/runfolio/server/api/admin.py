"""Root and admin routes: health, readiness, versions, CSRF probe."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from runfolio._version import API_VERSION, COMPATIBLE_SERVER_VERSION, __version__
from runfolio.store.engine import read

router = APIRouter(tags=["admin"])


@router.get("/health")
async def health() -> bool:
    return True


def _select_one(engine: Engine) -> None:
    with read(engine) as conn:
        conn.execute(text("SELECT 1"))


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """Open to all, like /health: a probe must not need credentials."""
    state = request.app.state
    try:
        await state.gate.read(_select_one, state.engine)
    except Exception:
        return JSONResponse({"message": "Database is not available"}, status_code=503)
    return JSONResponse({"message": "OK"})


@router.get("/version")
async def api_version() -> str:
    """The version of the API schema."""
    return API_VERSION


@router.get("/admin/version")
async def server_version() -> str:
    """The server version compatible clients check (major version 3)."""
    return COMPATIBLE_SERVER_VERSION


@router.get("/info")
async def info() -> dict[str, Any]:
    """runfolio's own version and the protocol versions it speaks."""
    return {
        "name": "runfolio",
        "version": __version__,
        "api_version": API_VERSION,
        "compatible_server_version": COMPATIBLE_SERVER_VERSION,
    }


@router.get("/hello")
async def hello() -> str:
    return "👋"


@router.get("/csrf-token")
async def csrf_token(client: Annotated[str, Query()]) -> JSONResponse:
    """runfolio has no CSRF tokens; clients that probe for one are told so."""
    return JSONResponse({"detail": "CSRF protection is disabled."}, status_code=422)
