"""The Audit page (manager): the core's audit trail and the console's action log, side by
side as two tabs and joined by request ID.

One request ID follows an action from the browser to the ledger: the console logs it with
its own row and sends it to the core as ``X-Request-ID``, which records it in its trail.
Each row of either tab links to ``/audit/requests/<id>``, which shows both sides of that
one request. Both lists filter, page by keyset ("Load more") and export as CSV; the
"Verify the trail" panel asks the core to recompute its seals.

Managers see their own tenant only: the core scopes the trail by the session's token, and
the action log is read for the session's tenant alone.
"""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get
from litestar.response import Stream

from app.client import AuditEvent, AuditVerification, BankingAPIValidationError, Page, Tenant
from app.console.audit.changes import FieldChange, change_kind, changes
from app.console.audit.consolelog import (
    PAGE_SIZE,
    every_row,
    log_page,
    logged_requests,
    rows_for_request,
)
from app.console.audit.filters import (
    CONSOLE_OUTCOMES,
    REQUEST_ID,
    TRAIL_OUTCOMES,
    ConsoleLogFilters,
    TrailFilters,
    core_reason,
)
from app.console.banking import CoreSession
from app.console.csv_export import csv_line, safe_cell
from app.console.formatting import local_time
from app.console.htmx import VARY, render, wants_fragment
from app.console.models import ConsoleActionLog
from app.console.permissions import ROLE_LABELS
from app.console.state import console_state
from app.console.writes import redirect

VIEW = {"permission": "audit.view"}
TRAIL_PAGE_SIZE = 50
CORE_PAGE_MAX = 200
# A CSV export reads the trail page by page; past this many rows it says it stopped.
CSV_MAX_ROWS = 100_000

OUTCOME_LABELS = {**dict(TRAIL_OUTCOMES), **dict(CONSOLE_OUTCOMES)}
TRAIL_CSV_HEADER = (
    "id", "at", "actor_email", "actor_id", "action", "entity_type", "entity_id",
    "request_id", "ip", "outcome", "before", "after",
)  # fmt: skip
CONSOLE_CSV_HEADER = (
    "at", "user_email", "user_id", "role", "tenant", "action", "target", "request_id",
    "idempotency_key", "outcome", "error_code", "ip", "user_agent",
)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """An outcome as its badge shows it."""

    value: str
    label: str


@dataclass(frozen=True)
class TrailRow:
    """One core audit record, ready for the page."""

    id: int
    at: str
    at_iso: str
    actor: str
    action: str
    entity_type: str
    entity_id: str
    request_id: str
    ip: str
    outcome: Outcome
    changes: list[FieldChange]
    change_kind: str
    from_console: bool  # the console logged this request too


@dataclass(frozen=True)
class ConsoleRow:
    """One console action-log row, ready for the page."""

    at: str
    at_iso: str
    user: str
    role: str
    action: str
    target: str
    request_id: str
    idempotency_key: str
    outcome: Outcome
    error_code: str
    ip: str
    user_agent: str


def _outcome(value: str | None) -> Outcome:
    value = value or ""
    return Outcome(value=value, label=OUTCOME_LABELS.get(value, value.capitalize() or "—"))


def trail_row(entry: AuditEvent, timezone: str, logged: set[str]) -> TrailRow:
    """One core audit record, ready for the page (a record without an actor is the
    system's own: the worker, the daily job)."""
    request_id = entry.request_id or ""
    return TrailRow(
        id=entry.id,
        at=local_time(entry.at, timezone),
        at_iso=entry.at.isoformat(),
        actor=entry.actor_email or entry.actor_id or "System",
        action=entry.action,
        entity_type=entry.entity_type or "",
        entity_id=entry.entity_id or "",
        request_id=request_id,
        ip=entry.ip or "",
        outcome=_outcome(entry.outcome),
        changes=changes(entry.before, entry.after),
        change_kind=change_kind(entry.before, entry.after),
        from_console=request_id in logged,
    )


def console_row(row: ConsoleActionLog, timezone: str) -> ConsoleRow:
    """One console action-log row, ready for the page."""
    return ConsoleRow(
        at=local_time(row.at.isoformat(), timezone),
        at_iso=row.at.isoformat(),
        user=row.user_email or "—",
        role=ROLE_LABELS.get(row.role or "", ""),
        action=row.action,
        target=row.target or "",
        request_id=row.request_id or "",
        idempotency_key=row.idempotency_key or "",
        outcome=_outcome(row.outcome),
        error_code=row.error_code or "",
        ip=row.ip or "",
        user_agent=row.user_agent or "",
    )


def _timezone(tenant: Tenant) -> str:
    return tenant.timezone


