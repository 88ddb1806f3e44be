"""The sandbox of `sandbox.md`: two tenants, their branches and staff. Idempotent."""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.auth.models import StaffUser
from app.core.auth.passwords import hash_password
from app.core.tenants.models import Branch, Tenant
from app.db import Database, new_id
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
    created = {"tenants": 0, "branches": 0, "users": 0, "customers": 0, "webhooks": 0}
    password_hash = hash_password(settings.sandbox_password)
    async with db.writer(), db.session() as session:
        for spec in TENANTS:
            tenant = await _tenant(session, spec, created)
            for code, name in spec.branches:
                await _branch(session, tenant, code, name, created)
            await session.flush()
            for user in (u for u in USERS if u.tenant == spec.code):
                await _user(session, tenant, user, password_hash, created)
            await _ledger(session, tenant, spec)
            await session.flush()
            await _customers(session, tenant, created)
            await _console_webhook(session, tenant, settings, created)
        await session.commit()
    return created


async def _ledger(session: AsyncSession, tenant: Tenant, spec: SandboxTenant) -> None:
    """The chart, each branch's cash and clearing leaves, and this year's open periods."""
    from datetime import date

    from app.core.ledger.chart import ensure_branch_accounts, ensure_chart
    from app.core.periods.models import FiscalPeriod
    from app.core.periods.service import month_periods
    from app.core.tenants.service import business_date

    await ensure_chart(session, tenant.id, tenant.base_currency)
    for code, name in spec.branches:
        await ensure_branch_accounts(session, tenant.id, code, name, tenant.base_currency)
    year = business_date(tenant).year
    have = set(
        (
            await session.execute(
                sa.select(col(FiscalPeriod.period_number)).where(
                    col(FiscalPeriod.tenant_id) == tenant.id, col(FiscalPeriod.fiscal_year) == year
                )
            )
        )
        .scalars()
        .all()
    )
    for number, name, start, end in month_periods(year):
        if number not in have:
            session.add(
                FiscalPeriod(
                    tenant_id=tenant.id,
                    fiscal_year=year,
                    period_number=number,
                    period_name=name,
                    start_date=start,
                    end_date=end,
                )
            )
    del date


SANDBOX_CUSTOMERS = (
    # (first, last | company, phone, branch, product, currency, opening deposit in minor units)
    ("Adaeze", "Okafor", "+2348030000001", "001", "SAV001", "NGN", 250_000_00),
    ("Bola", "Adeyemi", "+2348030000002", "001", "CUR001", "NGN", 450_000_00),
    ("Chinedu", "Eze", "+2348030000003", "002", "SAV001", "NGN", 75_000_00),
    ("Damilola", "Bakare", "+2348030000004", "002", "CUR001", "NGN", 480_000_00),
    ("Lagos Foods Ltd", None, "+2348030000005", "001", "CRP001", "NGN", 400_000_00),
    ("Emeka", "Nwosu", "+2348030000006", "001", "DOM001", "USD", 5_000_00),
)


