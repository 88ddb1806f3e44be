"""Standing instructions: the list with status filters, the create form (with the teller
pages' live account search), an instruction's page with its executions, approve (a
manager, never the creator), cancel, bulk approve from the approvals queue, and the
admin's "Run today's instructions".

Every write carries the idempotency key minted with its form and is written to the
console action log; the core decides every rule again.
"""

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException

from app.client import BankingAPIError, BankingAPIUnavailable, Job, StandingInstruction
from app.console.banking import CoreSession
from app.console.bulk_approval import BulkApproval, approve_selected
from app.console.drafts import DraftStore
from app.console.errors import UNAVAILABLE, core_message
from app.console.formatting import local_time
from app.console.htmx import render, wants_fragment
from app.console.lookup import STATUS_LABELS as ACCOUNT_STATUS
from app.console.lookup import AccountSummary, looks_like_id
from app.console.pending_count import forget_pending_count
from app.console.permissions import can
from app.console.reasons import detail_words
from app.console.standing.instructions import (
    FREQUENCIES,
    STATUS_FILTERS,
    STATUS_LABELS,
    Instruction,
    accounts_of,
    date_problem,
    executions_of,
    fetch_instruction,
    instruction_of,
    instruction_path,
    list_instructions,
    page_url,
    resolve_account,
)
from app.console.standing.queue import OWN_INSTRUCTION
from app.console.writes import (
    FORM_EXPIRED,
    FormErrors,
    Refusal,
    WriteBody,
    amount_problem,
    canonical_amount,
    error_code_of,
    key_from_form,
    mint_key,
    normalise_amount,
    post_once,
    redirect,
    send_write,
    text,
)

VIEW = {"permission": "standing.view"}
WRITE = {"permission": "standing.write"}
APPROVE = {"permission": "standing.approve"}
RUN = {"permission": "admin.manage"}
PAGE_SIZE = 25

MANAGER_APPROVES = "A manager approves standing instructions."
DONE_MESSAGES = {
    "created": "Standing instruction created. It waits for a manager's approval before it runs.",
    "approved": "Approved: the instruction now runs on its schedule.",
    "cancelled": "Cancelled: no further payments will be made.",
}
ACTION_ERRORS = {
    "SELF_APPROVAL_FORBIDDEN": OWN_INSTRUCTION,
    "INSUFFICIENT_ROLE": MANAGER_APPROVES,
    "INVALID_STATE": "This instruction is no longer in a state that allows that; someone "
    "changed it in the meantime.",
    "UNAVAILABLE": UNAVAILABLE,
}

# Form controls and the core fields they carry.
PICKERS = (
    ("source", "Source account", "source_account_id"),
    ("destination", "Destination account", "destination_account_id"),
)
CORE_FIELDS = {
    "source_account_id": "source",
    "destination_account_id": "destination",
    "amount": "amount",
    "currency": "destination",
    "frequency": "frequency",
    "start_date": "start_date",
    "end_date": "end_date",
    "narration": "narration",
}
REFUSALS = {
    "SAME_ACCOUNT": ("destination", "Choose a different account from the source."),
    "CURRENCY_MISMATCH": (
        "destination",
        "The two accounts hold different currencies; an instruction moves one currency only.",
    ),
    "ACCOUNT_NOT_ACTIVE": ("source", "This account is not active, so nothing can be paid from it."),
    "ACCOUNT_FROZEN": ("source", "This account is frozen, so nothing can be paid from it."),
    "BRANCH_SCOPE": (
        "source",
        "You can set up instructions only for accounts of your own branch; ask a manager.",
    ),
    "ACCOUNT_NOT_FOUND": ("source", "We could not find that account. Search again."),
}


async def _timezone(core: CoreSession) -> str:
    return (await core.tenant()).timezone


# -- the list -------------------------------------------------------------------------------


class JobRun(msgspec.Struct, kw_only=True, frozen=True):
    """Today's run of the daily job as the list shows it after "Run": its counts, or why
    it did not run (``error``)."""

    error: str | None = None
    business_date: str = ""
    status: str = ""
    executed: int = 0
    failed: int = 0
    job_id: str = ""
    completed_at: str = ""


