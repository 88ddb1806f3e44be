"""Standing instructions as the console shows them: labels, the accounts they name, and the
checks a create form runs before the core decides."""

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote

from app.client import (
    BankingAPIError,
    BankingAPINotFound,
    StandingExecution,
    StandingInstruction,
    StandingInstructionView,
)
from app.console.banking import CoreSession
from app.console.formatting import money
from app.console.lookup import AccountSummary, fetch_account, looks_like_id, search_accounts

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


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _moment(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def instruction_of(
    si: StandingInstruction, accounts: Mapping[str, AccountSummary] | None = None
) -> Instruction:
    """The core's instruction as an :class:`Instruction` (account numbers from the queue's
    view when it carries them, else from ``accounts``)."""
    source = (accounts or {}).get(si.source_account_id)
    destination = (accounts or {}).get(si.destination_account_id)
    view = si if isinstance(si, StandingInstructionView) else None
    return Instruction(
        id=si.id,
        ref=si.reference,
        status=si.status,
        amount=str(si.amount),
        currency=si.currency,
        frequency=si.frequency,
        start_date=_day(si.start_date),
        end_date=_day(si.end_date),
        next_run_date=_day(si.next_execution_date),
        narration=si.narration,
        source_id=si.source_account_id,
        destination_id=si.destination_account_id,
        source_number=(view and view.source_account_number)
        or (source.account_number if source else ""),
        source_name=(view and view.source_account_name) or (source.customer_name if source else ""),
        destination_number=(view and view.destination_account_number)
        or (destination.account_number if destination else ""),
        destination_name=(view and view.destination_account_name)
        or (destination.customer_name if destination else ""),
        created_by=si.created_by,
        created_by_email=si.created_by_email or "",
        approved_by_email=si.approved_by_email or "",
        created_at=_moment(si.created_at),
        approved_at=_moment(si.approved_at),
        failure_count=si.consecutive_failures,
        cancelled_at=_moment(si.cancelled_at),
        cancel_reason=si.cancel_reason or "",
        last_executed_on=_day(si.last_executed_on),
    )


async def accounts_of(
    core: CoreSession, items: Iterable[StandingInstruction]
) -> dict[str, AccountSummary]:
    """The accounts the instructions name (looked up once each)."""
    wanted = {i.source_account_id for i in items} | {i.destination_account_id for i in items}
    ids = sorted(i for i in wanted if looks_like_id(i))
    found = await asyncio.gather(*(fetch_account(core, i) for i in ids), return_exceptions=True)
    return {i: a for i, a in zip(ids, found, strict=True) if isinstance(a, AccountSummary)}


async def list_instructions(
    core: CoreSession, status: str | None, cursor: str | None, limit: int
) -> tuple[list[StandingInstruction], str | None]:
    """One page of instructions (``status`` filters), and the next page's cursor."""
    params = {"status": status, "limit": limit, "cursor": cursor}
    page = await core.get_page("/standing-instructions", StandingInstruction, params=params)
    return page.items, page.next_cursor if page.has_more else None


async def fetch_instruction(core: CoreSession, instruction_id: str) -> StandingInstruction | None:
    """One instruction by ID, ``None`` when the core knows none."""
    if not looks_like_id(instruction_id):
        return None
    try:
        return await core.get(instruction_path(instruction_id), model=StandingInstruction)
    except BankingAPINotFound:
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


def execution_of(run: StandingExecution) -> Execution:
    return Execution(
        business_date=run.business_date.isoformat(),
        status=run.status,
        status_label=EXECUTION_LABELS.get(run.status, run.status.replace("_", " ").capitalize()),
        amount=str(run.amount),
        currency=run.currency,
        transaction_ref=run.transaction_id or "",
        failure_reason=_failure_words(run),
    )


FAILURE_WORDS = {
    "INSUFFICIENT_FUNDS": "Not enough money in the source account",
    "ACCOUNT_FROZEN": "The source account is frozen",
    "ACCOUNT_NOT_ACTIVE": "An account is not active",
    "LIMIT_EXCEEDED": "Over the account's daily limit",
    "CURRENCY_MISMATCH": "The accounts hold different currencies",
}


def _failure_words(run: StandingExecution) -> str:
    code = (run.failure_code or "").upper()
    reason = run.failure_reason or ""
    words = FAILURE_WORDS.get(code, "")
    if words and reason and reason.lower() != words.lower():
        return f"{words} ({reason})"
    return words or reason


async def executions_of(core: CoreSession, instruction: Instruction) -> list[Execution]:
    """The instruction's executions, newest first."""
    path = instruction_path(instruction.id) + "/executions"
    page = await core.get_page(path, StandingExecution, params={"limit": 200})
    found = [execution_of(run) for run in page.items]
    return sorted(found, key=lambda e: e.business_date, reverse=True)


# -- the create form's checks --------------------------------------------------------------


async def resolve_account(
    core: CoreSession, typed: str, chosen_id: str
) -> tuple[AccountSummary | None, list[AccountSummary], str | None]:
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
