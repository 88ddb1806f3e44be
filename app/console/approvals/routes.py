"""The approvals queue: what waits for a checker, each item's detail, approve / reject
(with a reason) and bulk "Approve selected" with a result per item.

The page is built from sections, each from its own provider in :data:`SECTIONS`: pending
journals, pending teller transactions, approved journals waiting to be posted, and
standing instructions awaiting a manager (only managers approve those: each section says
who may decide its items in ``decide_permission``). Items the user made are shown,
never approvable, with the reason said: maker and checker are always two people.

Approving a journal here does not post it: approval and posting stay two steps of the
ledger (``docs/decisions.md``), and approved journals wait in their own section, one click
from "Post".
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException

from app.client import ApprovalsView, BankingAPIError, Journal, Transaction, TransactionView
from app.console.amount_words import amount_in_words
from app.console.banking import CoreSession
from app.console.bulk_approval import (
    BulkApproval,
    Decided,
    Decisions,
    approve_selected,
    show_results,
)
from app.console.concurrent import together
from app.console.drafts import DraftStore, valid_key
from app.console.errors import UNAVAILABLE, core_message
from app.console.formatting import local_time, money
from app.console.htmx import render
from app.console.journals.actions import DONE as JOURNAL_DONE
from app.console.journals.actions import action_error, journal_action
from app.console.journals.views import (
    OWN_JOURNAL,
    OWN_POSTING,
    amount_shown,
    made_by,
    person,
    type_label,
)
from app.console.lookup import STATUS_LABELS as ACCOUNT_STATUS
from app.console.lookup import AccountSummary, fetch_account, looks_like_id
from app.console.pending_count import forget_pending_count, remember_pending, waiting_of
from app.console.permissions import can
from app.console.standing.queue import OWN_INSTRUCTION, StandingItem, standing_rows
from app.console.teller.day import STATUS_LABELS, TYPE_LABELS
from app.console.writes import (
    KEY_FIELD,
    Refusal,
    error_code_of,
    mint_key,
    post_once,
    redirect,
    send_write,
)

VIEW = {"permission": "approvals.view"}
DECIDE = {"permission": "approvals.decide"}
QUEUE_LIMIT = 200
QUEUE_VIEW_PATH = "/views/approvals"
OWN_ITEM = "You made this; another officer must approve it."

DECISION_ERRORS: dict[str, str] = {
    "REASON_REQUIRED": "Give a reason for rejecting, so the teller can tell the customer.",
    "SELF_APPROVAL_FORBIDDEN": OWN_ITEM,
    "INVALID_STATE": "This is no longer waiting: someone decided on it in the meantime.",
    "INSUFFICIENT_FUNDS": "The account no longer has the funds for this; reject it instead.",
    "ACCOUNT_FROZEN": "The account is frozen now; it can't be paid out of until unfrozen.",
    "ACCOUNT_NOT_ACTIVE": "The account is no longer active.",
    "NO_OPEN_PERIOD": "There is no open fiscal period for today; ask an admin.",
    "RESOURCE_NOT_FOUND": "We could not find that transaction.",
    "UNAVAILABLE": UNAVAILABLE,
}


async def _accounts(core: CoreSession, ids: set[str]) -> dict[str, AccountSummary]:
    """The accounts named by ``ids`` (looked up side by side)."""
    wanted = sorted(i for i in ids if i)
    found = await asyncio.gather(*(fetch_account(core, i) for i in wanted), return_exceptions=True)
    return {i: a for i, a in zip(wanted, found, strict=True) if isinstance(a, AccountSummary)}


@dataclass(frozen=True)
class TransactionItem:
    """A pending teller transaction as the queue's table draws it."""

    id: str
    ref: str
    type: str
    account_number: str
    holder: str
    to_account_number: str
    amount: str
    maker: str
    made_by_me: bool
    branch: str
    time: str


@dataclass(frozen=True)
class JournalItem:
    """A journal waiting for approval (or to be posted) as the queue's table draws it."""

    id: str
    ref: str
    type: str
    description: str
    amount: str
    effective_date: str
    maker: str
    made_by_me: bool
    time: str
    approved_by: str


QueueItem = TransactionItem | JournalItem | StandingItem


def _item(t: TransactionView, me: str, timezone: str) -> TransactionItem:
    """A pending teller transaction as the queue's table draws it (the core's view names
    its accounts)."""
    return TransactionItem(
        id=t.id,
        ref=t.transaction_ref,
        type=TYPE_LABELS.get(t.type, t.type),
        account_number=t.account_number or "",
        holder=t.customer_name or "",
        to_account_number=t.counterparty_account_number or "",
        amount=money(t.amount, t.currency),
        maker=t.created_by_email or "",
        made_by_me=t.created_by == me,
        branch=t.branch_code or "",
        time=local_time(t.created_at, timezone),
    )