async def _customers(session: AsyncSession, tenant: Tenant, created: dict[str, int]) -> None:
    """A few customers with funded accounts in each branch and currency (once)."""
    from app.core.accounts.models import Account
    from app.core.accounts.service import product_of
    from app.core.auth.models import StaffUser
    from app.core.context import Principal, RequestContext, TenantRef
    from app.core.customers.models import Customer
    from app.core.ledger.numbers import next_account_number, next_customer_number
    from app.core.permissions import scopes_for_role
    from app.core.transactions.service import DEPOSIT, Movement, TransactionService

    if (
        await session.execute(
            sa.select(sa.func.count())
            .select_from(Customer)
            .where(col(Customer.tenant_id) == tenant.id)
        )
    ).scalar_one():
        return
    branches = {
        b
        for b in (
            await session.execute(
                sa.select(col(Branch.code)).where(col(Branch.tenant_id) == tenant.id)
            )
        )
        .scalars()
        .all()
    }
    tellers = {
        u.branch_code: u
        for u in (
            await session.execute(sa.select(StaffUser).where(col(StaffUser.tenant_id) == tenant.id))
        )
        .scalars()
        .all()
        if "teller" in u.roles
    }
    for first, last, phone, branch, product_code, currency, opening in SANDBOX_CUSTOMERS:
        if branch not in branches:
            branch = "001"
        corporate = last is None
        name = first if corporate else f"{first} {last}"
        customer = Customer(
            tenant_id=tenant.id,
            customer_number=await next_customer_number(session, tenant.id),
            customer_type="CORPORATE" if corporate else "INDIVIDUAL",
            first_name=None if corporate else first,
            last_name=last,
            company_name=first if corporate else None,
            display_name=name,
            search_name=name.lower(),
            phone=phone,
            email=f"{first.split()[0].lower()}@example.{tenant.code}.test",
            branch_code=branch,
        )
        session.add(customer)
        await session.flush()
        product = await product_of(session, tenant.id, product_code)
        assert product is not None
        account = Account(
            tenant_id=tenant.id,
            account_number=await next_account_number(session, tenant.id),
            customer_id=customer.id,
            product_code=product.code,
            account_type=product.account_type,
            currency=currency,
            branch_code=branch,
            status="ACTIVE",
            control_gl_account_id=product.control_gl_account_id,
            daily_withdrawal_limit=product.daily_withdrawal_limit,
        )
        session.add(account)
        await session.flush()
        teller = tellers.get(branch) or next(iter(tellers.values()))
        ctx = RequestContext(request_id="sandbox-seed", client_ip="127.0.0.1")
        ctx.tenant = TenantRef(tenant.id, tenant.code, tenant.name, True, tenant.timezone)
        ctx.principal = Principal(
            user_id=teller.id,
            tenant_id=tenant.id,
            email=teller.email,
            name=teller.name,
            roles=tuple(teller.roles),
            scopes=frozenset(scopes_for_role("teller")),
            branch_code=teller.branch_code,
            session_id=teller.id,
            token_id="seed",
            expires_at=0,
        )
        service = TransactionService(session, ctx)
        await service.execute(
            Movement(DEPOSIT, opening, currency, account.id, None, "Opening deposit", name)
        )
        created["customers"] = created.get("customers", 0) + 1


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
            # The sandbox signs in with the password alone (sandbox.md, issue 14).
            mfa_required_role="none",
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


CONSOLE_WEBHOOK_NAME = "Console live updates"


async def _console_webhook(
    session: AsyncSession, tenant: Tenant, settings: Settings, created: dict[str, int]
) -> None:
    """The subscription that feeds the console's receiver: every event type, signed with
    the secret the receiver verifies with (``CONSOLE_WEBHOOK_URL``,
    ``CONSOLE_WEBHOOK_SECRET``). Created once; an admin's later changes are kept."""
    from app.core.webhooks.events import EVENT_TYPES
    from app.core.webhooks.models import WebhookSubscription
    from app.core.webhooks.sealing import seal_secret

    exists = (
        await session.execute(
            sa.select(col(WebhookSubscription.id)).where(
                col(WebhookSubscription.tenant_id) == tenant.id,
                col(WebhookSubscription.name) == CONSOLE_WEBHOOK_NAME,
                col(WebhookSubscription.deleted_at).is_(None),
            )
        )
    ).first()
    if exists is not None:
        return
    subscription_id = new_id()
    session.add(
        WebhookSubscription(
            id=subscription_id,
            tenant_id=tenant.id,
            name=CONSOLE_WEBHOOK_NAME,
            # On the allow-list by default: the console's receiver is the deployment's own.
            url=settings.webhooks.console_url,
            secret=seal_secret(
                settings.console.webhook_secret, settings.webhooks.secrets_key, subscription_id
            ),
            events=list(EVENT_TYPES),
        )
    )
    created["webhooks"] += 1
