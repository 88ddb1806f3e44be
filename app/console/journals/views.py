"""A journal as staff read it: its lines with account names, totals, timeline and actions.

Which actions a journal offers comes from its state and from the same ``can()`` that
guards the routes; maker and checker are always two people, so a journal's maker is told
why they can't approve (or reverse) it instead of being shown a button that would fail.
"""

import time
from decimal import Decimal, InvalidOperation
from typing import Any

from app.client import BankingAPIError
from app.console.auth.session import SignedIn
from app.console.banking import CoreSession
from app.console.formatting import local_time, money
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


def _user_id(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def maker_id(journal: dict[str, Any]) -> str:
    return _user_id(journal.get("created_by"))


def made_by(journal: dict[str, Any], user_id: str) -> bool:
    """Whether ``user_id`` made the journal."""
    return bool(user_id) and maker_id(journal) == user_id


def person(journal: dict[str, Any], verb: str, me: SignedIn | None = None) -> str:
    """Who did ``verb`` ("created", "approved", …) as the core names them."""
    raw = journal.get(f"{verb}_by")
    name = email = ""
    if isinstance(raw, dict):
        name, email = str(raw.get("name") or ""), str(raw.get("email") or "")
    email = str(journal.get(f"{verb}_by_email") or email)
    name = str(journal.get(f"{verb}_by_name") or name)
    user_id = _user_id(raw)
    if me is not None and user_id and user_id == me.user.id:
        return f"You ({me.user.email})"
    if name and email:
        return f"{name} ({email})"
    return email or name or (f"staff user {user_id[:8]}" if user_id else "—")


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _side(entry: dict[str, Any]) -> str:
    return str(entry.get("entry_type") or entry.get("side") or "").lower()


def entries_of(journal: dict[str, Any]) -> list[dict[str, Any]]:
    found = journal.get("entries") or journal.get("lines") or []
    return [e for e in found if isinstance(e, dict)]


def entry_account_id(entry: dict[str, Any]) -> str:
    """The account a line names: the customer account when there is one, else its GL."""
    return str(entry.get("account_id") or entry.get("gl_account_id") or "")


def totals_of(journal: dict[str, Any]) -> list[CurrencyTotal]:
    """Debits and credits per currency, from the journal's entries."""
    by_currency: dict[str, CurrencyTotal] = {}
    for entry in entries_of(journal):
        currency = str(entry.get("currency_code") or entry.get("currency") or "NGN")
        total = by_currency.setdefault(currency, CurrencyTotal(currency))
        if _side(entry).startswith("d"):
            total.debit += _amount(entry.get("amount"))
        else:
            total.credit += _amount(entry.get("amount"))
    return [by_currency[c] for c in sorted(by_currency)]


def amount_shown(journal: dict[str, Any]) -> str:
    """The journal's size for a list: its debits (each currency), from its entries or, in
    a list without them, the core's ``totals``."""
    totals = totals_of(journal)
    if not totals and isinstance(journal.get("totals"), list):
        totals = [
            CurrencyTotal(str(t.get("currency_code") or "NGN"), debit=_amount(t.get("debit")))
            for t in journal["totals"]
            if isinstance(t, dict)
        ]
    if not totals:
        for name in ("total_debit", "total_amount", "amount"):
            if journal.get(name) is not None:
                return money(journal.get(name), str(journal.get("currency_code") or "NGN"))
        return "—"
    return " + ".join(money(t.debit, t.currency) for t in totals)


def lines_of(
    journal: dict[str, Any], accounts: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The journal's lines with their accounts' numbers and names, amounts formatted.

    The core names each line's account (``account_number`` / ``gl_account_code`` and
    ``account_name``); ``accounts`` (by ID) fills in what an entry leaves out.
    """
    lines = []
    for entry in entries_of(journal):
        known = (accounts or {}).get(entry_account_id(entry)) or {}
        kind = str(entry.get("account_kind") or known.get("kind") or "")
        currency = str(entry.get("currency_code") or entry.get("currency") or "NGN")
        amount = money(entry.get("amount"), currency)
        debit = _side(entry).startswith("d")
        number = (
            entry.get("account_number")
            if kind == "customer"
            else entry.get("gl_account_code") or entry.get("account_code")
        )
        lines.append(
            {
                "number": number or known.get("number") or "",
                "name": entry.get("account_name") or known.get("name") or "",
                "kind": kind,
                "account_id": entry_account_id(entry),
                "gl": entry.get("gl_account_code") if kind == "customer" else "",
                "description": entry.get("description") or "",
                "automatic": bool(entry.get("automatic")) and not journal.get("is_system"),
                "debit": amount if debit else "",
                "credit": "" if debit else amount,
            }
        )
    return lines


def missing_accounts(journal: dict[str, Any]) -> list[str]:
    """IDs of lines whose account the core did not name (looked up by the console)."""
    return [
        entry_account_id(e)
        for e in entries_of(journal)
        if not e.get("account_name") and entry_account_id(e)
    ]


def timeline(
    journal: dict[str, Any], timezone: str, me: SignedIn | None = None
) -> list[dict[str, Any]]:
    """What happened to the journal, in the order of its states: made, then approved or
    rejected, posted, reversed (a reversal's steps share one moment, so not by time)."""
    events: list[dict[str, Any]] = []
    steps = (
        ("created", "Made", None),
        ("approved", "Approved", None),
        ("rejected", "Rejected", "rejection_reason"),
        ("posted", "Posted", None),
        ("reversed", "Reversed", "reversal_reason"),
    )
    for verb, label, reason in steps:
        at = journal.get(f"{verb}_at")
        if not at:
            continue
        event: dict[str, Any] = {
            "kind": verb,
            "label": label,
            "who": person(journal, verb, me),
            "when": local_time(at, timezone),
            "at": str(at),
            "reason": str(journal.get(reason) or "") if reason else "",
            "link": None,
        }
        if verb == "reversed" and journal.get("reversal_journal_id"):
            event["link"] = str(journal["reversal_journal_id"])
        events.append(event)
    return events


def actions_for(journal: dict[str, Any], signed_in: SignedIn) -> dict[str, Any]:
    """What the signed-in user may do with the journal now, and why not when they can't.

    Maker and checker are two people for every step (the core refuses the maker's
    approval, rejection, posting and reversal alike), so the maker is told instead.
    """
    status = str(journal.get("status") or "")
    own = made_by(journal, signed_in.user.id)
    kind = "REVERSAL" if journal.get("reverses_journal_id") else str(journal.get("journal_type"))
    not_reversible = NOT_REVERSIBLE_TYPES.get(kind) if status == "POSTED" else None
    decide = status == "PENDING" and can(signed_in, "approvals.decide")
    post = status == "APPROVED" and can(signed_in, "journals.post")
    reverse = status == "POSTED" and can(signed_in, "journals.reverse") and not not_reversible
    return {
        "approve": decide and not own,
        # The maker is told why there is nothing to decide, whatever their role.
        "own_pending": status == "PENDING" and own,
        "post": post and not own,
        "own_post": post and own,
        "reverse": reverse and not own,
        "reverse_blocked": (OWN_REVERSAL if own else None) if reverse else None,
        "not_reversible": not_reversible,
    }


async def period_name(core: CoreSession, journal: dict[str, Any]) -> str:
    """The fiscal period's name: the journal's own, else from the tenant's periods."""
    named = journal.get("fiscal_period")
    if isinstance(named, dict) and named.get("period_name"):
        return str(named["period_name"])
    if journal.get("fiscal_period_name"):
        return str(journal["fiscal_period_name"])
    period_id = str(journal.get("fiscal_period_id") or "")
    if not period_id:
        return ""
    return (await _period_names(core)).get(period_id, "")


async def _period_names(core: CoreSession) -> dict[str, str]:
    tenant = core.signed_in.tenant.code
    cached = _periods.get(tenant)
    now = time.monotonic()
    if cached is not None and now - cached[0] < PERIOD_CACHE_SECONDS:
        return cached[1]
    try:
        body = await core.get("/fiscal-periods", params={"limit": 200})
    except BankingAPIError:
        return {}  # the page shows the journal without its period's name
    found: list[Any] = []
    if isinstance(body, dict):
        found = body.get("fiscal_periods") or body.get("periods") or []
    elif isinstance(body, list):
        found = body
    names = {
        str(p.get("id")): str(p.get("period_name") or p.get("name") or "")
        for p in found
        if isinstance(p, dict)
    }
    _periods[tenant] = (now, names)
    return names
