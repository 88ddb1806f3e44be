"""Journals: the list with filters, the composer, a journal's page and its actions.

    GET  /journals                     the list (status, dates, maker), a page at a time
    GET  /journals/new                 the composer (``?draft=<key>`` after a form post)
    POST /journals/new                 "Add line", "Remove line", "Submit for approval"
    POST /journals/new/totals          the live totals (an htmx fragment, out-of-band swaps)
    GET  /journals/accounts            a line's live account search (fragment)
    GET  /journals/{id}                the journal: lines, totals, period, timeline, actions
    POST /journals/{id}/approve|reject|post
    GET  /journals/{id}/reverse        the reason, then "Confirm reversal", then the mirror
    POST /journals/{id}/reverse

Without JavaScript every button is a plain form post that redirects to the composer's
draft; with htmx, "Add line" and "Remove line" swap the lines and the totals follow the
amounts as they are typed. The idempotency key is minted when the composer is first
rendered and travels with its draft, so a double click submits one journal.
"""

import asyncio
import time
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from markupsafe import Markup

from app.client import (
    BankingAPIConflict,
    BankingAPIError,
    BankingAPINotFound,
    BankingAPIUnavailable,
    Journal,
)
from app.console.banking import CoreSession
from app.console.bulk_approval import Decided, show_results
from app.console.concurrent import together
from app.console.confirm import ConfirmedAction, ConfirmPage, Reason, Subject, confirmed_routes
from app.console.drafts import valid_key
from app.console.errors import UNAVAILABLE
from app.console.formatting import local_time
from app.console.htmx import Context, render, render_fragments, wants_fragment
from app.console.journals.accounts import LineAccount, line_accounts, search_line_accounts
from app.console.journals.actions import (
    ACTION_LOG,
    DONE,
    action_error,
    journal_action,
)
from app.console.journals.composer import (
    JOURNAL_TYPES,
    MIN_LINES,
    JournalDraft,
    Line,
    apply_line_action,
    blank_draft,
    check_header,
    check_lines,
    compute_totals,
    core_body,
    draft_from_form,
    explain_core_error,
    looks_like_id,
)
from app.console.journals.drafts import JournalDrafts
from app.console.journals.views import (
    OWN_JOURNAL,
    OWN_POSTING,
    STATUS_LABELS,
    STATUSES,
    actions_for,
    amount_shown,
    lines_of,
    made_by,
    missing_accounts,
    period_name,
    person,
    status_label,
    timeline,
    totals_of,
    type_label,
)
from app.console.lookup import STATUS_LABELS as ACCOUNT_STATUS
from app.console.pending_count import forget_pending_count
from app.console.permissions import can
from app.console.writes import (
    FORM_EXPIRED,
    KEY_FIELD,
    FormErrors,
    Refusal,
    error_code_of,
    key_from_form,
    mint_key,
    post_once,
    redirect,
    send_write,
    text,
)

VIEW = {"permission": "journals.view"}
COMPOSE = {"permission": "journals.compose"}
DECIDE = {"permission": "approvals.decide"}
POST_JOURNAL = {"permission": "journals.post"}
REVERSE = {"permission": "journals.reverse"}
PAGE_SIZE = 25
MAKER_CACHE_SECONDS = 60.0

STILL_RUNNING = "This is still being processed. Wait a moment, then press the button again."


def journal_url(journal_id: str, **query: str) -> str:
    """The console page of one journal."""
    path = f"/journals/{quote(journal_id, safe='')}"
    wanted = {k: v for k, v in query.items() if v}
    return f"{path}?{urlencode(wanted)}" if wanted else path


def _from_queue(value: Any) -> str:
    """Where the user came from ("approvals" brings them back to the queue)."""
    return "approvals" if str(value or "") == "approvals" else ""


# -- the list -------------------------------------------------------------------------------

# tenant code → (time, [(user ID, email)]) of recent makers, for the "Made by" filter
_makers: dict[str, tuple[float, list[tuple[str, str]]]] = {}