async def _list_page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    *,
    job: JobRun | None = None,
    status_code: int = 200,
) -> Response[Any]:
    status = request.query_params.get("status") or None
    if status not in STATUS_FILTERS:
        status = None
    cursor = request.query_params.get("cursor") or None
    items, following = await list_instructions(core, status, cursor, PAGE_SIZE)
    accounts = await accounts_of(core, items)
    instructions = [instruction_of(i, accounts) for i in items]
    if job is None:
        job = await DraftStore(request, core).load_blob(request.query_params.get("job"), JobRun)
    base = {"status": status} if status else {}
    next_url = f"/standing?{urlencode({**base, 'cursor': following})}" if following else None
    fragment = cursor is not None and wants_fragment(request)
    return render(
        request,
        "standing/index.html",
        {
            "page_title": "Standing instructions",
            "tenant": await core.tenant(),
            "instructions": instructions,
            "status": status,
            "filters": [(None, "All"), *((s, STATUS_LABELS[s]) for s in STATUS_FILTERS)],
            "next_url": next_url,
            "cursor": cursor,
            "first_url": f"/standing?{urlencode(base)}" if base else "/standing",
            "can_create": can(core.signed_in, "standing.write"),
            "can_run": can(core.signed_in, "admin.manage"),
            "run_key": mint_key(),
            "job": job,
        },
        block="rows" if fragment else None,
        status_code=status_code,
    )


@get("/standing", opt=VIEW, name="standing")
async def standing_list(request: Request[Any, Any, Any]) -> Response[Any]:
    """Instructions, newest first, filtered by status (``?status=``)."""
    return await _list_page(request, CoreSession(request))


def _run_error(exc: BankingAPIError) -> str:
    return UNAVAILABLE if isinstance(exc, BankingAPIUnavailable) else core_message(exc)


@post("/standing/run", opt=RUN, name="standing_run")
async def run_today(request: Request[Any, Any, Any]) -> Response[Any]:
    """ "Run today's instructions": the daily job for the business date, run to completion."""
    form = await request.form()
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _list_page(request, core, job=JobRun(error=FORM_EXPIRED), status_code=400)
    store = DraftStore(request, core)
    result_key = mint_key()
    tenant = await core.tenant()
    day = tenant.business_date.isoformat()
    job = await send_write(
        request,
        core,
        core.post("/jobs/standing-instructions/trigger", {}, idempotency_key=key, model=Job),
        action="standing.run",
        target=f"business_date:{day}",
        key=key,
        explain=lambda exc, _: (FormErrors(), _run_error(exc)),
        done_target=lambda job: f"job:{job.job_id}",
    )
    if isinstance(job, Refusal):
        await store.save_blob(result_key, JobRun(error=job.error or ""))
        return redirect(f"/standing?{urlencode({'job': result_key})}")
    await store.save_blob(
        result_key,
        JobRun(
            business_date=job.business_date.isoformat(),
            status=job.status,
            executed=job.instructions_executed,
            failed=job.instructions_failed,
            job_id=job.job_id,
            completed_at=local_time(job.completed_at, tenant.timezone),
        ),
    )
    return redirect(f"/standing?{urlencode({'job': result_key})}")


# -- creating one ---------------------------------------------------------------------------


FORM_FIELDS = (
    "source",
    "destination",
    "amount",
    "frequency",
    "start_date",
    "end_date",
    "narration",
)


async def _form_page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    *,
    values: dict[str, str],
    key: str,
    matches: dict[str, list[AccountSummary]] | None = None,
    chosen: dict[str, str | None] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    return render(
        request,
        "standing/new.html",
        {
            "page_title": "New standing instruction",
            "tenant": await core.tenant(),
            "values": values,
            "key": key,
            "pickers": [{"field": f, "label": label} for f, label, _ in PICKERS],
            "matches": matches or {},
            "chosen": chosen or {},
            "errors": FormErrors(errors or {}),
            "error": error,
            "frequency_options": list(FREQUENCIES.items()),
            "status_labels": ACCOUNT_STATUS,
        },
        block=None,
        status_code=status_code,
    )


@get("/standing/new", opt=WRITE, name="standing_new")
async def standing_new(request: Request[Any, Any, Any]) -> Response[Any]:
    """The create form (starting tomorrow, monthly, by default)."""
    core = CoreSession(request)
    tomorrow = (await core.tenant()).business_date + timedelta(days=1)
    values = {name: "" for name in FORM_FIELDS}
    values.update(frequency="MONTHLY", start_date=tomorrow.isoformat())
    return await _form_page(request, core, values=values, key=mint_key())