@dataclass(frozen=True)
class SectionSpec:
    """One kind of item in the queue: its words, who sees it, how it is loaded."""

    key: str  # also names its table: templates/approvals/_<key>.html
    title: str
    lede: str
    empty: str
    permission: str
    load: "Callable[[QueueContext, Section], Awaitable[None]]"
    bulk_action: str | None = None  # "Approve selected" posts here, when it has one
    decide_permission: str = "approvals.decide"  # who may approve this section's items


@dataclass
class Section:
    """One section of the queue as shown: its items, or why they could not be listed."""

    spec: SectionSpec
    items: Sequence[QueueItem] = field(default_factory=list)
    more: bool = False
    error: str | None = None  # the core could not list it; the other sections still show


@dataclass(frozen=True)
class QueueContext:
    core: CoreSession
    me: str
    timezone: str
    view: ApprovalsView  # GET /views/approvals: every section at once


def _journal_rows(q: QueueContext, found: list[Journal]) -> list[JournalItem]:
    return [
        JournalItem(
            id=j.id,
            ref=j.journal_number,
            type=type_label(j.journal_type),
            description=j.description,
            amount=amount_shown(j),
            effective_date=j.effective_date.isoformat(),
            maker=person(j, "created"),
            made_by_me=made_by(j, q.me),
            time=local_time(j.created_at, q.timezone),
            approved_by=person(j, "approved") if j.approved_at else "",
        )
        for j in found
    ]


async def _load_pending_journals(q: QueueContext, section: Section) -> None:
    part = q.view.journals_pending
    section.items, section.more = _journal_rows(q, part.items), part.has_more


async def _load_pending_transactions(q: QueueContext, section: Section) -> None:
    part = q.view.transactions_pending
    section.items = [_item(t, q.me, q.timezone) for t in part.items]
    section.more = part.has_more


async def _load_journals_to_post(q: QueueContext, section: Section) -> None:
    part = q.view.journals_approved
    section.items, section.more = _journal_rows(q, part.items), part.has_more


async def _load_standing(q: QueueContext, section: Section) -> None:
    part = q.view.standing_instructions_pending
    section.items = standing_rows(part.items, q.me, q.timezone)
    section.more = part.has_more


# The queue's sections in console.md's order (pending journals, pending teller
# transactions, …). A new kind of item is one more entry here and one table template.
SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        key="journals",
        title="Journals",
        lede="Manual journals waiting for approval. Approved journals are then posted.",
        empty="No journals are waiting for approval.",
        permission="approvals.view",
        load=_load_pending_journals,
        bulk_action="/approvals/journals/approve-selected",
    ),
    SectionSpec(
        key="transactions",
        title="Teller transactions",
        lede="Deposits, withdrawals and transfers over the approval limit.",
        empty="No teller transactions are waiting.",
        permission="approvals.view",
        load=_load_pending_transactions,
        bulk_action="/approvals/transactions/approve-selected",
    ),
    SectionSpec(
        key="to_post",
        title="Approved journals to post",
        lede="Approved, not yet posted: nothing has moved. Open one to post it.",
        empty="No approved journal is waiting to be posted.",
        permission="journals.post",
        load=_load_journals_to_post,
    ),
    SectionSpec(
        key="standing",
        title="Standing instructions",
        lede="New standing instructions wait for a manager before the daily job pays them.",
        empty="No standing instructions are waiting.",
        permission="approvals.view",
        load=_load_standing,
        bulk_action="/standing/approve-selected",
        decide_permission="standing.approve",
    ),
)


async def _queue_view(core: CoreSession) -> ApprovalsView | BankingAPIError:
    """The whole queue, or the refusal to say next to each section."""
    try:
        return await core.get(QUEUE_VIEW_PATH, params={"limit": QUEUE_LIMIT}, model=ApprovalsView)
    except BankingAPIError as exc:
        return exc


async def _section(q: QueueContext, spec: SectionSpec) -> Section:
    section = Section(spec)
    try:
        await spec.load(q, section)
    except BankingAPIError as exc:
        section.items = []
        section.error = f"These could not be listed just now. {core_message(exc)}"
    return section


