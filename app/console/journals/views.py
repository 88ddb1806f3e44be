"""A journal as staff read it: its lines with account names, totals, timeline and actions.

Which actions a journal offers comes from its state and from the same ``can()`` that
guards the routes; maker and checker are always two people, so a journal's maker is told
why they can't approve (or reverse) it instead of being shown a button that would fail.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.client import BankingAPIError, FiscalPeriod, Journal, JournalLine
from app.console.auth.session import SignedIn
from app.console.banking import CoreSession
from app.console.formatting import local_time, money
from app.console.journals.accounts import LineAccount
from app.console.journals.composer import JOURNAL_TYPES, SYSTEM_TYPES, CurrencyTotal
from app.console.permissions import can

STATUS_LABELS: dict[str, str] = {
    "PENDING": "Awaiting approval",  # as every other kind of item says it
    "APPROVED": "Approved",
    "POSTED": "Posted",
    "REJECTED": "Rejected",
    "REVERSED": "Reversed",
}
STATUSES = tuple(STATUS_LABELS)

OWN_JOURNAL = "You made this journal; another officer must approve it."
OWN_POSTING = "You made this journal; another officer must post it."
OWN_REVERSAL = "You made this journal; another manager must reverse it."
NOT_REVERSIBLE = "This is a reversal journal; a reversal is not itself reversed."
CLOSING_NOT_REVERSIBLE = "This is the year-end closing journal; it is not reversed."
# Journal types the core never reverses.
NOT_REVERSIBLE_TYPES = {"REVERSAL": NOT_REVERSIBLE, "CLOSING": CLOSING_NOT_REVERSIBLE}

PERIOD_CACHE_SECONDS = 60.0
_periods: dict[str, tuple[float, dict[str, str]]] = {}


def type_label(journal_type: Any) -> str:
    code = str(journal_type or "")
    return JOURNAL_TYPES.get(code) or SYSTEM_TYPES.get(code) or code.title()


def status_label(status: Any) -> str:
    return STATUS_LABELS.get(str(status or ""), str(status or "").title())


@dataclass(frozen=True)
class Line:
    """One journal line as the page shows it: its account named, its amount formatted."""

    number: str
    name: str
    kind: str
    account_id: str
    gl: str
    description: str
    automatic: bool
    debit: str
    credit: str


def made_by(journal: Journal, user_id: str) -> bool:
    """Whether ``user_id`` made the journal."""
    return bool(user_id) and journal.created_by == user_id


def person(journal: Journal, verb: str, me: SignedIn | None = None) -> str:
    """Who did ``verb`` ("created", "approved", …): their email, as the core names them."""
    user_id = str(getattr(journal, f"{verb}_by") or "")
    email = str(getattr(journal, f"{verb}_by_email") or "")
    if me is not None and user_id and user_id == me.user.id:
        return f"You ({me.user.email})"
    return email or (f"staff user {user_id[:8]}" if user_id else "—")


def entry_account_id(entry: JournalLine) -> str:
    """The account a line names: the customer account when there is one, else its GL."""
    return entry.account_id


def totals_of(journal: Journal) -> list[CurrencyTotal]:
    """Debits and credits per currency, from the journal's entries."""
    by_currency: dict[str, CurrencyTotal] = {}
    for entry in journal.entries:
        total = by_currency.setdefault(entry.currency_code, CurrencyTotal(entry.currency_code))
        if entry.entry_type == "debit":
            total.debit += entry.amount
        else:
            total.credit += entry.amount
    return [by_currency[c] for c in sorted(by_currency)]


def amount_shown(journal: Journal) -> str:
    """The journal's size for a list: its debits (each currency), from its entries or, in
    a list without them, the core's ``totals``."""
    totals = totals_of(journal) or [
        CurrencyTotal(t.currency_code, debit=t.debit) for t in journal.totals
    ]
    if not totals:
        return "—"
    return " + ".join(money(t.debit, t.currency) for t in totals)


