"""The money forms (deposit, withdrawal, internal and inter-branch transfer): one flow.

    GET  <path>                 the form, with an idempotency key minted as it is rendered
    POST <path>                 "Continue": check, keep the draft, redirect to its confirm step
    GET  <path>?draft=<key>     the confirm step (amount in figures and in words), or the
                                form again with what needs attention
    POST <path>/submit          send it to the core with the draft's key, then the receipt

The key travels with the draft, so a double click, a resubmitted form or a retry after an
outage reaches the core with the same key and is answered from its record: money moves
once. A refusal the core recorded (422/409) re-opens the form under a *fresh* key with the
reason next to the field; an outage keeps the key, so the retry is recognised.
"""

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response

from app.client import (
    BankingAPIConflict,
    BankingAPIError,
    BankingAPIRejected,
    BankingAPIUnavailable,
    Transaction,
)
from app.console.actionlog import ActionLog
from app.console.amount_words import amount_in_words
from app.console.banking import CoreSession
from app.console.drafts import Draft, DraftStore, valid_key
from app.console.errors import UNAVAILABLE, core_message
from app.console.formatting import money
from app.console.htmx import Context, render
from app.console.lookup import STATUS_LABELS, AccountSummary, fetch_account, search_accounts
from app.console.pending_count import forget_pending_count
from app.console.permissions import can
from app.console.reasons import detail_words
from app.console.state import console_state
from app.console.writes import (
    KEY_FIELD,
    FormErrors,
    Refusal,
    WriteBody,
    amount_problem,
    canonical_amount,
    mint_key,
    normalise_amount,
    post_once,
    redirect,
    send_write,
    text,
)
from app.db import utcnow

EXPIRED = "That form has expired, so nothing was sent. Fill it in again."
# A form whose draft is gone (it expired, or Redis restarted and took it along) but which
# the action log shows was sent, without a receipt to show for it.
SENT_BEFORE = (
    "That form is no longer open, and it was sent before without a clear answer. "
    "Check My day before you take it again."
)
# How far back the action log is searched for a form's key (the core keeps a key's answer
# as long: its idempotency retention).
SENT_LOOKBACK = timedelta(hours=24)
STILL_RUNNING = "This is still being processed. Wait a moment, then press the button again."


@dataclass(frozen=True)
class Picker:
    """An account field with live search."""

    field: str  # the text control ("account", "source", "destination")
    label: str  # its visible label
    core_field: str  # the core body's field ("account_id", …)


@dataclass(frozen=True)
class MoneyForm:
    """One money form: its page, permission, core call and words."""

    kind: str
    path: str
    permission: str
    core_path: str
    title: str  # the page title and heading
    noun: str  # "deposit", "withdrawal", "transfer"
    submit_label: str  # the confirm step's button: "Deposit", "Withdraw", "Transfer"
    action: str  # the console action log's verb
    pickers: tuple[Picker, ...]
    depositor: bool = False
    lede: str = ""

    @property
    def debit_picker(self) -> str:
        """The field whose account pays (withdrawals and transfers)."""
        return self.pickers[0].field

    def body(self, draft: Draft) -> WriteBody:
        """The core request body, built only from the checked draft."""
        first = draft.accounts[self.pickers[0].field]
        body: WriteBody = {
            picker.core_field: draft.accounts[picker.field].id for picker in self.pickers
        }
        body["amount"] = draft.values["amount"]
        body["currency"] = first.currency
        if draft.values.get("narration"):
            body["narration"] = draft.values["narration"]
        if self.depositor and draft.values.get("depositor_name"):
            body["depositor_name"] = draft.values["depositor_name"]
        return body


# -- refusals in words, next to the field ------------------------------------------------


def _field_for(spec: MoneyForm, core_field: str) -> str | None:
    for picker in spec.pickers:
        if picker.core_field == core_field:
            return picker.field
    if core_field == "account_id" and len(spec.pickers) > 1:
        return spec.pickers[-1].field  # a transfer's credit check names the destination so
    if core_field == "currency":
        return spec.pickers[-1].field
    if core_field in {"amount", "narration", "depositor_name"}:
        return core_field
    return None


def _detail(error: BankingAPIError, key: str) -> str | None:
    for detail in error.details:
        if detail.get(key) is not None:
            return str(detail[key])
    return None


def _same_branch(spec: MoneyForm, error: BankingAPIError) -> bool:
    """An inter-branch transfer between two accounts of one branch (``same_branch``; a core
    that does not name the code yet refuses it on the destination, the only field it can)."""
    if any(d.get("code") == "same_branch" for d in error.details):
        return True
    return spec.kind == "inter_branch" and _detail(error, "field") == "destination_account_id"