async def _maker_options(core: CoreSession) -> list[tuple[str, str]]:
    """The "Made by" choices: me, then who made the tenant's recent journals (kept briefly)."""
    me = core.signed_in.user
    tenant = core.signed_in.tenant.code
    cached = _makers.get(tenant)
    now = time.monotonic()
    if cached is None or now - cached[0] >= MAKER_CACHE_SECONDS:
        params = {"limit": 200, "entries": "false"}
        try:
            recent = (await core.get_page("/journals", Journal, params=params)).items
        except BankingAPIError:
            recent = []
        seen: dict[str, str] = {}
        for journal in recent:
            if journal.created_by not in seen:
                seen[journal.created_by] = person(journal, "created")
        cached = (now, sorted(seen.items(), key=lambda item: item[1]))
        _makers[tenant] = cached
    others = [(uid, label) for uid, label in cached[1] if uid != me.id]
    return [(me.id, f"Me ({me.email})"), *others]


def _date_filter(value: str) -> tuple[str, str | None]:
    if not value:
        return "", None
    try:
        return date.fromisoformat(value).isoformat(), None
    except ValueError:
        return "", "Enter dates like 2026-11-23."


@dataclass(frozen=True)
class JournalRow:
    """A journal as the list shows it (its totals, not its lines)."""

    id: str
    number: str
    type: str
    description: str
    effective_date: str
    maker: str
    made: str
    status: str
    status_label: str
    amount: str
    reversal: bool


def _list_row(journal: Journal, timezone: str) -> JournalRow:
    return JournalRow(
        id=journal.id,
        number=journal.journal_number,
        type=type_label(journal.journal_type),
        description=journal.description,
        effective_date=journal.effective_date.isoformat(),
        maker=person(journal, "created"),
        made=local_time(journal.created_at, timezone),
        status=journal.status,
        status_label=status_label(journal.status),
        amount=amount_shown(journal),
        reversal=bool(journal.reverses_journal_id),
    )


@get("/journals", opt=VIEW, name="journals")
async def journal_list(request: Request[Any, Any, Any]) -> Response[Any]:
    """Journals filtered by status, effective dates and maker; newest first."""
    params = request.query_params
    status = params.get("status", "").upper()
    status = status if status in STATUSES else ""
    start, start_error = _date_filter(params.get("from", "").strip()[:20])
    end, end_error = _date_filter(params.get("to", "").strip()[:20])
    maker = params.get("maker", "").strip()[:64]
    maker = maker if looks_like_id(maker) else ""
    cursor = params.get("cursor") or None
    notice = start_error or end_error
    if start and end and start > end:
        notice, start, end = "“From” is after “To”; showing every date instead.", "", ""
    core = CoreSession(request)
    tenant, page, makers = await together(
        core.tenant(),
        core.get_page(
            "/journals",
            Journal,
            params={
                "status": status or None,
                "from": start or None,
                "to": end or None,
                "created_by": maker or None,
                "cursor": cursor,
                "limit": PAGE_SIZE,
                "entries": "false",  # the list shows each journal's totals, not its lines
            },
        ),
        _maker_options(core),
    )
    timezone = tenant.timezone
    if maker and maker not in {uid for uid, _ in makers}:
        makers.append((maker, "The chosen staff member"))
    filters = {"status": status, "from": start, "to": end, "maker": maker}
    query = {k: v for k, v in filters.items() if v}
    next_url = None
    if page.has_more and page.next_cursor:
        next_url = "/journals?" + urlencode({**query, "cursor": page.next_cursor})
    return render(
        request,
        "journals/index.html",
        {
            "page_title": "Journals",
            "tenant": tenant,
            "filters": filters,
            "cursor": cursor,
            "journals": [_list_row(j, timezone) for j in page.items],
            "next_url": next_url,
            "first_url": "/journals" + (f"?{urlencode(query)}" if query else ""),
            "status_options": list(STATUS_LABELS.items()),
            "maker_options": makers,
            "notice_text": notice,
            "can_compose": can(core.signed_in, "journals.compose"),
        },
        block="rows" if cursor and wants_fragment(request) else "results",
    )


# -- the composer ---------------------------------------------------------------------------