@post("/standing", opt=WRITE, name="standing_create")
async def standing_create(request: Request[Any, Any, Any]) -> Response[Any]:
    """Create the instruction; it waits for a manager's approval."""
    form = await request.form()
    values = {name: text(form, name, 500 if name == "narration" else 100) for name in FORM_FIELDS}
    key = key_from_form(form)
    core = CoreSession(request)
    errors: dict[str, str] = {}
    matches: dict[str, list[AccountSummary]] = {}
    chosen: dict[str, str | None] = {}
    accounts: dict[str, AccountSummary] = {}
    for name, _, _ in PICKERS:
        account, found, problem = await resolve_account(
            core, values[name], text(form, f"{name}_id", 64)
        )
        matches[name] = found
        if account is not None:
            accounts[name] = account
            chosen[name] = account.id
            values[name] = account.account_number
        if problem:
            errors[name] = problem
    if (
        "source" in accounts
        and "destination" in accounts
        and accounts["source"].id == accounts["destination"].id
    ):
        errors["destination"] = "Choose a different account from the source."
    amount = normalise_amount(values["amount"])
    problem = amount_problem(amount)
    if problem:
        errors["amount"] = problem
    else:
        values["amount"] = canonical_amount(amount)
    if values["frequency"] not in FREQUENCIES:
        errors["frequency"] = "Choose how often it pays: daily, weekly or monthly."
    start, start_problem = date_problem(values["start_date"], "Start date", required=True)
    end, end_problem = date_problem(values["end_date"], "End date", required=False)
    if start_problem:
        errors["start_date"] = start_problem
    if end_problem:
        errors["end_date"] = end_problem
    if start and end and end < start:
        errors["end_date"] = "The end date is before the start date."
    if not values["narration"]:
        errors["narration"] = "Enter a narration; it appears on both accounts' statements."
    if key is None or errors:
        return await _form_page(
            request,
            core,
            values=values,
            key=key or mint_key(),
            matches=matches,
            chosen=chosen,
            errors=errors,
            error=FORM_EXPIRED if key is None else None,
            status_code=400,
        )
    assert key is not None
    body: WriteBody = {
        "source_account_id": accounts["source"].id,
        "destination_account_id": accounts["destination"].id,
        "amount": values["amount"],
        "currency": accounts["source"].currency,
        "frequency": values["frequency"],
        "start_date": values["start_date"],
        "narration": values["narration"],
    }
    if values["end_date"]:
        body["end_date"] = values["end_date"]
    created = await send_write(
        request,
        core,
        core.post("/standing-instructions", body, idempotency_key=key, model=StandingInstruction),
        action="standing.create",
        target=f"account:{values['source']}->{values['destination']}",
        key=key,
        explain=lambda exc, _: _refusal(exc),
        done_target=lambda created: f"standing_instruction:{created.id}",
    )
    if isinstance(created, Refusal):
        return await _form_page(
            request,
            core,
            values=values,
            key=created.key,
            matches=matches,
            chosen=chosen,
            errors=created.errors,
            error=created.error,
            status_code=created.status_code,
        )
    instruction_id = created.id
    forget_pending_count(core.signed_in.tenant.code)  # a new item for the managers' count
    return redirect(f"{page_url(instruction_id)}?done=created")


def _refusal(error: BankingAPIError) -> tuple[FormErrors, str | None]:
    """The core's refusal as ``({control: message}, summary)``."""
    if error.code in REFUSALS:
        control, message = REFUSALS[error.code]
        detail_field = next((str(d.get("field")) for d in error.details if d.get("field")), "")
        control = CORE_FIELDS.get(detail_field, control)
        return FormErrors({control: message}), None
    if error.code in {"VALIDATION_ERROR", "MISSING_FIELD"} and error.details:
        errors = FormErrors()
        for detail in error.details:
            named = CORE_FIELDS.get(str(detail.get("field") or ""))
            if named is None:
                continue
            if named == "amount":
                errors[named] = "Enter the amount in figures, like 1500.00."
            else:
                errors.setdefault(named, detail_words(detail, named))
        if errors:
            return errors, None
        return FormErrors(), " ".join(
            ["Some details need attention.", *(detail_words(d) for d in error.details)]
        )
    if isinstance(error, BankingAPIUnavailable):
        return FormErrors(), UNAVAILABLE
    return FormErrors(), error.message if error.status == 422 and error.message else core_message(
        error
    )


# -- one instruction ----------------------------------------------------------------------


async def _instruction(core: CoreSession, instruction_id: str) -> Instruction:
    raw = await fetch_instruction(core, instruction_id)
    if raw is None:
        raise NotFoundException("no such standing instruction")
    accounts = await accounts_of(core, [raw])
    return instruction_of(raw, accounts)


