"""Users, their roles per workspace, API keys and UI sessions, as stored.

Secrets are never stored: passwords as argon2id hashes (memory-hard, salted,
slow on purpose: they may be guessable); API keys and session tokens as SHA-256
digests (they are 32 random bytes, so a fast hash loses nothing and keeps the
per-request check cheap).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Row, Select, delete, func, select, update

from runfolio.errors import Conflict, Invalid
from runfolio.ops.access import Principal, Role
from runfolio.schemas.common import new_id, utcnow
from runfolio.store.tables import (
    api_keys,
    memberships,
    sign_in_failures,
    ui_sessions,
    users,
    workspaces,
)
from runfolio.store.workspaces import Workspace

USERNAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # hashing is linear in length: a cap keeps sign-in from being a DoS
KEY_PREFIX = "rfk_"
_KEY_ID_CHARS = 12
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    _check_password(password)
    return _hasher.hash(password)


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Invalid.field(
            ("password",), f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters", None
        )


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


# ---- users -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    id: uuid.UUID
    username: str
    is_admin: bool
    disabled: bool
    created: dt.datetime


_USER_COLUMNS = (users.c.id, users.c.username, users.c.is_admin, users.c.disabled, users.c.created)


def check_new_username(conn: Connection, username: str) -> None:
    """Invalid if `username` is not allowed, Conflict if it is taken."""
    if not USERNAME_PATTERN.match(username):
        raise Invalid.field(
            ("username",),
            "must be 1 to 64 lowercase letters, digits, dots, dashes or underscores, "
            "starting and ending with a letter or digit",
            username,
        )
    if conn.execute(select(users.c.id).where(users.c.username == username)).first():
        raise Conflict(f"User {username} already exists.")


def create_user(conn: Connection, username: str, password: str, *, is_admin: bool) -> User:
    check_new_username(conn, username)
    user = User(new_id(), username, is_admin, False, utcnow())
    conn.execute(
        users.insert().values(
            id=user.id,
            username=username,
            password_hash=hash_password(password),
            is_admin=is_admin,
            disabled=False,
            created=user.created,
        )
    )
    return user


def find_user(conn: Connection, username: str) -> User:
    row = conn.execute(select(*_USER_COLUMNS).where(users.c.username == username)).first()
    if row is None:
        raise Invalid.field(("username",), f"no user {username}", username)
    return User(*row)


def user_by_id(conn: Connection, user_id: uuid.UUID) -> User | None:
    row = conn.execute(select(*_USER_COLUMNS).where(users.c.id == user_id)).first()
    return None if row is None else User(*row)


def list_users(conn: Connection) -> list[User]:
    return [User(*row) for row in conn.execute(select(*_USER_COLUMNS).order_by(users.c.username))]


def any_active_user(conn: Connection) -> bool:
    found = conn.execute(select(users.c.id).where(users.c.disabled.is_(False)).limit(1)).first()
    return found is not None


def set_disabled(conn: Connection, username: str, disabled: bool) -> User:
    """Disable (or enable) a user: their sessions end and their keys stop working."""
    user = find_user(conn, username)
    conn.execute(update(users).where(users.c.id == user.id).values(disabled=disabled))
    if disabled:
        conn.execute(delete(ui_sessions).where(ui_sessions.c.user_id == user.id))
    return find_user(conn, username)


def set_password(conn: Connection, username: str, password: str) -> None:
    user = find_user(conn, username)
    conn.execute(
        update(users).where(users.c.id == user.id).values(password_hash=hash_password(password))
    )
    conn.execute(delete(ui_sessions).where(ui_sessions.c.user_id == user.id))


def check_password(conn: Connection, username: str, password: str) -> User | None:
    """The user, if the password is theirs and they are not disabled."""
    row = conn.execute(
        select(*_USER_COLUMNS, users.c.password_hash).where(users.c.username == username)
    ).first()
    if row is None or len(password) > MAX_PASSWORD:
        # Hash anyway, so the time taken does not tell which usernames exist.
        _hasher.hash("not a password of anyone")
        return None
    try:
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    user = User(*row[:5])
    return None if user.disabled else user


# ---- roles -----------------------------------------------------------------


def set_role(conn: Connection, user: User, workspace: Workspace, role: Role | None) -> int:
    """Give `user` `role` in `workspace` (None: remove them from it).

    Keys the user made for that workspace keep at most the new role: lowering a
    role lowers them, removing the user revokes them. Returns how many keys that
    changed (so the admin can be told).
    """
    where = (memberships.c.user_id == user.id) & (memberships.c.workspace_id == workspace.id)
    conn.execute(delete(memberships).where(where))
    keys_here = (api_keys.c.user_id == user.id) & (api_keys.c.workspace_id == workspace.id)
    if role is None:
        revoked = conn.execute(
            update(api_keys).where(keys_here, api_keys.c.revoked.is_(None)).values(revoked=utcnow())
        )
        return revoked.rowcount
    conn.execute(
        memberships.insert().values(user_id=user.id, workspace_id=workspace.id, role=role.label)
    )
    above = [r.label for r in Role if r > role]
    # Revoked keys are left as they were: they are not counted as lowered.
    live = api_keys.c.revoked.is_(None)
    lowered = conn.execute(
        update(api_keys).where(keys_here, live, api_keys.c.role.in_(above)).values(role=role.label)
    )
    return lowered.rowcount


def roles_of(conn: Connection, user_id: uuid.UUID) -> dict[uuid.UUID, Role]:
    rows = conn.execute(
        select(memberships.c.workspace_id, memberships.c.role).where(
            memberships.c.user_id == user_id
        )
    )
    return {workspace_id: Role.parse(role) for workspace_id, role in rows}


def memberships_of(conn: Connection) -> dict[uuid.UUID, list[tuple[Workspace, Role]]]:
    """Every user's workspaces and roles, by user id."""
    rows = conn.execute(
        select(
            memberships.c.user_id,
            workspaces.c.id,
            workspaces.c.account,
            workspaces.c.name,
            memberships.c.role,
        )
        .join(workspaces, workspaces.c.id == memberships.c.workspace_id)
        .order_by(workspaces.c.account, workspaces.c.name)
    )
    found: dict[uuid.UUID, list[tuple[Workspace, Role]]] = {}
    for user_id, ws_id, account, name, role in rows:
        found.setdefault(user_id, []).append((Workspace(ws_id, account, name), Role.parse(role)))
    return found