async def _resolve_lines(
    core: CoreSession, draft: JournalDraft, *, search: bool
) -> tuple[dict[int, LineAccount | None], dict[int, list[LineAccount]]]:
    """Each line's account (``None`` when not settled) and the matches to show under it.

    A chosen account stands unless the text was changed to something else since; typed
    text with exactly one match picks that account (``search``: look the text up).
    """
    known = await line_accounts(core, [line.account_id for line in draft.lines])
    chosen: dict[int, LineAccount | None] = {}
    matches: dict[int, list[LineAccount]] = {}
    lookups: dict[int, str] = {}
    for index, line in enumerate(draft.lines):
        account = known.get(line.account_id)
        typed = line.account.strip()
        chosen[index] = account
        matches[index] = [account] if account is not None else []
        if account is not None and (not typed or typed.lower() == account.number.lower()):
            continue
        if search and typed:
            lookups[index] = typed
    found = await asyncio.gather(*(search_line_accounts(core, t) for t in lookups.values()))
    for index, results in zip(lookups, found, strict=True):
        current = chosen[index]
        if current is not None and any(r.id == current.id for r in results):
            pass  # the chosen one is among the matches: keep it
        elif len(results) == 1:
            chosen[index] = results[0]
        else:
            chosen[index] = None
        matches[index] = results
    for index, account in chosen.items():
        line = draft.lines[index]
        if account is not None:
            line.account_id = account.id
            line.account = account.number
    return chosen, matches


def _account_problems(
    draft: JournalDraft,
    chosen: dict[int, LineAccount | None],
    matches: dict[int, list[LineAccount]],
) -> None:
    for index, line in enumerate(draft.lines):
        if line.blank or chosen.get(index) is not None:
            continue
        found = matches.get(index) or []
        typed = line.account.strip()
        if not typed:
            message = "Choose the account: type a GL code or name, an account number or a name."
        elif found:
            message = f"{len(found)} accounts match “{typed[:64]}”; choose one below."
        else:
            message = f"No account that takes manual entries matches “{typed[:64]}”."
        draft.errors[f"lines-{index}-account"] = message


def _currencies(chosen: dict[int, LineAccount | None]) -> dict[int, str]:
    return {i: a.currency for i, a in chosen.items() if a is not None}


async def _composer_context(
    core: CoreSession, draft: JournalDraft, *, search: bool = True
) -> Context:
    tenant = await core.tenant()
    chosen, matches = await _resolve_lines(core, draft, search=search)
    totals = compute_totals(draft.lines, _currencies(chosen), tenant.base_currency)
    return {
        "page_title": "New journal",
        "tenant": tenant,
        "draft": draft,
        "key": draft.key,
        "lines": draft.lines,
        "chosen": chosen,
        "matches": matches,
        "totals": totals,
        "errors": draft.errors,
        "journal_types": list(JOURNAL_TYPES.items()),
        "account_status": ACCOUNT_STATUS,
        "can_remove": len(draft.lines) > MIN_LINES,
        "business_date": tenant.business_date.isoformat(),
        "oob": False,
    }


@get("/journals/new", opt=COMPOSE, name="journal_new")
async def composer(request: Request[Any, Any, Any]) -> Response[Any]:
    """The composer: a new journal, or a draft after a form post (``?draft=<key>``)."""
    core = CoreSession(request)
    store = JournalDrafts(request, core)
    asked = request.query_params.get("draft")
    draft = await store.load(asked)
    notice = None
    if asked and draft is None:
        notice = "That draft has expired, so nothing was sent. Fill the journal in again."
    if draft is not None and draft.status == "done" and draft.journal_id:
        return redirect(journal_url(draft.journal_id))
    if draft is None:
        draft = blank_draft(mint_key(), (await core.tenant()).business_date.isoformat())
    context = await _composer_context(core, draft)
    context["notice_text"] = notice
    return render(request, "journals/new.html", context, block=None)


@post("/journals/new", opt=COMPOSE, name="journal_compose")
async def compose(request: Request[Any, Any, Any]) -> Response[Any]:
    """The composer's buttons: "Add line", "Remove line", "Submit for approval".

    With htmx, adding or removing a line answers with the lines and the totals; without
    it (and for a refresh by Enter) the draft is kept and the composer shown again.
    """
    return await _compose(request)


