"""Standing instructions as the console shows them: labels, the accounts they name, and the
checks a create form runs before the core decides."""

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from app.client import BankingAPIError, BankingAPINotFound
from app.console.banking import CoreSession
from app.console.formatting import money
from app.console.lookup import fetch_account, looks_like_id, search_accounts

STATUS_LABELS = {
    "PENDING_APPROVAL": "Awaiting approval",
    "ACTIVE": "Active",
    "SUSPENDED": "Suspended",
    "CANCELLED": "Cancelled",
    "COMPLETED": "Completed",
    "EXPIRED": "Ended",
    "REJECTED": "Rejected",
}
# The list's filters, in the order staff meet them.
STATUS_FILTERS = ("PENDING_APPROVAL", "ACTIVE", "SUSPENDED", "CANCELLED", "COMPLETED")
FREQUENCIES = {"DAILY": "Daily", "WEEKLY": "Weekly", "MONTHLY": "Monthly"}
EXECUTION_LABELS = {
    "COMPLETED": "Paid",
    "SUCCESS": "Paid",
    "SUCCEEDED": "Paid",
    "EXECUTED": "Paid",
    "FAILED": "Failed",
    "SKIPPED": "Skipped",
    "PENDING_APPROVAL": "Awaiting approval",
}
CANCELLABLE = {"PENDING_APPROVAL", "ACTIVE", "SUSPENDED"}
PAGE_LIMIT = 200
MAX_PAGES = 10


def instruction_path(instruction_id: str) -> str:
    """The core path of one standing instruction (the ID came from a URL: quoted)."""
    return f"/standing-instructions/{quote(instruction_id, safe='')}"


def page_url(instruction_id: str) -> str:
    return f"/standing/{quote(instruction_id, safe='')}"


@dataclass(frozen=True)
class Instruction:
    """One standing instruction, with the account numbers it pays from and to."""

    id: str
    ref: str
    status: str
    amount: str
    currency: str
    frequency: str
    start_date: str
    end_date: str
    next_run_date: str
    narration: str
    source_id: str
    destination_id: str
    source_number: str
    source_name: str
    destination_number: str
    destination_name: str
    created_by: str
    created_by_email: str
    approved_by_email: str
    created_at: str
    approved_at: str
    failure_count: int
    cancelled_at: str = ""
    cancel_reason: str = ""
    last_executed_on: str = ""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status.replace("_", " ").capitalize())

    @property
    def frequency_label(self) -> str:
        return FREQUENCIES.get(self.frequency, self.frequency.capitalize())

    @property
    def amount_shown(self) -> str:
        return money(self.amount, self.currency)

    @property
    def url(self) -> str:
        return page_url(self.id)

    @property
    def cancellable(self) -> bool:
        return self.status in CANCELLABLE


def _text(raw: Mapping[str, Any], *names: str) -> str:
    for name in names:
        if raw.get(name) not in (None, ""):
            return str(raw[name])
    return ""


def instruction_of(
    raw: Mapping[str, Any], accounts: Mapping[str, Mapping[str, Any]] | None = None
) -> Instruction:
    """The core's body as an :class:`Instruction` (account numbers from ``accounts`` when
    the body does not carry them)."""
    accounts = accounts or {}
    source_id = _text(raw, "source_account_id")
    destination_id = _text(raw, "destination_account_id")
    source = accounts.get(source_id) or {}
    destination = accounts.get(destination_id) or {}
    failures = raw.get("consecutive_failures", raw.get("failure_count", 0))
    return Instruction(
        id=_text(raw, "id"),
        ref=_text(raw, "reference", "instruction_ref", "instruction_number")
        or _text(raw, "id")[:8],
        status=_text(raw, "status").upper(),
        amount=_text(raw, "amount"),
        currency=_text(raw, "currency") or "NGN",
        frequency=_text(raw, "frequency").upper(),
        start_date=_text(raw, "start_date"),
        end_date=_text(raw, "end_date"),
        next_run_date=_text(raw, "next_run_date", "next_execution_date", "next_due_date"),
        narration=_text(raw, "narration"),
        source_id=source_id,
        destination_id=destination_id,
        source_number=_text(raw, "source_account_number")
        or str(source.get("account_number") or ""),
        source_name=_text(raw, "source_account_name") or str(source.get("customer_name") or ""),
        destination_number=_text(raw, "destination_account_number")
        or str(destination.get("account_number") or ""),
        destination_name=_text(raw, "destination_account_name")
        or str(destination.get("customer_name") or ""),
        created_by=_text(raw, "created_by"),
        created_by_email=_text(raw, "created_by_email", "created_by_name"),
        approved_by_email=_text(raw, "approved_by_email", "approved_by_name"),
        created_at=_text(raw, "created_at"),
        approved_at=_text(raw, "approved_at"),
        failure_count=int(failures) if str(failures).isdigit() else 0,
        cancelled_at=_text(raw, "cancelled_at"),
        cancel_reason=_text(raw, "cancel_reason"),
        last_executed_on=_text(raw, "last_executed_on"),
    )


