"""Who is calling: credentials in, a `Principal` out.

The REST API takes `Authorization: Bearer <API key>` (runfolio's SDK and CLI,
and Prefect's client with `PREFECT_API_KEY`) or `Authorization: Basic <...>`
(Prefect's client with `PREFECT_API_AUTH_STRING`): the Basic password is an API
key, or the whole `user:password` is the server's configured auth string. The
web UI takes its session cookie (never the API: a cookie is what a hostile page
can make a browser send).

A server with no active user and no auth string is open: everyone is `OPEN`
(only allowed on a loopback address, see `runfolio server start`).

What a key or session is worth is cached in this process for at most
`CACHE_SECONDS`, so the check costs a hash and a dict lookup per request; a
revocation or sign-out through this process drops the entry at once, one made
elsewhere (the CLI, another worker) takes effect within that time.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Engine
from starlette.requests import HTTPConnection

from runfolio.errors import Busy, Unauthenticated
from runfolio.ops.access import OPEN, Principal, Role
from runfolio.schemas.common import utcnow
from runfolio.server.concurrency import Gate
from runfolio.settings import Settings
from runfolio.store import accounts
from runfolio.store.engine import read, write

CACHE_SECONDS = 1.0
# Entries past this many are dropped all at once (random keys must not grow memory).
CACHE_MAX = 10_000
# `last used` is written at most this often per key: it must not cost a write per request.
TOUCH_EVERY = dt.timedelta(seconds=60)
SESSION_COOKIE = "runfolio_session"
MAX_CREDENTIAL = 1024
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A UI session: who, and the CSRF token its forms must carry."""

    principal: Principal
    csrf_token: str


class _Answers(Generic[V]):
    """What credentials were found worth, by digest, each until its deadline (monotonic
    seconds); dropped all at once past `CACHE_MAX` entries (random keys must not grow
    memory)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, V | None]] = {}

    def get(self, digest: str, now: float) -> tuple[bool, V | None]:
        cached = self._entries.get(digest)
        if cached is not None and cached[0] > now:
            return True, cached[1]
        return False, None

    def put(self, digest: str, value: V | None, until: float) -> None:
        if len(self._entries) >= CACHE_MAX:
            self._entries.clear()
        self._entries[digest] = (until, value)

    def clear(self) -> None:
        self._entries.clear()


def _scheme_and_value(header: str) -> tuple[str, str]:
    scheme, _, value = header.strip().partition(" ")
    return scheme.lower(), value.strip()


class Authenticator:
    def __init__(self, engine: Engine, gate: Gate, settings: Settings) -> None:
        self._engine = engine
        self._gate = gate
        auth_string = settings.server_auth_string
        self._auth_string = auth_string.get_secret_value() if auth_string else None
        self._required_until = 0.0
        self._required = True
        self._keys: _Answers[Principal] = _Answers()
        self._sessions: _Answers[SignedIn] = _Answers()
        self._touched: dict[uuid.UUID, dt.datetime] = {}

    # ---- is auth on ------------------------------------------------------------

    async def required(self) -> bool:
        """Whether credentials are needed: an auth string is set, or a user exists."""
        if self._auth_string:
            return True
        now = time.monotonic()
        if now >= self._required_until:
            self._required = await self._gate.read(self._any_user)
            self._required_until = now + CACHE_SECONDS
        return self._required

    def _any_user(self) -> bool:
        with read(self._engine) as conn:
            return accounts.any_active_user(conn)

    # ---- the API: Authorization header ------------------------------------------

    async def api_principal(self, connection: HTTPConnection) -> Principal:
        header = connection.headers.get("authorization")
        if not await self.required():
            return OPEN
        if header is None:
            raise Unauthenticated("Not authenticated: send Authorization: Bearer <API key>.")
        return await self.from_header(header)

    async def from_header(self, header: str) -> Principal:
        if len(header) > MAX_CREDENTIAL:
            raise Unauthenticated("Malformed Authorization header: too long.")
        scheme, value = _scheme_and_value(header)
        if scheme == "bearer" and value:
            return await self.from_token(value)
        if scheme == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise Unauthenticated("Malformed Authorization header: bad Basic value.") from None
            return await self.from_token(decoded)
        raise Unauthenticated("Malformed Authorization header: expected Bearer <API key>.")

    async def from_token(self, token: str) -> Principal:
        """A token as the events websocket or a header carries it: an API key, the
        server's auth string, or `anything:<API key>` (Basic's user:password form)."""
        if self._auth_string and hmac.compare_digest(
            token.encode("utf-8", "surrogatepass"), self._auth_string.encode()
        ):
            return Principal(name="auth string", everywhere=Role.ADMIN)
        if not token.startswith(accounts.KEY_PREFIX):
            _, colon, password = token.partition(":")
            token = password if colon else token
        principal = await self._key_principal(token)
        if principal is None:
            raise Unauthenticated("Invalid API key: unknown, revoked or expired.")
        return principal

    async def _key_principal(self, key: str) -> Principal | None:
        if not key.startswith(accounts.KEY_PREFIX):
            return None
        cache_key = accounts.digest(key)
        now = time.monotonic()
        hit, known = self._keys.get(cache_key, now)
        if hit:
            return known
        grant = await self._gate.read(self._lookup_key, key)
        until = now + CACHE_SECONDS
        principal = None
        if grant is not None:
            principal = grant.principal
            if grant.expires is not None:
                until = min(until, now + (grant.expires - utcnow()).total_seconds())
            await self._touch(grant)
        self._keys.put(cache_key, principal, until)
        return principal

    def _lookup_key(self, key: str) -> accounts.KeyGrant | None:
        with read(self._engine) as conn:
            return accounts.principal_of_key(conn, key)

    async def _touch(self, grant: accounts.KeyGrant) -> None:
        key_id = grant.principal.key_id
        assert key_id is not None
        now = utcnow()
        last = self._touched.get(key_id) or grant.last_used
        if last is not None and now - last < TOUCH_EVERY:
            return
        self._touched[key_id] = now
        try:
            await self._gate.write(self._write_touch, key_id)
        except Busy:
            pass  # a busy database skips this one; the next lookup tries again

    def _write_touch(self, key_id: uuid.UUID) -> None:
        with write(self._engine) as conn:
            accounts.touch_key(conn, key_id)

    # ---- the UI: session cookie ---------------------------------------------------

    async def session(self, token: str | None) -> SignedIn | None:
        if not token or len(token) > MAX_CREDENTIAL:
            return None
        cache_key = accounts.digest(token)
        now = time.monotonic()
        hit, known = self._sessions.get(cache_key, now)
        if hit:
            return known
        found = await self._gate.read(self._lookup_session, token)
        self._sessions.put(cache_key, found, now + CACHE_SECONDS)
        return found

    def _lookup_session(self, token: str) -> SignedIn | None:
        with read(self._engine) as conn:
            session = accounts.find_session(conn, token)
            if session is None:
                return None
            principal = accounts.principal_of_user(conn, session.user_id)
            return None if principal is None else SignedIn(principal, session.csrf_token)

    def forget(self) -> None:
        """Drop every cached answer (after a sign-out, a revocation, a role change)."""
        self._keys.clear()
        self._sessions.clear()
        self._required_until = 0.0