async def _compose(request: Request[Any, Any, Any]) -> Response[Any]:
    core = CoreSession(request)
    store = JournalDrafts(request, core)
    form = await request.form()
    action = str(form.get("action") or "refresh")[:30]
    key = valid_key(form.get(KEY_FIELD))
    if action == "submit":
        return await _submit(request, core, store, form, key)
    draft = draft_from_form(form, key or mint_key())
    apply_line_action(draft, action)
    if wants_fragment(request) and action != "refresh":
        context = await _composer_context(core, draft)
        return render_fragments(
            request, "journals/new.html", context, ["lines", "totals", "submit"]
        )
    if action == "refresh":
        draft.focus_line = None
    await store.save(draft)
    return redirect(f"/journals/new?{urlencode({'draft': draft.key})}")


@post("/journals/new/totals", opt=COMPOSE, name="journal_totals")
async def live_totals(request: Request[Any, Any, Any]) -> Response[Any]:
    """The debit and credit totals and the difference, recomputed as amounts change."""
    if not wants_fragment(request):
        return await _compose(request)  # no script: the same as pressing Enter
    core = CoreSession(request)
    form = await request.form()
    draft = draft_from_form(form, "")
    context = await _composer_context(core, draft, search=False)
    return render_fragments(request, "journals/new.html", context, ["totals", "submit"])


@get("/journals/accounts", opt=COMPOSE, name="journal_account_search")
async def account_search(request: Request[Any, Any, Any]) -> Response[Any]:
    """One line's live account search: GL accounts and customer accounts matching the text."""
    try:
        index = max(0, min(int(request.query_params.get("line", "0")), 999))
    except ValueError:
        index = 0
    query = (
        request.query_params.get(f"lines-{index}-account") or request.query_params.get("q") or ""
    ).strip()[:64]
    core = CoreSession(request)
    found = await search_line_accounts(core, query)
    return render(
        request,
        "journals/accounts.html",
        {
            "page_title": "Find an account for a journal line",
            "index": index,
            "query": query,
            "found": found,
            "picked": found[0].id if len(found) == 1 else None,
            "account_status": ACCOUNT_STATUS,
        },
        block="matches",
    )


async def _submit(
    request: Request[Any, Any, Any],
    core: CoreSession,
    store: JournalDrafts,
    form: Any,
    key: str | None,
) -> Response[Any]:
    """Submit for approval: check it all, then ``POST /journals`` under the form key."""
    previous = await store.load(key)
    if previous is not None and previous.status == "done" and previous.journal_id:
        return redirect(journal_url(previous.journal_id))  # a double click: the same journal
    draft = draft_from_form(form, key or mint_key())
    again = f"/journals/new?{urlencode({'draft': draft.key})}"
    if key is None:
        draft.summary = FORM_EXPIRED
        await store.save(draft)
        return redirect(again)
    tenant = await core.tenant()
    today = tenant.business_date
    chosen, matches = await _resolve_lines(core, draft, search=True)
    check_header(draft, today)
    _account_problems(draft, chosen, matches)
    check_lines(draft, chosen)
    totals = compute_totals(draft.lines, _currencies(chosen), tenant.base_currency)
    if not draft.errors and not draft.summary and not totals.balanced:
        draft.summary = totals.explain()
    if draft.errors or draft.summary:
        draft.summary = draft.summary or "Some details need attention; see the messages below."
        await store.save(draft)
        return redirect(again)
    journal = core_body(draft, chosen, today)
    draft.sent = True
    await store.save(draft)
    created = await send_write(
        request,
        core,
        post_once(core, "/journals", journal.body, draft.key, model=Journal),
        action="journal.create",
        target="journal:new",
        key=draft.key,
        done_target=lambda created: f"journal:{created.journal_number}",
    )
    if isinstance(created, Refusal):
        assert created.cause is not None
        exc = created.cause
        retry = JournalDraft(
            key=created.key,
            description=draft.description,
            effective_date=draft.effective_date,
            journal_type=draft.journal_type,
            lines=[Line(**vars(line)) for line in draft.lines],
            sent=created.key == draft.key,
        )
        if isinstance(exc, BankingAPIUnavailable):
            retry.summary = UNAVAILABLE
        elif isinstance(exc, BankingAPIConflict) and exc.code == "IDEMPOTENCY_IN_PROGRESS":
            retry.summary = STILL_RUNNING
        else:
            explain_core_error(exc, retry, journal, chosen, today.isoformat())
        await store.save(retry)
        return redirect(f"/journals/new?{urlencode({'draft': retry.key})}")
    journal_id = created.id
    draft.status, draft.journal_id = "done", journal_id
    await store.save(draft)
    forget_pending_count(core.signed_in.tenant.code)
    return redirect(journal_url(journal_id, done="submitted"))