def lines_of(journal: Journal, accounts: Mapping[str, LineAccount] | None = None) -> list[Line]:
    """The journal's lines with their accounts' numbers and names, amounts formatted.

    The core names each line's account (``account_number`` / ``gl_account_code`` and
    ``account_name``); ``accounts`` (by ID) fills in what an entry leaves out.
    """
    lines = []
    for entry in journal.entries:
        known = (accounts or {}).get(entry.account_id)
        customer = entry.account_kind == "customer"
        amount = money(entry.amount, entry.currency_code)
        debit = entry.entry_type == "debit"
        number = entry.account_number if customer else entry.gl_account_code
        lines.append(
            Line(
                number=number or (known.number if known else ""),
                name=entry.account_name or (known.name if known else ""),
                kind=entry.account_kind,
                account_id=entry.account_id,
                gl=(entry.gl_account_code or "") if customer else "",
                description=entry.description or "",
                automatic=entry.automatic and not journal.is_system,
                debit=amount if debit else "",
                credit="" if debit else amount,
            )
        )
    return lines


def missing_accounts(journal: Journal) -> list[str]:
    """IDs of lines whose account the core did not name (looked up by the console)."""
    return [e.account_id for e in journal.entries if not e.account_name and e.account_id]


@dataclass(frozen=True)
class TimelineEvent:
    """One step of a journal's life: who, when, and why (a rejection or reversal)."""

    kind: str  # "created" | "approved" | "rejected" | "posted" | "reversed"
    label: str
    who: str
    when: str  # on the bank's clock
    at: str  # ISO 8601, for <time datetime>
    reason: str
    link: str | None  # the reversing journal's ID


@dataclass(frozen=True)
class JournalActions:
    """What the signed-in user may do with a journal now, and why not when they can't."""

    approve: bool
    own_pending: bool  # the maker is told why there is nothing to decide
    post: bool
    own_post: bool
    reverse: bool
    reverse_blocked: str | None
    not_reversible: str | None


def timeline(journal: Journal, timezone: str, me: SignedIn | None = None) -> list[TimelineEvent]:
    """What happened to the journal, in the order of its states: made, then approved or
    rejected, posted, reversed (a reversal's steps share one moment, so not by time)."""
    events: list[TimelineEvent] = []
    steps = (
        ("created", "Made", None),
        ("approved", "Approved", None),
        ("rejected", "Rejected", journal.rejection_reason),
        ("posted", "Posted", None),
        ("reversed", "Reversed", journal.reversal_reason),
    )
    for verb, label, reason in steps:
        at = getattr(journal, f"{verb}_at")
        if at is None:
            continue
        events.append(
            TimelineEvent(
                kind=verb,
                label=label,
                who=person(journal, verb, me),
                when=local_time(at, timezone),
                at=at.isoformat(),
                reason=reason or "",
                link=journal.reversal_journal_id if verb == "reversed" else None,
            )
        )
    return events


def actions_for(journal: Journal, signed_in: SignedIn) -> JournalActions:
    """What the signed-in user may do with the journal now, and why not when they can't.

    Maker and checker are two people for every step (the core refuses the maker's
    approval, rejection, posting and reversal alike), so the maker is told instead.
    """
    status = journal.status
    own = made_by(journal, signed_in.user.id)
    kind = "REVERSAL" if journal.reverses_journal_id else journal.journal_type
    not_reversible = NOT_REVERSIBLE_TYPES.get(kind) if status == "POSTED" else None
    decide = status == "PENDING" and can(signed_in, "approvals.decide")
    post = status == "APPROVED" and can(signed_in, "journals.post")
    reverse = status == "POSTED" and can(signed_in, "journals.reverse") and not not_reversible
    return JournalActions(
        approve=decide and not own,
        # The maker is told why there is nothing to decide, whatever their role.
        own_pending=status == "PENDING" and own,
        post=post and not own,
        own_post=post and own,
        reverse=reverse and not own,
        reverse_blocked=(OWN_REVERSAL if own else None) if reverse else None,
        not_reversible=not_reversible,
    )


async def period_name(core: CoreSession, journal: Journal) -> str:
    """The fiscal period's name: the journal's own, else from the tenant's periods."""
    if journal.fiscal_period is not None:
        return journal.fiscal_period.period_name
    if not journal.fiscal_period_id:
        return ""
    return (await _period_names(core)).get(journal.fiscal_period_id, "")


async def _period_names(core: CoreSession) -> dict[str, str]:
    tenant = core.signed_in.tenant.code
    cached = _periods.get(tenant)
    now = time.monotonic()
    if cached is not None and now - cached[0] < PERIOD_CACHE_SECONDS:
        return cached[1]
    try:
        page = await core.get_page("/fiscal-periods", FiscalPeriod, params={"limit": 200})
    except BankingAPIError:
        return {}  # the page shows the journal without its period's name
    names = {p.id: p.period_name for p in page.items}
    _periods[tenant] = (now, names)
    return names
