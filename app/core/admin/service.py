"""Staff users and API keys: the admin's rules, each write audited in its transaction."""

import asyncio
import uuid
from datetime import datetime
from typing import Any, overload

import msgspec
import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.admin import responses as answers
from app.core.admin.schemas import ApiKeyCreate, UserCreate, UserUpdate
from app.core.audit import service as audit
from app.core.auth.models import ApiKey, AuthSession, StaffUser
from app.core.auth.passwords import hash_password, hash_secret, new_secret
from app.core.auth.service import revoke_user_sessions
from app.core.context import Principal, RequestContext
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.http import decode_cursor, encode_cursor
from app.core.maker_checker import MAX_LINKS, answerable_caller
from app.core.permissions import ROLE_RANK, ROLES, highest_role, scopes_for_role
from app.core.revocation import session_key
from app.core.services import CoreServices
from app.core.tenants.service import find_branch
from app.db import is_unique_violation, utcnow

API_KEY_PREFIX = "bdk"
_PREFIX_CHARS = 12  # "bdk_" and 8 characters of the secret: enough to tell keys apart


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: datetime | None) -> str | None: ...
def iso(value: datetime | None) -> str | None:
    """A time as its ISO text in UTC (``…Z``), to the microsecond the row keeps."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def _not_found() -> ApiError:
    return ApiError("RESOURCE_NOT_FOUND", "No such resource.")


def _parse_id(raw: str) -> uuid.UUID:
    """A path ID; one that is not a UUID names nothing, so it is a 404 like a missing one."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise _not_found() from None


# -- pages ------------------------------------------------------------------------------


def _keyset(model: type[StaffUser] | type[ApiKey], cursor: str | None) -> sa.ColumnElement[bool]:
    """Rows after the cursor in (created_at, id) descending order."""
    values = decode_cursor(cursor, 2)
    if values is None:
        return sa.true()
    try:
        at = datetime.fromisoformat(str(values[0]).replace("Z", "+00:00"))
        row_id = uuid.UUID(str(values[1]))
        if at.tzinfo is None:
            raise ValueError("naive")
    except ValueError:
        raise ApiError(
            "INVALID_FORMAT",
            "The cursor is not one this API issued.",
            [detail("cursor", DetailCode.INVALID_FORMAT, "malformed")],
        ) from None
    created_at = col(model.created_at)
    return sa.or_(created_at < at, sa.and_(created_at == at, col(model.id) < row_id))


def _cursor_of(row: StaffUser | ApiKey) -> str:
    return encode_cursor([iso(row.created_at), str(row.id)])


# -- users ------------------------------------------------------------------------------


def user_body(user: StaffUser) -> answers.StaffUser:
    """A staff user as the API shows it (never the password hash)."""
    return answers.StaffUser(
        id=str(user.id),
        email=user.email,
        name=user.name,
        roles=list(user.roles),
        branch_id=user.branch_code,
        is_active=user.is_active,
        locked_until=iso(user.locked_until),
        failed_login_count=user.failed_login_count,
        last_login_at=iso(user.last_login_at),
        created_at=iso(user.created_at),
    )


def _user_state(user: StaffUser) -> dict[str, Any]:
    """What an update can change, for the audit record's before/after."""
    return {
        "name": user.name,
        "roles": list(user.roles),
        "branch_id": user.branch_code,
        "is_active": user.is_active,
    }


