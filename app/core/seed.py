"""The sandbox of `sandbox.md`: two tenants, their branches and staff. Idempotent."""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.auth.models import StaffUser
from app.core.auth.passwords import hash_password
from app.core.tenants.models import Branch, Tenant
from app.db import Database
from app.settings import Settings


@dataclass(frozen=True)
class SandboxTenant:
    code: str
    name: str
    branches: tuple[tuple[str, str], ...]
    teller_approval_limit: int  # minor units


@dataclass(frozen=True)
class SandboxUser:
    email: str
    tenant: str
    role: str
    branch: str
    name: str


TENANTS = (
    SandboxTenant(
        "demo_bank", "Demo Bank", (("001", "Head Office"), ("002", "Ikeja")), 1_000_000_00
    ),
    SandboxTenant("fmfb", "First Mutual Finance Bank", (("001", "Head Office"),), 500_000_00),
)

USERS = (
    SandboxUser("viewer@demo.bank", "demo_bank", "viewer", "001", "Vera Viewer"),
    SandboxUser("teller@demo.bank", "demo_bank", "teller", "001", "Tunde Teller"),
    SandboxUser("teller2@demo.bank", "demo_bank", "teller", "002", "Titi Teller"),
    SandboxUser("officer@demo.bank", "demo_bank", "officer", "001", "Ola Officer"),
    SandboxUser("manager@demo.bank", "demo_bank", "manager", "001", "Musa Manager"),
    SandboxUser("manager2@demo.bank", "demo_bank", "manager", "002", "Mariam Manager"),
    SandboxUser("admin@demo.bank", "demo_bank", "admin", "001", "Ada Admin"),
    SandboxUser("teller@fmfb.bank", "fmfb", "teller", "001", "Femi Teller"),
    SandboxUser("admin@fmfb.bank", "fmfb", "admin", "001", "Funke Admin"),
)


class SeedRefused(RuntimeError):
    pass


async def seed_demo(db: Database, settings: Settings) -> dict[str, int]:
    """Create what is missing of the sandbox; never touches what exists."""
    if settings.server.production:
        raise SeedRefused("The sandbox is never seeded in production mode.")
    created = {"tenants": 0, "branches": 0, "users": 0}
    password_hash = hash_password(settings.sandbox_password)
    async with db.writer(), db.session() as session:
        for spec in TENANTS:
            tenant = await _tenant(session, spec, created)
            for code, name in spec.branches:
                await _branch(session, tenant, code, name, created)
            await session.flush()
            for user in (u for u in USERS if u.tenant == spec.code):
                await _user(session, tenant, user, password_hash, created)
        await session.commit()
    return created


async def _tenant(session: AsyncSession, spec: SandboxTenant, created: dict[str, int]) -> Tenant:
    tenant = (
        await session.execute(sa.select(Tenant).where(Tenant.code == spec.code))  # type: ignore[arg-type]
    ).scalar_one_or_none()
    if tenant is None:
        tenant = Tenant(
            code=spec.code,
            name=spec.name,
            base_currency="NGN",
            timezone="Africa/Lagos",
            teller_approval_limit=spec.teller_approval_limit,
        )
        session.add(tenant)
        await session.flush()
        created["tenants"] += 1
    return tenant


async def _branch(
    session: AsyncSession, tenant: Tenant, code: str, name: str, created: dict[str, int]
) -> None:
    exists = (
        await session.execute(
            sa.select(col(Branch.id)).where(
                col(Branch.tenant_id) == tenant.id, col(Branch.code) == code
            )
        )
    ).first()
    if exists is None:
        session.add(Branch(tenant_id=tenant.id, code=code, name=name))
        created["branches"] += 1


async def _user(
    session: AsyncSession,
    tenant: Tenant,
    spec: SandboxUser,
    password_hash: str,
    created: dict[str, int],
) -> None:
    exists = (
        await session.execute(
            sa.select(col(StaffUser.id)).where(
                col(StaffUser.tenant_id) == tenant.id,
                col(StaffUser.email) == spec.email,
            )
        )
    ).first()
    if exists is None:
        session.add(
            StaffUser(
                tenant_id=tenant.id,
                email=spec.email,
                name=spec.name,
                password_hash=password_hash,
                roles=[spec.role],
                branch_code=spec.branch,
            )
        )
        created["users"] += 1
