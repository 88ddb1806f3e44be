"""What a production core checks before it takes its first request (security review, issue 10).

The sandbox's staff and their password are public (the docs, ``branchdesk run``'s banner).
A production database seeded once for a demonstration, or copied from a laptop, would let
anyone sign in as its admin. So the core does not start while an active sandbox account
still signs in with the sandbox password.

Argon2 is slow on purpose, so the check stays small: only the sandbox's own accounts (by
tenant and email, nine at most), each distinct hash verified once (the seed gives every
account the same hash), against the default password and the configured one.
"""

from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.auth.models import StaffUser
from app.core.auth.passwords import verify_password
from app.core.seed import USERS
from app.core.tenants.models import Tenant
from app.db import Database
from app.settings import ImproperlyConfigured, Settings

# The password the docs print for the sandbox: ``SANDBOX_PASSWORD``'s default.
DEFAULT_SANDBOX_PASSWORD = str(Settings.__dataclass_fields__["sandbox_password"].default)


def _known_passwords(settings: Settings) -> list[str]:
    return list(dict.fromkeys([DEFAULT_SANDBOX_PASSWORD, settings.sandbox_password]))


async def _any_verifies(password_hash: str, passwords: Iterable[str]) -> bool:
    for password in passwords:
        if await verify_password(password_hash, password):
            return True
    return False


async def sandbox_staff_on_known_passwords(
    session: AsyncSession, settings: Settings
) -> list[tuple[str, str]]:
    """``(email, tenant code)`` of each active sandbox account on a known password."""
    sandbox = {(user.tenant, user.email.lower()) for user in USERS}
    rows = (
        await session.execute(
            sa.select(col(StaffUser.email), col(Tenant.code), col(StaffUser.password_hash))
            .join(Tenant, col(Tenant.id) == col(StaffUser.tenant_id))
            .where(
                col(Tenant.code).in_({tenant for tenant, _ in sandbox}),
                sa.func.lower(col(StaffUser.email)).in_({email for _, email in sandbox}),
                col(StaffUser.is_active).is_(True),
            )
            .order_by(col(Tenant.code), col(StaffUser.email))
        )
    ).all()
    passwords = _known_passwords(settings)
    verdicts: dict[str, bool] = {}
    found: list[tuple[str, str]] = []
    for email, tenant, password_hash in rows:
        if (tenant, email.lower()) not in sandbox:
            continue
        if password_hash not in verdicts:
            verdicts[password_hash] = await _any_verifies(password_hash, passwords)
        if verdicts[password_hash]:
            found.append((email, tenant))
    return found


async def refuse_sandbox_passwords(db: Database, settings: Settings) -> None:
    """Raise :class:`ImproperlyConfigured` while sandbox staff sign in with its password."""
    async with db.session() as session:
        found = await sandbox_staff_on_known_passwords(session, settings)
    if not found:
        return
    accounts = ", ".join(f"{email} ({tenant})" for email, tenant in found)
    raise ImproperlyConfigured(
        "BRANCHDESK_PRODUCTION is on, but sandbox staff still sign in with the public "
        f"sandbox password: {accounts}. Deactivate them (the console's Staff page, or PATCH "
        "/api/v1/cba/users/{id} with is_active false, from a start without "
        "BRANCHDESK_PRODUCTION), or set DATABASE_URL to a database that was never seeded."
    )