def explain_refusal(
    spec: MoneyForm, draft: Draft, error: BankingAPIError
) -> tuple[dict[str, str], str | None]:
    """``({field: message}, summary)`` for a refusal, in words a teller understands."""
    code = error.code
    detail_field = _detail(error, "field") or ""
    field = _field_for(spec, detail_field)
    first = spec.pickers[0].field
    account = draft.accounts.get(field or first) or draft.accounts.get(first)
    number = account.account_number if account else "This account"
    currency = account.currency if account else "NGN"
    if code == "INSUFFICIENT_FUNDS":
        debit = draft.accounts.get(spec.debit_picker)
        available = _detail(error, "available_balance") or money(
            debit.available_balance if debit else None, currency
        )
        needed = _detail(error, "value") or money(draft.values.get("amount"), currency)
        return {
            "amount": f"Available balance is {available}; this {spec.noun} needs {needed}."
        }, None
    if code == "ACCOUNT_FROZEN":
        return {
            field or first: f"Account {number} is frozen: nothing can be paid out of it "
            "until an officer unfreezes it."
        }, None
    if code == "ACCOUNT_NOT_ACTIVE":
        reason = (_detail(error, "reason") or "").replace("account ", "")
        state = f" ({reason})" if reason else ""
        return {
            field or first: f"Account {number} is not active{state}: no money can move on it."
        }, None
    if code == "LIMIT_EXCEEDED":
        return {"amount": error.message or "This is over the account's daily limit."}, None
    if code == "CURRENCY_MISMATCH":
        if len(spec.pickers) > 1:
            return {
                spec.pickers[-1].field: "The two accounts hold different currencies; "
                "a transfer moves one currency only."
            }, None
        return {field or first: error.message or "The currencies do not match."}, None
    if code == "INTER_BRANCH_REQUIRED":
        return {
            "destination": "These accounts are in different branches; "
            "a manager must make an inter-branch transfer."
        }, None
    if code == "SAME_ACCOUNT":
        return {"destination": "Choose a different account from the source."}, None
    if code == "BRANCH_SCOPE":
        return {
            first: "You can move money only between accounts of your own branch; ask a manager."
        }, None
    if code == "ACCOUNT_NOT_FOUND":
        return {field or first: "We could not find that account. Search again."}, None
    if code == "VALIDATION_ERROR" and _same_branch(spec, error):
        return {
            "destination": "Both accounts are in one branch; make an internal transfer instead."
        }, None
    if code in {"VALIDATION_ERROR", "MISSING_FIELD"} and error.details:
        errors: dict[str, str] = {}
        for detail in error.details:
            name = _field_for(spec, str(detail.get("field") or ""))
            if name == "amount":
                errors["amount"] = "Enter the amount in figures, like 1500.00."
            elif name:
                errors.setdefault(name, detail_words(detail, name))
        if errors:
            return errors, None
    return {}, core_message(error) if code in _KNOWN else (error.message or core_message(error))


_KNOWN = {
    "INSUFFICIENT_ROLE",
    "INSUFFICIENT_SCOPE",
    "SELF_APPROVAL_FORBIDDEN",
    "NO_OPEN_PERIOD",
    "PERIOD_CLOSED",
    "IDEMPOTENCY_CONFLICT",
    "IDEMPOTENCY_IN_PROGRESS",
    "INVALID_STATE",
    "RATE_LIMIT_EXCEEDED",
}


# -- the pages ---------------------------------------------------------------------------


async def _matches_for(
    core: CoreSession, draft: Draft | None, picker: Picker
) -> list[AccountSummary]:
    if draft is None:
        return []
    chosen = draft.accounts.get(picker.field)
    if chosen:
        return [chosen]
    text = draft.values.get(picker.field, "")
    if not text:
        return []
    try:
        return await search_accounts(core, text)
    except BankingAPIError:
        return []


def _context(spec: MoneyForm, request: Request[Any, Any, Any], **values: Any) -> Context:
    core_user = values.pop("core")
    return {
        "spec": spec,
        "page_title": values.pop("page_title", spec.title),
        "status_labels": STATUS_LABELS,
        "can_inter_branch": can(core_user.signed_in, "transfers.inter_branch"),
        "can_internal": can(core_user.signed_in, "transfers.internal"),
        **values,
    }