@dataclass(frozen=True, slots=True)
class Member:
    """Someone with a role in a workspace: a member, or a server admin (admin of all)."""

    user: User
    role: Role


def members_of(conn: Connection, workspace_id: uuid.UUID) -> list[Member]:
    """The workspace's members and every server admin, by username; a server admin's
    role is admin whatever their membership says."""
    rows = conn.execute(
        select(*_USER_COLUMNS, memberships.c.role)
        .join(memberships, memberships.c.user_id == users.c.id)
        .where(memberships.c.workspace_id == workspace_id)
    )
    found = {row.id: Member(User(*row[:5]), Role.parse(row.role)) for row in rows}
    for admin in conn.execute(select(*_USER_COLUMNS).where(users.c.is_admin.is_(True))):
        found[admin.id] = Member(User(*admin), Role.ADMIN)
    return sorted(found.values(), key=lambda m: m.user.username)


def user_principal(user: User, roles: dict[uuid.UUID, Role]) -> Principal:
    return Principal(
        name=user.username,
        everywhere=Role.ADMIN if user.is_admin else None,
        grants=roles,
        user_id=user.id,
    )


def principal_of_user(conn: Connection, user_id: uuid.UUID) -> Principal | None:
    """The principal of an active user (None when disabled or gone)."""
    row = conn.execute(select(*_USER_COLUMNS).where(users.c.id == user_id)).first()
    if row is None or row.disabled:
        return None
    user = User(*row)
    return user_principal(user, roles_of(conn, user.id))


# ---- API keys ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: uuid.UUID
    prefix: str
    name: str
    username: str
    workspace: str
    role: Role
    created: dt.datetime
    last_used: dt.datetime | None
    expires: dt.datetime | None
    revoked: dt.datetime | None

    def status(self, now: dt.datetime) -> str:
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and self.expires <= now:
            return "expired"
        return "active"