async def _branch_code(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> str:
    branch = await find_branch(session, tenant_id, code)
    if branch is None:
        raise ApiError(
            "VALIDATION_ERROR",
            f"There is no branch with code {code}.",
            [detail("branch_id", DetailCode.UNKNOWN_BRANCH, "no such branch", code)],
        )
    return branch.code


def _duplicate_email(email: str) -> ApiError:
    return ApiError(
        "DUPLICATE_RESOURCE",
        "A staff user with this email already exists.",
        [detail("email", DetailCode.DUPLICATE, "already exists", email)],
    )


async def list_users(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None,
    q: str | None = None,
    role: str | None = None,
    branch_id: str | None = None,
    active: bool | None = None,
) -> tuple[list[StaffUser], bool, str | None]:
    """One page of the tenant's staff, newest first, and the cursor of the next."""
    conditions: list[sa.ColumnElement[bool]] = [
        col(StaffUser.tenant_id) == tenant_id,
        _keyset(StaffUser, cursor),
    ]
    if q:
        pattern = f"%{_escape_like(q.strip().lower())}%"
        conditions.append(
            sa.or_(
                sa.func.lower(col(StaffUser.email)).like(pattern, escape="\\"),
                sa.func.lower(col(StaffUser.name)).like(pattern, escape="\\"),
            )
        )
    if role:  # empty: no filter
        if role not in ROLES:
            raise ApiError(
                "VALIDATION_ERROR",
                f"role must be one of {', '.join(ROLES)}.",
                [detail("role", DetailCode.INVALID_CHOICE, f"one of {', '.join(ROLES)}", role)],
            )
        # roles is a JSON list on both databases; its text holds each role quoted.
        conditions.append(sa.cast(col(StaffUser.roles), sa.String).like(f'%"{role}"%'))
    if branch_id is not None:
        conditions.append(sa.func.lower(col(StaffUser.branch_code)) == branch_id.lower())
    if active is not None:
        conditions.append(col(StaffUser.is_active) == active)
    rows = (
        (
            await session.execute(
                sa.select(StaffUser)
                .where(*conditions)
                .order_by(col(StaffUser.created_at).desc(), col(StaffUser.id).desc())
                .limit(limit + 1)
            )
        )
        .scalars()
        .all()
    )
    users = list(rows[:limit])
    has_more = len(rows) > limit
    return users, has_more, _cursor_of(users[-1]) if has_more else None


async def users_summary(session: AsyncSession, tenant_id: uuid.UUID) -> answers.StaffSummary:
    """The tenant's staff by state, in one statement (``locked``: a lock still running,
    whether or not the user is active; it overlaps the other two)."""
    active = col(StaffUser.is_active).is_(True)
    locked = col(StaffUser.locked_until) > utcnow()
    row = (
        await session.execute(
            sa.select(
                sa.func.count(),
                sa.func.count().filter(active),
                sa.func.count().filter(locked),
            ).where(col(StaffUser.tenant_id) == tenant_id)
        )
    ).one()
    total, active_count, locked_count = (int(v or 0) for v in row)
    return answers.StaffSummary(
        active=active_count, inactive=total - active_count, locked=locked_count, total=total
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def get_user(session: AsyncSession, tenant_id: uuid.UUID, raw_id: str) -> StaffUser:
    """The tenant's user; another tenant's ID is a 404 exactly like a missing one."""
    user = await session.get(StaffUser, _parse_id(raw_id))
    if user is None or user.tenant_id != tenant_id:
        raise _not_found()
    return user


async def create_user(
    session: AsyncSession, ctx: RequestContext, tenant_id: uuid.UUID, data: UserCreate
) -> StaffUser:
    """A new staff member at one of the tenant's branches, audited as ``user.created``."""
    branch_code = await _branch_code(session, tenant_id, data.branch_id)
    taken = await session.execute(
        sa.select(col(StaffUser.id)).where(
            col(StaffUser.tenant_id) == tenant_id,
            sa.func.lower(col(StaffUser.email)) == data.email,
        )
    )
    if taken.first() is not None:
        raise _duplicate_email(data.email)
    password_hash = await asyncio.to_thread(hash_password, data.password)
    user = StaffUser(
        tenant_id=tenant_id,
        email=data.email,
        name=data.name,
        password_hash=password_hash,
        roles=list(data.roles),
        branch_code=branch_code,
    )
    session.add(user)
    try:
        await session.flush()
    except sa.exc.IntegrityError as exc:  # a concurrent create won the race
        if is_unique_violation(exc):
            raise _duplicate_email(data.email) from exc
        raise
    audit.record(
        session,
        ctx,
        "user.created",
        entity_type="staff_user",
        entity_id=user.id,
        after={"email": user.email, **_user_state(user)},
    )
    return user


async def update_user(
    services: CoreServices,
    session: AsyncSession,
    ctx: RequestContext,
    principal: Principal,
    tenant_id: uuid.UUID,
    raw_id: str,
    data: UserUpdate,
) -> StaffUser:
    """Change name, roles, branch or active flag.

    The caller's token carries roles and branch, so a change to either (or a
    deactivation) revokes the user's sessions: the new rights apply at once.
    """
    # The order of api.md: the body (its branch) before existence, existence before rules.
    branch_code = (
        await _branch_code(session, tenant_id, data.branch_id)
        if isinstance(data.branch_id, str)
        else None
    )
    user = await get_user(session, tenant_id, raw_id)
    is_self = user.id == principal.user_id
    if is_self and data.is_active is False:
        raise ApiError(
            "INVALID_STATE",
            "You cannot deactivate your own account; ask another admin.",
            [detail("is_active", DetailCode.SELF_DEACTIVATION, "cannot deactivate yourself")],
        )
    if is_self and isinstance(data.roles, list) and "admin" not in data.roles:
        raise ApiError(
            "INVALID_STATE",
            "You cannot remove the admin role from yourself; ask another admin.",
            [detail("roles", DetailCode.SELF_DEMOTION, "cannot demote yourself")],
        )
    before = _user_state(user)
    if isinstance(data.name, str):
        user.name = data.name
    if isinstance(data.roles, list):
        user.roles = list(data.roles)
    if branch_code is not None:
        user.branch_code = branch_code
    if not isinstance(data.is_active, msgspec.UnsetType):
        user.is_active = data.is_active
    after = _user_state(user)
    if after == before:
        return user
    session.add(user)
    audit.record(
        session,
        ctx,
        "user.updated",
        entity_type="staff_user",
        entity_id=user.id,
        before=before,
        after=after,
    )
    await revoke_keys_of_lost_rights(services, session, ctx, user, before)
    if not user.is_active and before["is_active"]:
        reason = "deactivated"
    elif after["roles"] != before["roles"] or after["branch_id"] != before["branch_id"]:
        reason = "rights_changed"
    else:
        return user
    revoked = await revoke_user_sessions(services, session, user.id, reason)
    audit.record(
        session,
        ctx,
        "user.sessions_revoked",
        entity_type="staff_user",
        entity_id=user.id,
        after={"revoked": revoked, "reason": reason},
    )
    return user


async def unlock_user(
    session: AsyncSession, ctx: RequestContext, tenant_id: uuid.UUID, raw_id: str
) -> StaffUser:
    """Clear the failed-login count and lock, audited as ``user.unlocked``."""
    user = await get_user(session, tenant_id, raw_id)
    before = {
        "failed_login_count": user.failed_login_count,
        "locked_until": iso(user.locked_until),
    }
    user.failed_login_count = 0
    user.first_failed_at = None
    user.locked_until = None
    session.add(user)
    audit.record(
        session,
        ctx,
        "user.unlocked",
        entity_type="staff_user",
        entity_id=user.id,
        before=before,
        after={"failed_login_count": 0, "locked_until": None},
    )
    return user


async def revoke_sessions(
    services: CoreServices,
    session: AsyncSession,
    ctx: RequestContext,
    tenant_id: uuid.UUID,
    raw_id: str,
) -> int:
    """Sign the user out everywhere; audited as ``user.sessions_revoked``."""
    user = await get_user(session, tenant_id, raw_id)
    revoked = await revoke_user_sessions(services, session, user.id, "admin_revoked")
    audit.record(
        session,
        ctx,
        "user.sessions_revoked",
        entity_type="staff_user",
        entity_id=user.id,
        after={"revoked": revoked, "reason": "admin_revoked"},
    )
    return revoked


# -- API keys ---------------------------------------------------------------------------


def api_key_body(key: ApiKey, secret: str | None = None) -> answers.ApiKey:
    """An API key as the API shows it: never its hash; the secret only at creation."""
    return answers.ApiKey(
        id=str(key.id),
        name=key.name,
        role=key.role,
        scopes=list(key.scopes),
        prefix=key.prefix,
        branch_id=key.branch_code,
        created_by=str(key.created_by) if key.created_by else None,
        created_at=iso(key.created_at),
        revoked_at=iso(key.revoked_at),
        api_key=secret if secret is not None else msgspec.UNSET,
    )


async def list_api_keys(
    session: AsyncSession, tenant_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[ApiKey], bool, str | None]:
    """One page of the tenant's API keys (revoked ones too), newest first."""
    rows = (
        (
            await session.execute(
                sa.select(ApiKey)
                .where(col(ApiKey.tenant_id) == tenant_id, _keyset(ApiKey, cursor))
                .order_by(col(ApiKey.created_at).desc(), col(ApiKey.id).desc())
                .limit(limit + 1)
            )
        )
        .scalars()
        .all()
    )
    keys = list(rows[:limit])
    has_more = len(rows) > limit
    return keys, has_more, _cursor_of(keys[-1]) if has_more else None


async def create_api_key(
    session: AsyncSession,
    ctx: RequestContext,
    principal: Principal,
    tenant_id: uuid.UUID,
    data: ApiKeyCreate,
) -> tuple[ApiKey, str]:
    """A key for a machine client, at the creating admin's branch; returns it and its secret."""
    secret = new_secret(API_KEY_PREFIX)
    key = ApiKey(
        tenant_id=tenant_id,
        name=data.name,
        role=data.role,
        scopes=(
            scopes_for_role(data.role)
            if isinstance(data.scopes, msgspec.UnsetType)
            else data.scopes
        ),
        prefix=secret[:_PREFIX_CHARS],
        key_hash=hash_secret(secret),
        branch_code=principal.branch_code,
        # The person who answers for the key: a key minted by a key is its owner's.
        created_by=await answerable_caller(session, principal),
    )
    session.add(key)
    await session.flush()
    audit.record(
        session,
        ctx,
        "api_key.created",
        entity_type="api_key",
        entity_id=key.id,
        after={
            "name": key.name,
            "role": key.role,
            "scopes": list(key.scopes),
            "prefix": key.prefix,
            "branch_id": key.branch_code,
        },
    )
    return key, secret


async def revoke_api_key(
    services: CoreServices,
    session: AsyncSession,
    ctx: RequestContext,
    tenant_id: uuid.UUID,
    raw_id: str,
) -> None:
    """Revoke the key and its tokens (they carry the key's ID as their session ID)."""
    key = await session.get(ApiKey, _parse_id(raw_id))
    if key is None or key.tenant_id != tenant_id:
        raise _not_found()
    if key.revoked_at is not None:
        return  # already revoked: deleting again changes nothing
    await _revoke_key(services, session, ctx, key)


async def _revoke_key(
    services: CoreServices,
    session: AsyncSession,
    ctx: RequestContext,
    key: ApiKey,
    reason: str | None = None,
) -> None:
    """Mark the key revoked and refuse its tokens at once (the revocation store)."""
    now = utcnow()
    key.revoked_at = now
    session.add(key)
    auth_session = await session.get(AuthSession, key.id)
    if auth_session is not None and auth_session.revoked_at is None:
        auth_session.revoked_at = now
        auth_session.revoked_reason = "api_key_revoked"
        session.add(auth_session)
    await services.revocations.revoke(
        session_key(key.id), services.settings.auth.access_ttl_seconds + 60, session
    )
    after: dict[str, Any] = {"revoked_at": iso(now)}
    if reason is not None:
        after["reason"] = reason
    audit.record(
        session,
        ctx,
        "api_key.revoked",
        entity_type="api_key",
        entity_id=key.id,
        before={"revoked_at": None},
        after=after,
    )


def _lost_rights(before: dict[str, Any], user: StaffUser) -> str | None:
    """Why a change takes the user's keys away: deactivated, or their highest role
    lowered (only admins make keys, so a demoted maker no longer may)."""
    if before["is_active"] and not user.is_active:
        return "owner_deactivated"
    was, now = highest_role(before["roles"]), highest_role(user.roles)
    if ROLE_RANK.get(now, -1) < ROLE_RANK.get(was, -1):
        return "owner_demoted"
    return None


async def revoke_keys_of_lost_rights(
    services: CoreServices,
    session: AsyncSession,
    ctx: RequestContext,
    user: StaffUser,
    before: dict[str, Any],
) -> int:
    """Revoke every live key the user made (and keys those keys made) when the user is
    deactivated or demoted: nobody would answer for them otherwise. Each is audited."""
    reason = _lost_rights(before, user)
    if reason is None:
        return 0
    makers = {user.id}
    revoked = 0
    for _ in range(MAX_LINKS):
        keys = (
            (
                await session.execute(
                    sa.select(ApiKey)
                    .where(
                        col(ApiKey.tenant_id) == user.tenant_id,
                        col(ApiKey.created_by).in_(makers),
                        col(ApiKey.revoked_at).is_(None),
                    )
                    .order_by(col(ApiKey.id))
                    .with_for_update()
                )
            )
            .scalars()
            .all()
        )
        if not keys:
            break
        for key in keys:
            await _revoke_key(services, session, ctx, key, reason)
        revoked += len(keys)
        makers = {key.id for key in keys}
    return revoked