async def accounts_of(
    core: CoreSession, items: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The accounts named by ``items`` that do not carry their numbers (looked up once each)."""
    wanted: set[str] = set()
    for item in items:
        if not item.get("source_account_number"):
            wanted.add(str(item.get("source_account_id") or ""))
        if not item.get("destination_account_number"):
            wanted.add(str(item.get("destination_account_id") or ""))
    ids = sorted(i for i in wanted if looks_like_id(i))
    found = await asyncio.gather(*(fetch_account(core, i) for i in ids), return_exceptions=True)
    return {i: a for i, a in zip(ids, found, strict=True) if isinstance(a, dict)}


async def list_instructions(
    core: CoreSession, status: str | None, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of instructions (``status`` filters), and the next page's cursor."""
    body = await core.get(
        "/standing-instructions", params={"status": status, "limit": limit, "cursor": cursor}
    )
    items = [i for i in body.get("standing_instructions") or [] if isinstance(i, dict)]
    following = body.get("next_cursor") if body.get("has_more") else None
    return items, str(following) if following else None


async def fetch_instruction(core: CoreSession, instruction_id: str) -> dict[str, Any] | None:
    """One instruction by ID, ``None`` when the core knows none.

    Read from ``GET /standing-instructions/{id}``; where the core offers only the list
    (api.md names no single read), the list is searched instead.
    """
    if not looks_like_id(instruction_id):
        return None
    try:
        body: dict[str, Any] = await core.get(instruction_path(instruction_id))
        return body
    except BankingAPINotFound:
        pass
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        items, cursor = await list_instructions(core, None, cursor, PAGE_LIMIT)
        for item in items:
            if str(item.get("id")) == instruction_id:
                return item
        if cursor is None:
            break
    return None


@dataclass(frozen=True)
class Execution:
    """One run of an instruction by the daily job."""

    business_date: str
    status: str
    status_label: str
    amount: str
    currency: str
    transaction_ref: str
    failure_reason: str


def execution_of(raw: Mapping[str, Any], instruction: Instruction) -> Execution:
    status = _text(raw, "status").upper()
    return Execution(
        business_date=_text(raw, "business_date", "execution_date", "executed_on", "run_date"),
        status=status,
        status_label=EXECUTION_LABELS.get(status, status.replace("_", " ").capitalize()),
        amount=_text(raw, "amount") or instruction.amount,
        currency=_text(raw, "currency") or instruction.currency,
        transaction_ref=_text(raw, "transaction_ref", "transaction_id"),
        failure_reason=_failure_words(raw),
    )


FAILURE_WORDS = {
    "INSUFFICIENT_FUNDS": "Not enough money in the source account",
    "ACCOUNT_FROZEN": "The source account is frozen",
    "ACCOUNT_NOT_ACTIVE": "An account is not active",
    "LIMIT_EXCEEDED": "Over the account's daily limit",
    "CURRENCY_MISMATCH": "The accounts hold different currencies",
}


def _failure_words(raw: Mapping[str, Any]) -> str:
    code = _text(raw, "error_code", "failure_code").upper()
    reason = _text(raw, "failure_reason", "error_message", "reason", "error")
    words = FAILURE_WORDS.get(code, "")
    if words and reason and reason.lower() != words.lower():
        return f"{words} ({reason})"
    return words or reason


async def executions_of(core: CoreSession, instruction: Instruction) -> list[Execution]:
    """The instruction's executions, newest first."""
    body = await core.get(instruction_path(instruction.id) + "/executions", params={"limit": 200})
    items = body.get("executions") if isinstance(body, dict) else body
    found = [execution_of(e, instruction) for e in items or [] if isinstance(e, Mapping)]
    return sorted(found, key=lambda e: e.business_date, reverse=True)


# -- the create form's checks --------------------------------------------------------------


async def resolve_account(
    core: CoreSession, typed: str, chosen_id: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str | None]:
    """The account a picker names: ``(account, matches to offer, problem)``."""
    if chosen_id:
        account = await fetch_account(core, chosen_id)
        if account is not None:
            return account, [account], None
    if not typed:
        return None, [], "Enter an account number, the holder's name or a phone number."
    try:
        found = await search_accounts(core, typed)
    except BankingAPIError:
        return None, [], "The account could not be looked up just now. Try again."
    if not found:
        return None, [], f"No account matches “{typed[:64]}”. Check the number, name or phone."
    if len(found) > 1:
        return None, found, f"{len(found)} accounts match; choose one below."
    return found[0], found, None


def date_problem(value: str, label: str, *, required: bool) -> tuple[date | None, str | None]:
    """A ``YYYY-MM-DD`` form date, or why it is not one."""
    if not value:
        return None, (f"Enter the {label.lower()}." if required else None)
    try:
        return date.fromisoformat(value), None
    except ValueError:
        return None, f"Enter the {label.lower()} as a date, like 2026-12-31."