@get("/approvals", opt=VIEW, name="approvals")
async def queue(request: Request[Any, Any, Any]) -> Response[Any]:
    """Everything waiting for a checker, by section, with the last decisions' results.

    One call to the core for the whole queue (``GET /views/approvals``), beside the last
    decisions' results from the draft store.
    """
    core = CoreSession(request)
    specs = [spec for spec in SECTIONS if can(core.signed_in, spec.permission)]
    tenant, view, results = await together(
        core.tenant(),
        _queue_view(core),
        DraftStore(request, core).load_blob(request.query_params.get("result"), Decisions),
    )
    if isinstance(view, BankingAPIError):
        refused = f"These could not be listed just now. {core_message(view)}"
        sections = [Section(spec, error=refused) for spec in specs]
    else:
        q = QueueContext(core, core.signed_in.user.id, tenant.timezone, view)
        sections = [await _section(q, spec) for spec in specs]
        remember_pending(request, core, waiting_of(view.waiting))
    return render(
        request,
        "approvals/queue.html",
        {
            "page_title": "Approvals",
            "tenant": tenant,
            "sections": sections,
            "waiting": sum(
                1
                for s in sections
                if s.spec.bulk_action and can(core.signed_in, s.spec.decide_permission)
                for i in s.items
                if not i.made_by_me
            ),
            "results": results.items if results else None,
            "bulk_key": mint_key(),
            "own_item": OWN_ITEM,
            "own_journal": OWN_JOURNAL,
            "own_instruction": OWN_INSTRUCTION,
            "own_posting": OWN_POSTING,
            "can_decide": can(core.signed_in, "approvals.decide"),
        },
    )


@get("/approvals/transactions/{transaction_id:str}", opt=VIEW, name="approvals_transaction")
async def transaction_detail(request: Request[Any, Any, Any], transaction_id: str) -> Response[Any]:
    """One pending (or decided) teller transaction in full, with the decision forms."""
    if not looks_like_id(transaction_id):
        raise NotFoundException("no such transaction")
    core = CoreSession(request)
    t = await core.get(f"/transactions/{transaction_id}", model=Transaction)
    tenant = await core.tenant()
    timezone = tenant.timezone
    accounts = await _accounts(core, {t.account_id, t.counterparty_account_id or ""})
    currency = t.currency
    error = request.query_params.get("error")
    return render(
        request,
        "approvals/transaction.html",
        {
            "page_title": f"Approval {t.transaction_ref}",
            "t": t,
            "account": accounts.get(t.account_id),
            "counterparty": accounts.get(t.counterparty_account_id or ""),
            "type_label": TYPE_LABELS.get(t.type, "Transaction"),
            "status_label": STATUS_LABELS.get(t.status, t.status),
            "amount": money(t.amount, currency),
            "amount_words": amount_in_words(str(t.amount), currency),
            "made_by_me": t.created_by == core.signed_in.user.id,
            "created": local_time(t.created_at, timezone),
            "approved": local_time(t.approved_at, timezone),
            "rejected": local_time(t.rejected_at, timezone),
            "error": DECISION_ERRORS.get(error or "", core_message_for(error)) if error else None,
            "reason_error": error == "REASON_REQUIRED",
            "key": mint_key(),
            "reject_key": mint_key(),
            "own_item": OWN_ITEM,
            "account_status": ACCOUNT_STATUS,
            "can_decide": can(core.signed_in, "approvals.decide"),
        },
    )


def core_message_for(code: str | None) -> str:
    """Plain words for a core error code carried in a redirect's query."""
    return core_message(BankingAPIError(code or "", "")) if code else ""


async def _decide(
    core: CoreSession, transaction_id: str, verb: str, key: str, reason: str | None = None
) -> Transaction:
    body = {"reason": reason} if reason is not None else {}
    path = f"/transactions/{transaction_id}/{verb}"
    result: Transaction = await post_once(core, path, body, key, model=Transaction)
    return result


async def _ref_of(core: CoreSession, transaction_id: str) -> str:
    """A transaction's reference (for an item no longer in the queue), else its ID."""
    try:
        found = await core.get(f"/transactions/{transaction_id}", model=Transaction)
    except BankingAPIError:
        return transaction_id
    return found.transaction_ref