_KEY_COLUMNS = (
    api_keys.c.id,
    api_keys.c.prefix,
    api_keys.c.name,
    users.c.username,
    (workspaces.c.account + "/" + workspaces.c.name).label("workspace"),
    api_keys.c.role,
    api_keys.c.created,
    api_keys.c.last_used,
    api_keys.c.expires,
    api_keys.c.revoked,
)


def _keys_query() -> Select[Any]:
    return (
        select(*_KEY_COLUMNS)
        .join(users, users.c.id == api_keys.c.user_id)
        .join(workspaces, workspaces.c.id == api_keys.c.workspace_id)
    )


def _api_key(row: Row[Any]) -> ApiKey:
    values = list(row)
    values[5] = Role.parse(values[5])
    return ApiKey(*values)


def create_key(
    conn: Connection,
    user: User,
    workspace: Workspace,
    role: Role,
    name: str,
    expires: dt.datetime | None = None,
) -> tuple[ApiKey, str]:
    """Make a key acting for `user` in `workspace`; returns it and its secret text, which
    exists only in this return value (the table holds its digest)."""
    if not 0 < len(name.strip()) <= 200:
        raise Invalid.field(("name",), "must be 1 to 200 characters", name)
    if user.disabled:
        raise Invalid.field(("user",), f"user {user.username} is disabled", user.username)
    held = Role.ADMIN if user.is_admin else roles_of(conn, user.id).get(workspace.id)
    if held is None or held < role:
        has = "no role" if held is None else f"the {held.label} role"
        raise Invalid.field(
            ("role",),
            f"a key cannot have more rights than its user: {user.username} has {has} "
            f"in {workspace.path}",
            role.label,
        )
    now = utcnow()
    if expires is not None and expires <= now:
        raise Invalid.field(("expires",), "must be in the future", expires.isoformat())
    key_id = new_id()
    prefix = KEY_PREFIX + secrets.token_hex(_KEY_ID_CHARS // 2)
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    conn.execute(
        api_keys.insert().values(
            id=key_id,
            prefix=prefix,
            key_hash=digest(secret),
            name=name.strip(),
            user_id=user.id,
            workspace_id=workspace.id,
            role=role.label,
            created_by=user.username,
            created=now,
            expires=expires,
        )
    )
    key = ApiKey(
        key_id, prefix, name.strip(), user.username, workspace.path, role, now, None, expires, None
    )
    return key, secret


def list_keys(conn: Connection) -> list[ApiKey]:
    rows = conn.execute(_keys_query().order_by(api_keys.c.created))
    return [_api_key(row) for row in rows]


def workspace_keys(
    conn: Connection, workspace_id: uuid.UUID, owner_id: uuid.UUID | None = None
) -> list[ApiKey]:
    """The keys made for a workspace, oldest first; only `owner_id`'s when given."""
    query = _keys_query().where(api_keys.c.workspace_id == workspace_id)
    if owner_id is not None:
        query = query.where(api_keys.c.user_id == owner_id)
    return [_api_key(row) for row in conn.execute(query.order_by(api_keys.c.created))]


def revoke_workspace_key(
    conn: Connection, key_id: uuid.UUID, workspace_id: uuid.UUID, owner_id: uuid.UUID | None
) -> ApiKey | None:
    """Revoke key `key_id` if it is one of the workspace's (and `owner_id`'s, when given).

    None, with nothing changed, when it is not: who may revoke what is decided by the
    caller (`owner_id` None: any key of the workspace). Revoking a revoked key changes
    nothing.
    """
    where = (api_keys.c.id == key_id) & (api_keys.c.workspace_id == workspace_id)
    if owner_id is not None:
        where = where & (api_keys.c.user_id == owner_id)
    if conn.execute(select(api_keys.c.id).where(where)).first() is None:
        return None
    conn.execute(
        update(api_keys).where(where, api_keys.c.revoked.is_(None)).values(revoked=utcnow())
    )
    return _api_key(conn.execute(_keys_query().where(api_keys.c.id == key_id)).one())


def revoke_key(conn: Connection, prefix_or_id: str) -> ApiKey:
    ident = prefix_or_id.strip()
    # Whoever pastes the whole key gets it revoked too: its prefix is its first part.
    if ident.startswith(KEY_PREFIX):
        ident = ident[: len(KEY_PREFIX) + _KEY_ID_CHARS]
    try:
        where = api_keys.c.id == uuid.UUID(ident)
    except ValueError:
        where = api_keys.c.prefix == ident
    row = conn.execute(_keys_query().where(where)).first()
    if row is None:
        raise Invalid.field(("key",), f"no key {prefix_or_id}", prefix_or_id)
    key = _api_key(row)
    if key.revoked is None:
        conn.execute(update(api_keys).where(api_keys.c.id == key.id).values(revoked=utcnow()))
    return _api_key(conn.execute(_keys_query().where(api_keys.c.id == key.id)).one())


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """What a presented key is worth, and until when (None: no expiry)."""

    principal: Principal
    expires: dt.datetime | None
    last_used: dt.datetime | None


def principal_of_key(conn: Connection, secret: str) -> KeyGrant | None:
    """The principal a presented key acts as, or None for anything not a live key."""
    prefix = secret[: len(KEY_PREFIX) + _KEY_ID_CHARS]
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    row = conn.execute(
        select(
            api_keys.c.id,
            api_keys.c.key_hash,
            api_keys.c.name,
            api_keys.c.workspace_id,
            api_keys.c.role,
            api_keys.c.expires,
            api_keys.c.revoked,
            api_keys.c.last_used,
            api_keys.c.user_id,
            users.c.username,
            users.c.is_admin,
            users.c.disabled,
        )
        .join(users, users.c.id == api_keys.c.user_id)
        .where(api_keys.c.prefix == prefix)
    ).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest(secret)):
        return None
    if row.revoked is not None or row.disabled:
        return None
    if row.expires is not None and row.expires <= utcnow():
        return None
    # A key never holds more than its user does now (roles may have been lowered since).
    held = Role.ADMIN if row.is_admin else roles_of(conn, row.user_id).get(row.workspace_id)
    if held is None:
        return None
    role = min(Role.parse(row.role), held)
    principal = Principal(
        name=f"{row.username} (key {row.name})",
        grants={row.workspace_id: role},
        key_id=row.id,
        user_id=row.user_id,
    )
    return KeyGrant(principal, row.expires, row.last_used)


