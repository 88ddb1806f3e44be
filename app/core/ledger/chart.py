"""The chart of accounts of `ledger.md`, created per tenant and per branch."""

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.models import Product
from app.core.ledger.models import GLAccount


@dataclass(frozen=True)
class ChartEntry:
    code: str
    name: str
    category: str
    parent: str | None
    is_header: bool = False
    manual: bool = True
    role: str = "general"


CHART: tuple[ChartEntry, ...] = (
    ChartEntry("1000", "Assets", "ASSET", None, is_header=True),
    ChartEntry("1100", "Cash and vaults", "ASSET", "1000", is_header=True),
    ChartEntry("1300", "Inter-branch clearing", "ASSET", "1000", is_header=True),
    ChartEntry("1400", "Receivables", "ASSET", "1000"),
    ChartEntry("2000", "Liabilities", "LIABILITY", None, is_header=True),
    ChartEntry("2100", "Customer deposits", "LIABILITY", "2000", is_header=True),
    ChartEntry("2101", "Savings", "LIABILITY", "2100", manual=False, role="control"),
    ChartEntry("2102", "Current", "LIABILITY", "2100", manual=False, role="control"),
    ChartEntry("2103", "Fixed deposits", "LIABILITY", "2100", manual=False, role="control"),
    ChartEntry("2104", "Domiciliary", "LIABILITY", "2100", manual=False, role="control"),
    ChartEntry("2105", "Corporate", "LIABILITY", "2100", manual=False, role="control"),
    ChartEntry("2200", "Payables", "LIABILITY", "2000"),
    ChartEntry("3000", "Equity", "EQUITY", None, is_header=True),
    ChartEntry("3100", "Share capital", "EQUITY", "3000"),
    ChartEntry("3200", "Retained earnings", "EQUITY", "3000", role="retained_earnings"),
    ChartEntry("3300", "Reserves", "EQUITY", "3000"),
    ChartEntry("4000", "Revenue", "REVENUE", None, is_header=True),
    ChartEntry("4100", "Interest income", "REVENUE", "4000"),
    ChartEntry("4200", "Fee income", "REVENUE", "4000"),
    ChartEntry("4300", "Cash overage", "REVENUE", "4000"),
    ChartEntry("5000", "Expenses", "EXPENSE", None, is_header=True),
    ChartEntry("5100", "Interest expense", "EXPENSE", "5000"),
    ChartEntry("5200", "Operating expense", "EXPENSE", "5000"),
    ChartEntry("5300", "Cash shortage", "EXPENSE", "5000"),
)

# Products and the control leaf that carries their accounts.
PRODUCTS: tuple[tuple[str, str, str, str, tuple[str, ...], int | None], ...] = (
    ("SAV001", "Savings", "SAVINGS", "2101", ("NGN",), 2_000_000_00),
    ("CUR001", "Current", "CURRENT", "2102", ("NGN",), None),
    ("FXD001", "Fixed deposit", "FIXED_DEPOSIT", "2103", ("NGN",), None),
    ("DOM001", "Domiciliary", "DOMICILIARY", "2104", ("USD", "EUR", "GBP"), None),
    ("CRP001", "Corporate", "CORPORATE", "2105", ("NGN",), None),
)

DEBIT_NORMAL = {"ASSET", "EXPENSE"}


def teller_cash_code(branch_code: str) -> str:
    return f"1101-{branch_code}"


def clearing_code(branch_code: str) -> str:
    return f"1301-{branch_code}"


async def _by_code(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, GLAccount]:
    rows = await session.execute(sa.select(GLAccount).where(col(GLAccount.tenant_id) == tenant_id))
    return {a.code: a for a in rows.scalars().all()}


async def ensure_chart(session: AsyncSession, tenant_id: uuid.UUID, currency: str) -> None:
    """Create whatever part of the standard chart and products the tenant lacks."""
    existing = await _by_code(session, tenant_id)
    for entry in CHART:
        if entry.code in existing:
            continue
        parent = existing.get(entry.parent) if entry.parent else None
        account = GLAccount(
            tenant_id=tenant_id,
            code=entry.code,
            name=entry.name,
            category=entry.category,
            parent_id=parent.id if parent else None,
            is_header=entry.is_header,
            allow_manual_entries=entry.manual and not entry.is_header,
            currency_code=currency,
            role=entry.role,
        )
        session.add(account)
        existing[entry.code] = account
    await session.flush()
    products = await session.execute(
        sa.select(col(Product.code)).where(col(Product.tenant_id) == tenant_id)
    )
    have = set(products.scalars().all())
    for code, name, account_type, control, currencies, daily_limit in PRODUCTS:
        if code not in have:
            session.add(
                Product(
                    tenant_id=tenant_id,
                    code=code,
                    name=name,
                    account_type=account_type,
                    control_gl_account_id=existing[control].id,
                    currencies=list(currencies),
                    daily_withdrawal_limit=daily_limit,
                )
            )
    await session.flush()


async def ensure_branch_accounts(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    branch_code: str,
    branch_name: str,
    currency: str,
) -> None:
    """Each branch gets its teller-cash and inter-branch clearing leaves."""
    existing = await _by_code(session, tenant_id)
    for code, parent_code, name, role in (
        (teller_cash_code(branch_code), "1100", f"Teller cash — {branch_name}", "teller_cash"),
        (clearing_code(branch_code), "1300", f"Inter-branch clearing — {branch_name}", "clearing"),
    ):
        if code in existing:
            continue
        parent = existing[parent_code]
        session.add(
            GLAccount(
                tenant_id=tenant_id,
                code=code,
                name=name,
                category="ASSET",
                parent_id=parent.id,
                is_header=False,
                allow_manual_entries=False,
                currency_code=currency,
                role=role,
                branch_code=branch_code,
            )
        )
    await session.flush()


async def system_account(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> GLAccount:
    account = (
        await session.execute(
            sa.select(GLAccount).where(
                col(GLAccount.tenant_id) == tenant_id, col(GLAccount.code) == code
            )
        )
    ).scalar_one_or_none()
    if account is None:
        from app.core.errors import ApiError

        raise ApiError("GL_ACCOUNT_NOT_FOUND", f"GL account {code} is missing from the chart.")
    result: GLAccount = account
    return result


# GL accounts are never deleted or renumbered, so their IDs can be remembered per process.
_SYSTEM_IDS: dict[tuple[uuid.UUID, str], uuid.UUID] = {}


def known_system_account(tenant_id: uuid.UUID, code: str) -> uuid.UUID | None:
    return _SYSTEM_IDS.get((tenant_id, code))


def remember_system_account(tenant_id: uuid.UUID, code: str, account_id: uuid.UUID) -> uuid.UUID:
    _SYSTEM_IDS[(tenant_id, code)] = account_id
    return account_id


async def system_account_id(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> uuid.UUID:
    key = (tenant_id, code)
    cached = _SYSTEM_IDS.get(key)
    if cached is None:
        cached = (await system_account(session, tenant_id, code)).id
        _SYSTEM_IDS[key] = cached
    return cached