# -- one journal ----------------------------------------------------------------------------


async def _linked(core: CoreSession, journal_id: str | None) -> Journal | None:
    if not journal_id or not looks_like_id(journal_id):
        return None
    try:
        return await core.get(f"/journals/{journal_id}", model=Journal)
    except BankingAPINotFound:
        return None


async def journal_page_context(core: CoreSession, journal: Journal, came_from: str = "") -> Context:
    """Everything a journal's page (or its approval view) shows."""
    tenant = await core.tenant()
    timezone = tenant.timezone
    ids = missing_accounts(journal)
    accounts, reversal, original, period = await asyncio.gather(
        line_accounts(core, ids),
        _linked(core, journal.reversal_journal_id),
        _linked(core, journal.reverses_journal_id),
        period_name(core, journal),
    )
    signed_in = core.signed_in
    return {
        "page_title": f"Journal {journal.journal_number}",
        "tenant": tenant,
        "j": journal,
        "number": journal.journal_number,
        "type_label": type_label(journal.journal_type),
        "status": journal.status,
        "status_label": status_label(journal.status),
        "lines": lines_of(journal, accounts),
        "totals": totals_of(journal),
        "period": period,
        "maker": person(journal, "created", signed_in),
        "made": local_time(journal.created_at, timezone),
        "events": timeline(journal, timezone, signed_in),
        "reversal": reversal,
        "original": original,
        "actions": actions_for(journal, signed_in),
        "made_by_me": made_by(journal, signed_in.user.id),
        "own_journal": OWN_JOURNAL,
        "own_posting": OWN_POSTING,
        "came_from": came_from,
        "approve_key": mint_key(),
        "reject_key": mint_key(),
        "post_key": mint_key(),
        "reverse_key": mint_key(),
    }


def _journal_id_or_404(journal_id: str) -> str:
    if not looks_like_id(journal_id):
        raise NotFoundException("no such journal")
    return journal_id


@get("/journals/{journal_id:str}", opt=VIEW, name="journal")
async def journal_detail(request: Request[Any, Any, Any], journal_id: str) -> Response[Any]:
    """A journal: lines with accounts, totals, period, timeline, and what the user may do."""
    _journal_id_or_404(journal_id)
    core = CoreSession(request)
    journal = await core.get(f"/journals/{journal_id}", model=Journal)
    came_from = _from_queue(request.query_params.get("from"))
    context = await journal_page_context(core, journal, came_from)
    error = request.query_params.get("error") or ""
    verb = request.query_params.get("verb") or "approve"
    context.update(
        {
            "done": DONE.get(request.query_params.get("done") or ""),
            "error": action_error(error, verb) if error else None,
            "reason_error": error == "REASON_REQUIRED",
        }
    )
    return render(request, "journals/detail.html", context, block=None)


async def _act(request: Request[Any, Any, Any], journal_id: str, verb: str) -> Response[Any]:
    """Approve, reject or post from the journal's page (or the queue), then back there."""
    _journal_id_or_404(journal_id)
    core = CoreSession(request)
    form = await request.form()
    key = key_from_form(form) or mint_key()
    came_from = _from_queue(form.get("from"))
    reason = text(form, "reason", 500) if verb == "reject" else None
    if verb == "reject" and not reason:
        return redirect(
            journal_url(journal_id, error="REASON_REQUIRED", verb=verb, **{"from": came_from})
        )
    journal = await send_write(
        request,
        core,
        journal_action(core, journal_id, verb, key, reason),
        action=ACTION_LOG[verb],
        target=f"journal:{journal_id}",
        key=key,
        done_target=lambda journal: f"journal:{journal.journal_number}",
    )
    if isinstance(journal, Refusal):
        if journal.status_code == 404:
            raise NotFoundException("no such journal")
        assert journal.cause is not None
        return redirect(
            journal_url(
                journal_id, error=error_code_of(journal.cause), verb=verb, **{"from": came_from}
            )
        )
    number = journal.journal_number
    forget_pending_count(core.signed_in.tenant.code)
    done = {"approve": "approved", "reject": "rejected", "post": "posted"}[verb]
    if came_from == "approvals":
        outcome = DONE[done]
        return await show_results(
            request,
            core,
            [Decided(ref=number, href=journal_url(journal_id), ok=True, outcome=outcome)],
        )
    return redirect(journal_url(journal_id, done=done))