async def _trail_page(
    core: CoreSession, filters: TrailFilters, timezone: str, cursor: str | None, limit: int
) -> Page[AuditEvent]:
    """One page of the trail; a core refusal of a filter lands next to that filter."""
    params: dict[str, str | int] = {**filters.core_params(timezone), "limit": limit}
    if cursor:
        params["cursor"] = cursor
    try:
        return await core.get_page("/audit-logs", AuditEvent, params=params)
    except BankingAPIValidationError as exc:
        if cursor and exc.code == "INVALID_FORMAT":
            return await _trail_page(core, filters, timezone, None, limit)  # start again
        for detail in exc.details:
            name = str(detail.get("field") or "")
            filters.errors.setdefault(
                name if name in {"actor", "action", "entity_type", "entity_id",
                                 "request_id", "outcome", "from", "to"} else "form",
                core_reason(name, str(detail.get("reason") or "is not accepted")),
            )  # fmt: skip
        if not exc.details:
            filters.errors["form"] = "The banking service did not accept these filters."
        return Page(items=[])


@get("/audit", opt=VIEW, name="audit")
async def audit_trail(request: Request[Any, Any, Any]) -> Response[Any]:
    """The core's audit trail, filtered, newest first."""
    core = CoreSession(request)
    tenant = await core.tenant()
    timezone = _timezone(tenant)
    filters = TrailFilters.read(request.query_params)
    cursor = request.query_params.get("cursor") or None
    page: Page[AuditEvent] = Page(items=[])
    if not filters.errors:
        page = await _trail_page(core, filters, timezone, cursor, TRAIL_PAGE_SIZE)
    entries = page.items
    console = console_state(request.app)
    logged = await logged_requests(
        console.database,
        core.signed_in.tenant.code,
        (e.request_id or "" for e in entries),
    )
    next_url = None
    if page.has_more and page.next_cursor:
        next_url = "/audit?" + urlencode({**filters.query(), "cursor": page.next_cursor})
    return render(
        request,
        "audit/trail.html",
        {
            "page_title": "Audit",
            "tab": "trail",
            "tenant": tenant,
            "filters": filters,
            "errors": filters.errors,
            "outcomes": TRAIL_OUTCOMES,
            "rows": [trail_row(e, timezone, logged) for e in entries],
            "cursor": cursor,
            "next_url": next_url,
            "csv_url": "/audit/trail.csv" + _query(filters.query()),
        },
        block="rows" if cursor and wants_fragment(request) else "content",
    )


def _query(values: dict[str, str]) -> str:
    return f"?{urlencode(values)}" if values else ""


@get("/audit/console", opt=VIEW, name="audit_console")
async def audit_console_log(request: Request[Any, Any, Any]) -> Response[Any]:
    """The console's action log for this tenant, filtered, newest first."""
    core = CoreSession(request)
    tenant = await core.tenant()
    timezone = _timezone(tenant)
    filters = ConsoleLogFilters.read(request.query_params)
    cursor = request.query_params.get("cursor") or None
    rows: list[ConsoleRow] = []
    next_url = None
    if not filters.errors:
        page = await log_page(
            console_state(request.app).database,
            core.signed_in.tenant.code,
            filters,
            timezone,
            cursor=cursor,
            limit=PAGE_SIZE,
        )
        rows = [console_row(r, timezone) for r in page.rows]
        if page.next_cursor:
            next_url = "/audit/console?" + urlencode(
                {**filters.query(), "cursor": page.next_cursor}
            )
    return render(
        request,
        "audit/console.html",
        {
            "page_title": "Audit · Console action log",
            "tab": "console",
            "tenant": tenant,
            "filters": filters,
            "errors": filters.errors,
            "outcomes": CONSOLE_OUTCOMES,
            "rows": rows,
            "cursor": cursor,
            "next_url": next_url,
            "csv_url": "/audit/console.csv" + _query(filters.query()),
        },
        block="rows" if cursor and wants_fragment(request) else "content",
    )


@get("/audit/requests/{request_id:str}", opt=VIEW, name="audit_request")
async def audit_request(request: Request[Any, Any, Any], request_id: str) -> Response[Any]:
    """One request ID, both sides: what the console did and what the core recorded."""
    core = CoreSession(request)
    tenant = await core.tenant()
    timezone = _timezone(tenant)
    valid = bool(REQUEST_ID.match(request_id))
    console_rows: list[ConsoleRow] = []
    trail_rows: list[TrailRow] = []
    if valid:
        rows = await rows_for_request(
            console_state(request.app).database, core.signed_in.tenant.code, request_id
        )
        console_rows = [console_row(r, timezone) for r in rows]
        params = {"request_id": request_id, "limit": CORE_PAGE_MAX}
        entries = (await core.get_page("/audit-logs", AuditEvent, params=params)).items
        # Oldest first here: the order the request did things in. "Console" only when the
        # console did log this request (another client of the core may have sent it).
        logged = {request_id} if console_rows else set()
        trail_rows = [trail_row(e, timezone, logged) for e in reversed(entries)]
    return render(
        request,
        "audit/request.html",
        {
            "page_title": "Audit · One request",
            "tab": "",
            "tenant": tenant,
            "request_id": request_id if valid else "",
            "console_entries": console_rows,
            "trail_entries": trail_rows,
        },
        status_code=200 if valid else 404,
    )