async def show(
    request: Request[Any, Any, Any],
    spec: MoneyForm,
    template: str,
    extra: Mapping[str, Any] | None = None,
) -> Response[Any]:
    """The form, or a draft's confirm step (``?draft=<key>``; ``&edit=1`` to change it)."""
    core = CoreSession(request)
    store = DraftStore(request, core)
    asked = request.query_params.get("draft")
    draft = await store.load(asked)
    notice = None
    if asked and draft is None and valid_key(asked):
        # The draft is gone; the action log (in the database) still knows whether it was
        # sent, so a lost draft never reads as "nothing was sent" when something was.
        sent = await _sent_before(request, core, asked)
        if sent is not None and sent.startswith("transaction:"):
            return redirect(f"/teller/receipts/{sent.removeprefix('transaction:')}")
        if sent is not None:
            notice = SENT_BEFORE
    if asked and (draft is None or draft.kind != spec.kind):
        draft, notice = None, notice or EXPIRED
    if draft is not None and draft.status == "done" and draft.result_ref:
        return redirect(f"/teller/receipts/{draft.result_ref}")
    editing = request.query_params.get("edit") == "1"
    if draft is not None and draft.status == "ready" and not editing:
        fresh = await asyncio.gather(
            *(fetch_account(core, a.id) for a in draft.accounts.values()),
            return_exceptions=True,
        )
        accounts = dict(draft.accounts)
        for name, value in zip(list(draft.accounts), fresh, strict=True):
            if isinstance(value, AccountSummary):
                accounts[name] = value
        amount = draft.values["amount"]
        currency = accounts[spec.pickers[0].field].currency
        limit = (await core.tenant()).settings.teller_approval_limit
        over_limit = Decimal(amount) > limit
        return render(
            request,
            template,
            _context(
                spec,
                request,
                core=core,
                page_title=f"Confirm the {spec.noun}",
                step="confirm",
                draft=draft,
                key=draft.key,
                accounts=accounts,
                amount=amount,
                currency=currency,
                amount_words=amount_in_words(amount, currency),
                approval_limit=money(limit, currency) if limit is not None else None,
                over_limit=over_limit,
                **(extra or {}),
            ),
        )
    matches = {picker.field: await _matches_for(core, draft, picker) for picker in spec.pickers}
    return render(
        request,
        template,
        _context(
            spec,
            request,
            core=core,
            step="form",
            draft=draft,
            key=draft.key if draft is not None else mint_key(),
            values=draft.values if draft is not None else {},
            errors=draft.errors if draft is not None else {},
            summary=draft.summary if draft is not None else None,
            notice_text=notice,
            matches=matches,
            chosen={p.field: _chosen_id(draft, p.field) for p in spec.pickers},
            **(extra or {}),
        ),
    )


async def _sent_before(request: Request[Any, Any, Any], core: CoreSession, key: str) -> str | None:
    """The action log's target for the signed-in user's write sent under ``key``
    (``transaction:<ref>`` when the core took it), ``""`` when it went out without one (a
    refusal or an outage), ``None`` when the log has no such write."""
    row = await ActionLog(console_state(request.app).database).last_sent(
        tenant=core.signed_in.tenant.code,
        user_id=core.signed_in.user.id,
        key=key,
        since=utcnow() - SENT_LOOKBACK,
    )
    if row is None:
        return None
    if row.outcome in {"success", "pending"}:
        return row.target or ""
    return ""


async def _resolve(
    core: CoreSession, text: str, chosen_id: str
) -> tuple[AccountSummary | None, str | None]:
    """The account a picker names: the chosen match, or the only account the text finds."""
    if chosen_id:
        account = await fetch_account(core, chosen_id)
        if account is not None:
            return account, None
    if not text:
        return None, "Enter an account number, the holder's name or a phone number."
    found = await search_accounts(core, text)
    if not found:
        return None, f"No account matches “{text[:64]}”. Check the number, name or phone."
    if len(found) > 1:
        return None, f"{len(found)} accounts match; choose one below."
    return found[0], None