@post("/journals/{journal_id:str}/approve", opt=DECIDE, name="journal_approve")
async def approve(request: Request[Any, Any, Any], journal_id: str) -> Response[Any]:
    """Approve a pending journal (never one's own); it still has to be posted."""
    return await _act(request, journal_id, "approve")


@post("/journals/{journal_id:str}/reject", opt=DECIDE, name="journal_reject")
async def reject(request: Request[Any, Any, Any], journal_id: str) -> Response[Any]:
    """Reject a pending journal, with a reason."""
    return await _act(request, journal_id, "reject")


@post("/journals/{journal_id:str}/post", opt=POST_JOURNAL, name="journal_post")
async def post_journal(request: Request[Any, Any, Any], journal_id: str) -> Response[Any]:
    """Post an approved journal: the balances change now."""
    return await _act(request, journal_id, "post")


# -- reversal: a reason, a confirmation, then the mirror journal ----------------------------


async def _reverse_subject(core: CoreSession, journal_id: str) -> Subject:
    journal = await core.get(f"/journals/{journal_id}", model=Journal)
    context = await journal_page_context(core, journal)
    number = context["number"]
    actions = actions_for(journal, core.signed_in)
    notice: str | None
    if context["status"] != "POSTED":
        state = context["status_label"].lower()
        notice = f"This journal is {state}: only a posted journal can be reversed."
    elif not actions.reverse and actions.reverse_blocked:
        notice = actions.reverse_blocked
    else:
        notice = actions.not_reversible
    totals = context["totals"]
    amount = f"for {totals[0].shown('debit')}" if totals else ""
    page = ConfirmPage(
        title=f"Reverse journal {number}",
        heading="Why reverse it?",
        question=Markup('Reverse journal <span class="mono">{}</span> {}?').format(number, amount),
        button="Confirm reversal",
        cancel_url=journal_url(journal_id),
        danger=True,
        notes=("The reversal cannot itself be reversed.",),
        notice=notice,
        continue_button="Reverse",
        continue_danger=True,
    )
    context["business_date"] = (await core.tenant()).business_date.isoformat()
    return Subject(context=context, page=page)


async def _reverse(core: CoreSession, journal_id: str, reason: str, key: str) -> Any:
    return await journal_action(core, journal_id, "reverse", key, reason)


async def _reverse_target(core: CoreSession, journal_id: str) -> str:
    journal = await core.get(f"/journals/{journal_id}", model=Journal)
    return f"journal:{journal.journal_number}"


def _mirror_url(journal_id: str, result: Journal) -> str:
    """The mirror journal's page (the core answers with the one or the other)."""
    if result.reverses_journal_id == journal_id:
        mirror = result.id
    else:
        mirror = result.reversal_journal_id or ""
    if not looks_like_id(mirror):
        return journal_url(journal_id)
    return journal_url(mirror, done="reversed")


# Step one asks why, step two asks "Confirm reversal"; then the mirror journal.
REVERSE_JOURNAL = ConfirmedAction(
    name="journal_reverse",
    path="/journals/{journal_id:str}/reverse",
    param="journal_id",
    opt=REVERSE,
    log=ACTION_LOG["reverse"],
    head="journals/_reverse_head.html",
    facts=None,
    after="journals/_journal.html",
    load=_reverse_subject,
    send=_reverse,
    target=_reverse_target,
    done=_mirror_url,
    reason=Reason(
        hint="Kept with both journals and in the audit trail",
        required=action_error("REASON_REQUIRED"),
    ),
    explain=lambda exc, _: (FormErrors(), action_error(error_code_of(exc), "reverse")),
    check=_journal_id_or_404,
)


journals_router = Router(
    path="/",
    route_handlers=[
        journal_list,
        composer,
        compose,
        live_totals,
        account_search,
        journal_detail,
        approve,
        reject,
        post_journal,
        *confirmed_routes(REVERSE_JOURNAL),
    ],
)