async def _single(request: Request[Any, Any, Any], transaction_id: str, verb: str) -> Response[Any]:
    core = CoreSession(request)
    form = await request.form()
    key = valid_key(form.get(KEY_FIELD)) or mint_key()
    detail = f"/approvals/transactions/{transaction_id}"
    action = f"approvals.transaction_{'approved' if verb == 'approve' else 'rejected'}"
    if not looks_like_id(transaction_id):
        return redirect("/approvals")
    reason = str(form.get("reason") or "").strip()[:500] if verb == "reject" else None
    if verb == "reject" and not reason:
        return redirect(f"{detail}?{urlencode({'error': 'REASON_REQUIRED'})}")
    t = await send_write(
        request,
        core,
        _decide(core, transaction_id, verb, key, reason),
        action=action,
        target=f"transaction:{transaction_id}",
        key=key,
        done_target=lambda t: f"transaction:{t.transaction_ref}",
    )
    if isinstance(t, Refusal):
        if t.status_code == 404:
            return redirect("/approvals")
        assert t.cause is not None
        return redirect(f"{detail}?{urlencode({'error': error_code_of(t.cause)})}")
    ref = t.transaction_ref
    forget_pending_count(core.signed_in.tenant.code)
    outcome = "Approved: the money has moved." if verb == "approve" else "Rejected."
    return await show_results(
        request, core, [Decided(ref=ref, href=_receipt(ref), ok=True, outcome=outcome)]
    )


def _receipt(ref: str) -> str:
    return f"/teller/receipts/{ref}" if ref else ""


async def _pending_transaction_refs(core: CoreSession) -> dict[str, str]:
    params = {"status": "PENDING_APPROVAL", "limit": QUEUE_LIMIT}
    page = await core.get_page("/transactions", Transaction, params=params)
    return {t.id: t.transaction_ref for t in page.items}


@post(
    "/approvals/transactions/{transaction_id:str}/approve",
    opt=DECIDE,
    name="approvals_transaction_approve",
)
async def approve(request: Request[Any, Any, Any], transaction_id: str) -> Response[Any]:
    """Approve: the core posts it now (never the maker's own)."""
    return await _single(request, transaction_id, "approve")


@post(
    "/approvals/transactions/{transaction_id:str}/reject",
    opt=DECIDE,
    name="approvals_transaction_reject",
)
async def reject(request: Request[Any, Any, Any], transaction_id: str) -> Response[Any]:
    """Reject, with a reason: holds are released, nothing moves."""
    return await _single(request, transaction_id, "reject")


TRANSACTION_BULK = BulkApproval(
    action="approvals.transaction_approved",
    target=lambda _id, ref: f"transaction:{ref}",
    approve=lambda core, item_id, key: _decide(core, item_id, "approve", key),
    ref_of=lambda t: t.transaction_ref,
    href=lambda item_id, ref: _receipt(ref) if ref != item_id else "",
    done="Approved: the money has moved.",
    refused=lambda exc: DECISION_ERRORS.get(error_code_of(exc), core_message(exc)),
    known_refs=_pending_transaction_refs,
    lookup_ref=_ref_of,
)


@post(
    "/approvals/transactions/approve-selected",
    opt=DECIDE,
    name="approvals_transactions_approve_selected",
)
async def approve_selected_transactions(request: Request[Any, Any, Any]) -> Response[Any]:
    """Approve selected: each chosen item approved on its own, with its own result."""
    return await approve_selected(request, TRANSACTION_BULK)


async def _pending_journal_numbers(core: CoreSession) -> dict[str, str]:
    params = {"status": "PENDING", "limit": QUEUE_LIMIT, "entries": "false"}
    page = await core.get_page("/journals", Journal, params=params)
    return {j.id: j.journal_number for j in page.items}


async def _journal_number(core: CoreSession, journal_id: str) -> str:
    """A journal's number (for an item no longer in the queue), else its ID."""
    try:
        found = await core.get(f"/journals/{journal_id}", model=Journal)
    except BankingAPIError:
        return journal_id
    return found.journal_number


JOURNAL_BULK = BulkApproval(
    action="journal.approve",
    target=lambda _id, number: f"journal:{number}",
    approve=lambda core, item_id, key: journal_action(core, item_id, "approve", key),
    ref_of=lambda journal: journal.journal_number,
    href=lambda item_id, _number: f"/journals/{item_id}",
    done=JOURNAL_DONE["approved"],
    refused=lambda exc: action_error(error_code_of(exc)),
    known_refs=_pending_journal_numbers,
    lookup_ref=_journal_number,
)


@post(
    "/approvals/journals/approve-selected",
    opt=DECIDE,
    name="approvals_journals_approve_selected",
)
async def approve_selected_journals(request: Request[Any, Any, Any]) -> Response[Any]:
    """Approve selected journals: each approved on its own, with its own result."""
    return await approve_selected(request, JOURNAL_BULK)


approvals_router = Router(
    path="/",
    route_handlers=[
        queue,
        transaction_detail,
        approve,
        reject,
        approve_selected_transactions,
        approve_selected_journals,
    ],
)