async def continue_(request: Request[Any, Any, Any], spec: MoneyForm) -> Response[Any]:
    """Continue: check what was typed, keep it as a draft, show its confirm step."""
    core = CoreSession(request)
    store = DraftStore(request, core)
    form = await request.form()
    key = valid_key(form.get(KEY_FIELD))
    previous = await store.load(key)
    if key is None or (
        previous is not None
        and (previous.sent or previous.status == "done" or previous.kind != spec.kind)
    ):
        key = mint_key()  # a key that may have done its work is never reused for new details
    values = {picker.field: text(form, picker.field, 100) for picker in spec.pickers}
    values["amount"] = text(form, "amount", 40)
    values["narration"] = text(form, "narration", 500)
    if spec.depositor:
        values["depositor_name"] = text(form, "depositor_name", 200)
    draft = Draft(kind=spec.kind, key=key, values=values)
    try:
        for picker in spec.pickers:
            account, problem = await _resolve(
                core, values[picker.field], text(form, f"{picker.field}_id", 64)
            )
            if account is not None:
                draft.accounts[picker.field] = account
                values[picker.field] = account.account_number
            if problem:
                draft.errors[picker.field] = problem
    except BankingAPIUnavailable:
        draft.summary = "The banking service is not answering, so the account could not be "
        draft.summary += "checked. Nothing was charged. Try again."
    except BankingAPIRejected as exc:
        draft.summary = core_message(exc)
    amount = normalise_amount(values["amount"])
    problem = amount_problem(amount)
    if problem:
        draft.errors["amount"] = problem
    else:
        values["amount"] = canonical_amount(amount)
    if len(spec.pickers) > 1:
        ids = [_chosen_id(draft, p.field) for p in spec.pickers]
        if ids[0] and ids[0] == ids[1]:
            draft.errors[spec.pickers[1].field] = "Choose a different account from the source."
            draft.accounts.pop(spec.pickers[1].field, None)
    draft.status = "editing" if draft.errors or draft.summary else "ready"
    await store.save(draft)
    return redirect(f"{spec.path}?{urlencode({'draft': key})}")


def _chosen_id(draft: Draft | None, field: str) -> str | None:
    account = draft.accounts.get(field) if draft is not None else None
    return account.id if account is not None else None


def _target(spec: MoneyForm, draft: Draft) -> str:
    numbers = "->".join(draft.accounts[p.field].account_number for p in spec.pickers)
    return f"account:{numbers}"


async def submit(
    request: Request[Any, Any, Any],
    spec: MoneyForm,
    receipt_path: Callable[[str], str] = lambda ref: f"/teller/receipts/{ref}",
) -> Response[Any]:
    """Send the confirmed draft to the core, under the key minted with its form."""
    core = CoreSession(request)
    store = DraftStore(request, core)
    form = await request.form()
    key = valid_key(form.get(KEY_FIELD))
    draft = await store.load(key)
    if key is None or draft is None or draft.kind != spec.kind:
        return redirect(f"{spec.path}?{urlencode({'draft': key or 'expired'})}")
    if draft.status == "done" and draft.result_ref:
        return redirect(receipt_path(draft.result_ref))  # already posted: the same receipt
    if draft.status != "ready":
        return redirect(f"{spec.path}?{urlencode({'draft': key})}")
    draft.sent = True
    draft.summary = None
    await store.save(draft)
    transaction = await send_write(
        request,
        core,
        post_once(core, spec.core_path, spec.body(draft), key, model=Transaction),
        action=spec.action,
        target=_target(spec, draft),
        key=key,
        explain=lambda exc, _: _explained(spec, draft, exc),
        done_target=lambda t: f"transaction:{t.transaction_ref}",
        done_outcome=lambda t: "pending" if t.status == "PENDING_APPROVAL" else None,
    )
    if isinstance(transaction, Refusal):
        exc = transaction.cause
        if isinstance(exc, BankingAPIConflict) and exc.code == "IDEMPOTENCY_IN_PROGRESS":
            draft.summary = STILL_RUNNING
        elif isinstance(exc, BankingAPIRejected):
            return await _refused(store, spec, draft, transaction)
        else:
            # An outage or a 5xx: the core stored nothing under the key (or finished, and
            # will replay): the retry goes out with the same key.
            draft.summary = (
                UNAVAILABLE if isinstance(exc, BankingAPIUnavailable) else (transaction.error)
            )
        await store.save(draft)
        return redirect(f"{spec.path}?{urlencode({'draft': key})}")
    ref = transaction.transaction_ref
    draft.status = "done"
    draft.result_ref = ref
    await store.save(draft)
    forget_pending_count(core.signed_in.tenant.code)
    return redirect(receipt_path(ref))


def _explained(spec: MoneyForm, draft: Draft, error: BankingAPIError) -> tuple[FormErrors, str]:
    """A refusal in a teller's words; the core's own when none fits better."""
    errors, summary = explain_refusal(spec, draft, error)
    return FormErrors(errors), summary or ("" if errors else core_message(error))


async def _refused(
    store: DraftStore, spec: MoneyForm, draft: Draft, refusal: Refusal
) -> Response[Any]:
    """The core recorded a refusal under the key: the form again, under a fresh key, with
    the reason next to the field it concerns."""
    again = Draft(
        kind=spec.kind,
        key=mint_key(),
        values=dict(draft.values),
        accounts=dict(draft.accounts),
        errors=dict(refusal.errors),
        summary=refusal.error or None,
        status="editing",
    )
    await store.save(again)
    return redirect(f"{spec.path}?{urlencode({'draft': again.key})}")