def touch_key(conn: Connection, key_id: uuid.UUID) -> None:
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used=utcnow()))


# ---- UI sessions ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Session:
    user_id: uuid.UUID
    csrf_token: str
    expires: dt.datetime


def create_session(conn: Connection, user: User, lifetime: dt.timedelta) -> tuple[str, Session]:
    """A new session for `user`: the cookie's token (only here) and the session."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session = Session(user.id, secrets.token_urlsafe(32), now + lifetime)
    conn.execute(
        ui_sessions.insert().values(
            id=digest(token),
            user_id=user.id,
            csrf_token=session.csrf_token,
            created=now,
            expires=session.expires,
        )
    )
    # Sessions that ended are removed as new ones begin: the table does not grow.
    conn.execute(delete(ui_sessions).where(ui_sessions.c.expires <= now))
    return token, session


def find_session(conn: Connection, token: str) -> Session | None:
    if len(token) > 200:
        return None
    row = conn.execute(
        select(ui_sessions.c.user_id, ui_sessions.c.csrf_token, ui_sessions.c.expires).where(
            ui_sessions.c.id == digest(token)
        )
    ).first()
    if row is None or row.expires <= utcnow():
        return None
    return Session(*row)


def end_session(conn: Connection, token: str) -> None:
    conn.execute(delete(ui_sessions).where(ui_sessions.c.id == digest(token)))


# ---- failed sign-ins -----------------------------------------------------------


def count_failures(conn: Connection, subject: str, since: dt.datetime) -> int:
    query = select(func.count()).where(
        sign_in_failures.c.subject == subject, sign_in_failures.c.at > since
    )
    return int(conn.execute(query).scalar_one())


def record_failure(conn: Connection, subjects: list[str], keep: dt.timedelta) -> None:
    now = utcnow()
    conn.execute(sign_in_failures.insert(), [{"subject": s, "at": now} for s in subjects])
    conn.execute(delete(sign_in_failures).where(sign_in_failures.c.at <= now - keep))


def clear_failures(conn: Connection, subject: str) -> None:
    conn.execute(delete(sign_in_failures).where(sign_in_failures.c.subject == subject))