@get("/audit/verify", opt=VIEW, name="audit_verify")
async def audit_verify(request: Request[Any, Any, Any]) -> Response[Any]:
    """ "Verify the trail": the core recomputes its seals and names the first broken record."""
    core = CoreSession(request)
    tenant = await core.tenant()
    verdict = await core.get("/audit-logs/verify", model=AuditVerification)
    return render(
        request,
        "audit/verify.html",
        {
            "page_title": "Audit · Verify the trail",
            "tab": "trail",
            "tenant": tenant,
            "verdict": verdict,
        },
        block="verify",
    )


def _csv_response(lines: AsyncIterator[str], filename: str) -> Stream:
    return Stream(
        lines,
        media_type="text/csv",
        headers={**VARY, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _json_cell(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


@get("/audit/trail.csv", opt=VIEW, name="audit_trail_csv")
async def audit_trail_csv(request: Request[Any, Any, Any]) -> Response[Any]:
    """The trail as CSV with the page's filters: every page, streamed as the core sends it."""
    core = CoreSession(request)
    tenant = await core.tenant()
    timezone = _timezone(tenant)
    filters = TrailFilters.read(request.query_params)
    if filters.errors:
        return redirect("/audit" + _query(filters.query()))
    # The first page is read before answering, so a refusal is a page, not a broken file.
    first = await _trail_page(core, filters, timezone, None, CORE_PAGE_MAX)
    if filters.errors:
        return redirect("/audit" + _query(filters.query()))

    async def lines() -> AsyncIterator[str]:
        yield csv_line(TRAIL_CSV_HEADER)
        page, written, seen = first, 0, set()
        while True:
            for e in page.items:
                if written >= CSV_MAX_ROWS:
                    yield csv_line([f"(stopped after {CSV_MAX_ROWS} rows: narrow the filters)"])
                    return
                written += 1
                yield csv_line(
                    [
                        str(e.id),
                        e.at.isoformat(),
                        safe_cell(e.actor_email),
                        e.actor_id or "",
                        safe_cell(e.action),
                        safe_cell(e.entity_type),
                        safe_cell(e.entity_id),
                        safe_cell(e.request_id),
                        safe_cell(e.ip),
                        safe_cell(e.outcome),
                        safe_cell(_json_cell(e.before)),
                        safe_cell(_json_cell(e.after)),
                    ]
                )
            cursor = page.next_cursor
            if not page.has_more or not cursor or cursor in seen:
                return
            seen.add(cursor)
            params = {**filters.core_params(timezone), "limit": CORE_PAGE_MAX, "cursor": cursor}
            page = await core.get_page("/audit-logs", AuditEvent, params=params)

    return _csv_response(lines(), f"audit-trail-{core.signed_in.tenant.code}.csv")


@get("/audit/console.csv", opt=VIEW, name="audit_console_csv")
async def audit_console_csv(request: Request[Any, Any, Any]) -> Response[Any]:
    """The console's action log as CSV with the page's filters."""
    core = CoreSession(request)
    tenant = await core.tenant()
    timezone = _timezone(tenant)
    filters = ConsoleLogFilters.read(request.query_params)
    if filters.errors:
        return redirect("/audit/console" + _query(filters.query()))
    database = console_state(request.app).database
    code = core.signed_in.tenant.code

    async def lines() -> AsyncIterator[str]:
        yield csv_line(CONSOLE_CSV_HEADER)
        async for row in every_row(database, code, filters, timezone):
            yield csv_line(
                [
                    row.at.isoformat(),
                    safe_cell(row.user_email),
                    safe_cell(row.user_id),
                    safe_cell(row.role),
                    safe_cell(row.tenant),
                    safe_cell(row.action),
                    safe_cell(row.target),
                    safe_cell(row.request_id),
                    safe_cell(row.idempotency_key),
                    safe_cell(row.outcome),
                    safe_cell(row.error_code),
                    safe_cell(row.ip),
                    safe_cell(row.user_agent),
                ]
            )

    return _csv_response(lines(), f"console-action-log-{code}.csv")


audit_router = Router(
    path="/",
    route_handlers=[
        audit_trail,
        audit_console_log,
        audit_request,
        audit_verify,
        audit_trail_csv,
        audit_console_csv,
    ],
)
