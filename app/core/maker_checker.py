"""Maker ≠ checker, decided on the person who answers for each side.

A staff user answers for themselves; an API key for nothing on its own: its work and
its checks are its creator's (``api_keys.created_by``). So an admin cannot mint a key
and approve their own journal with it, and a key's journal cannot be approved by its
creator nor by another key of the same creator. A key whose creator is unknown (made
by a seed or a system) may make, but never check: nobody would answer for the check.
"""

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.auth.models import ApiKey
from app.core.context import Principal
from app.core.errors import ApiError
from app.core.tenants.models import Tenant

# Keys made by keys (before a key's creator was always a person): follow them up.
MAX_LINKS = 4


async def answerable_for(session: AsyncSession, actor_id: uuid.UUID) -> uuid.UUID | None:
    """The staff user behind an actor ID: itself, or an API key's creator (``None``:
    nobody known)."""
    current = actor_id
    for _ in range(MAX_LINKS):
        key = await session.get(ApiKey, current)
        if key is None:
            return current
        if key.created_by is None:
            return None
        current = key.created_by
    return None


async def answerable_caller(session: AsyncSession, principal: Principal) -> uuid.UUID | None:
    """Who answers for what this caller does. A key's token names its owner; a token
    from before that claim (or naming none) is resolved from the key itself."""
    if not principal.is_api_key:
        return principal.user_id
    return await answerable_for(session, principal.owner_id or principal.user_id)


def same_person_may_check(tenant: Tenant, *, production: bool) -> bool:
    """The sandbox's convenience setting; never honoured in production mode, even when a
    database carried over from a sandbox still has it on."""
    return tenant.allow_same_maker_checker and not production


async def check_not_maker(
    session: AsyncSession,
    principal: Principal,
    made_by: uuid.UUID,
    *,
    same_person_allowed: bool,
    refusal: str,
) -> None:
    """``SELF_APPROVAL_FORBIDDEN`` when the caller answers to the same person as the maker
    (``refusal`` says so), or when nobody answers for the caller at all."""
    checker = await answerable_caller(session, principal)
    if checker is None:
        raise ApiError(
            "SELF_APPROVAL_FORBIDDEN",
            "This API key has no known owner: it may make, but a person must check.",
        )
    if same_person_allowed:
        return
    if await answerable_for(session, made_by) == checker:
        raise ApiError("SELF_APPROVAL_FORBIDDEN", refusal)
