"""Numbers people read: account numbers with a check digit, customer and journal numbers."""

import secrets
import uuid
from datetime import date

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.ledger.models import NumberSequence

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read over the phone
assert len(_ALPHABET) == 32


def luhn_check_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_valid_account_number(number: str) -> bool:
    return len(number) == 10 and number.isdigit() and luhn_check_digit(number[:9]) == number[9]


async def next_value(session: AsyncSession, tenant_id: uuid.UUID, name: str) -> int:
    """Take the next value of a per-tenant counter (row-locked; used for rare events only)."""
    row = (
        await session.execute(
            sa.select(NumberSequence)
            .where(col(NumberSequence.tenant_id) == tenant_id, col(NumberSequence.name) == name)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        row = NumberSequence(tenant_id=tenant_id, name=name, next_value=1)
    value = row.next_value
    row.next_value = value + 1
    session.add(row)
    await session.flush()
    return value


async def next_account_number(session: AsyncSession, tenant_id: uuid.UUID) -> str:
    base = f"{await next_value(session, tenant_id, 'account_number'):09d}"
    return base + luhn_check_digit(base)


async def next_customer_number(session: AsyncSession, tenant_id: uuid.UUID) -> str:
    return f"CUS{await next_value(session, tenant_id, 'customer_number'):07d}"


def _random_code(length: int) -> str:
    # 32 letters: the low five bits of a random byte pick one without bias, and one read
    # of the system's randomness serves the whole code (secrets.choice reads per letter).
    return "".join(_ALPHABET[byte & 31] for byte in secrets.token_bytes(length))


def journal_number(on: date) -> str:
    # Random, not a counter: a counter row would serialize every posting in the tenant.
    return f"JV{on:%Y%m%d}{_random_code(8)}"


def transaction_ref(on: date) -> str:
    return f"TXN{on:%Y%m%d}{_random_code(8)}"