@get("/standing/{instruction_id:str}", opt=VIEW, name="standing_instruction")
async def standing_detail(request: Request[Any, Any, Any], instruction_id: str) -> Response[Any]:
    """An instruction in full, its executions, and the approve / cancel forms."""
    core = CoreSession(request)
    instruction = await _instruction(core, instruction_id)
    executions = await executions_of(core, instruction)
    timezone = await _timezone(core)
    error = request.query_params.get("error")
    made_by_me = instruction.created_by == core.signed_in.user.id
    return render(
        request,
        "standing/detail.html",
        {
            "page_title": f"Standing instruction {instruction.ref}",
            "tenant": await core.tenant(),
            "si": instruction,
            "executions": executions,
            "paid_count": sum(1 for e in executions if e.status_label == "Paid"),
            "failed_count": sum(1 for e in executions if e.status == "FAILED"),
            "created": local_time(instruction.created_at, timezone),
            "approved": local_time(instruction.approved_at, timezone),
            "made_by_me": made_by_me,
            "can_approve": can(core.signed_in, "standing.approve"),
            "can_cancel": can(core.signed_in, "standing.write"),
            "own_instruction": OWN_INSTRUCTION,
            "manager_approves": MANAGER_APPROVES,
            "approve_key": mint_key(),
            "cancel_key": mint_key(),
            "done": DONE_MESSAGES.get(request.query_params.get("done", "")),
            "error": ACTION_ERRORS.get(error or "", core_message(BankingAPIError(error, "")))
            if error
            else None,
        },
        block=None,
    )


async def _act(request: Request[Any, Any, Any], instruction_id: str, verb: str) -> Response[Any]:
    if not looks_like_id(instruction_id):
        raise NotFoundException("no such standing instruction")
    form = await request.form()
    core = CoreSession(request)
    key = key_from_form(form) or mint_key()
    reason = text(form, "reason", 500) if verb == "cancel" else ""
    done = await send_write(
        request,
        core,
        post_once(
            core,
            instruction_path(instruction_id) + f"/{verb}",
            {"reason": reason} if reason else {},
            key,
        ),
        action=f"standing.{verb}",
        target=f"standing_instruction:{instruction_id}",
        key=key,
    )
    if isinstance(done, Refusal):
        if done.status_code == 404:
            raise NotFoundException("no such standing instruction")
        assert done.cause is not None
        code = error_code_of(done.cause)
        return redirect(f"{page_url(instruction_id)}?{urlencode({'error': code})}")
    forget_pending_count(core.signed_in.tenant.code)
    outcome = "approved" if verb == "approve" else "cancelled"
    return redirect(f"{page_url(instruction_id)}?done={outcome}")


@post("/standing/{instruction_id:str}/approve", opt=APPROVE, name="standing_approve")
async def standing_approve(request: Request[Any, Any, Any], instruction_id: str) -> Response[Any]:
    """Approve (a manager, never the creator): the instruction starts running."""
    return await _act(request, instruction_id, "approve")


@post("/standing/{instruction_id:str}/cancel", opt=WRITE, name="standing_cancel")
async def standing_cancel(request: Request[Any, Any, Any], instruction_id: str) -> Response[Any]:
    """Cancel: no further payments."""
    return await _act(request, instruction_id, "cancel")


STANDING_BULK = BulkApproval(
    action="standing.approve",
    target=lambda item_id, _ref: f"standing_instruction:{item_id}",
    approve=lambda core, item_id, key: post_once(
        core, instruction_path(item_id) + "/approve", {}, key, model=StandingInstruction
    ),
    ref_of=lambda approved: approved.reference,
    href=lambda item_id, _ref: page_url(item_id),
    done="Approved: it runs on its schedule.",
    refused=lambda exc: ACTION_ERRORS.get(error_code_of(exc), core_message(exc)),
)


@post("/standing/approve-selected", opt=APPROVE, name="standing_approve_selected")
async def approve_selected_instructions(request: Request[Any, Any, Any]) -> Response[Any]:
    """ "Approve selected" in the approvals queue's standing-instructions section: each one
    approved on its own, with its own result."""
    return await approve_selected(request, STANDING_BULK)


standing_router = Router(
    path="/",
    route_handlers=[
        standing_list,
        run_today,
        standing_new,
        standing_create,
        approve_selected_instructions,
        standing_detail,
        standing_approve,
        standing_cancel,
    ],
)
