"""Fiscal periods: the year's periods with their status, create a year, the pre-close
checklist and "Confirm close", close the year, and a closed period's stored trial balance.

Everyone from viewer up reads; only admins (``periods.manage``) see and may use the
writes, and the core decides every close again. Writes carry the idempotency key minted
with their form and are written to the console action log.
"""

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Stream

from app.client import BankingAPIError, BankingAPINotFound, ClosedYear, FiscalPeriod
from app.client import IncomeStatement as IncomeStatementReport
from app.client import TrialBalance as TrialBalanceReport
from app.console.banking import CoreSession
from app.console.errors import core_message
from app.console.formatting import local_time
from app.console.htmx import VARY, render
from app.console.lookup import looks_like_id
from app.console.periods.checklist import (
    YEAR_END_PERIOD,
    Blocker,
    Period,
    all_periods,
    blockers_from_details,
    checklist,
    period_of,
    years_of,
)
from app.console.permissions import can
from app.console.reports.figures import (
    TrialBalance,
    snapshot_trial_balance,
    trial_balance,
    trial_balance_csv,
)
from app.console.reports.statements import IncomeStatement, income_statement
from app.console.writes import (
    FORM_EXPIRED,
    FormErrors,
    Refusal,
    key_from_form,
    mint_key,
    redirect,
    send_write,
    text,
)

VIEW = {"permission": "periods.view"}
MANAGE = {"permission": "periods.manage"}
_YEAR = re.compile(r"^[0-9]{4}$")

DONE_MESSAGES = {
    "created": "The year's periods were created: twelve months and period 13 for year-end "
    "adjustments, all open.",
    "closed": "Period closed. Its trial balance is stored below; nothing more can be posted in it.",
    "year_closed": "Year closed: the closing journal moved the year's revenue and expenses into "
    "retained earnings, and every period of the year is locked.",
}

CLOSE_ERRORS = {
    "PERIOD_CLOSE_BLOCKED": "This period can't close yet: handle what is listed below, then "
    "confirm again.",
    "INVALID_STATE": "This period is no longer open; someone closed it in the meantime.",
    "PERIOD_CLOSED": "This period is already closed.",
}


def parse_year(value: str | None) -> int | None:
    """A four-digit year, or ``None``."""
    text_value = (value or "").strip()
    return int(text_value) if _YEAR.match(text_value) else None


def period_path(period_id: str) -> str:
    """The core path of one period (the ID came from a URL, so it is quoted)."""
    return f"/fiscal-periods/{quote(period_id, safe='')}"


async def _period(core: CoreSession, period_id: str) -> FiscalPeriod:
    if not looks_like_id(period_id):
        raise NotFoundException("no such period")
    return await core.get(period_path(period_id), model=FiscalPeriod)


async def _live_trial_balance(
    core: CoreSession, as_of: date, currency: str
) -> tuple[TrialBalance | None, str | None]:
    """The trial balance as of ``as_of`` in every currency with balances (the report gives
    one currency at a time), or why it is missing."""
    path, day = "/reports/trial-balance", as_of.isoformat()
    try:
        first = await core.get(path, params={"as_of": day}, model=TrialBalanceReport)
        more = await asyncio.gather(
            *(
                core.get(path, params={"as_of": day, "currency": c}, model=TrialBalanceReport)
                for c in first.currencies
                if c != first.currency
            )
        )
    except BankingAPINotFound:
        return None, "The banking service does not offer the trial balance report yet."
    except BankingAPIError as exc:
        return None, core_message(exc)
    report = trial_balance(first)
    for extra in more:
        report.blocks.extend(trial_balance(extra).blocks)
    return report, None


# -- the year's periods ----------------------------------------------------------------------


async def _list_page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    *,
    year: int | None,
    key: str,
    new_year: str | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    tenant = await core.tenant()
    today = tenant.business_date
    periods = await all_periods(core)
    years = years_of(periods)
    if year is None or year not in years:
        year = today.year if today.year in years or not years else years[-1]
    shown = [p for p in periods if p.fiscal_year == year]
    months = [p for p in shown if p.number < YEAR_END_PERIOD]
    current = next((p for p in months if p.holds(today) and p.is_open), None)
    timezone = tenant.timezone
    suggested = str(max(years) + 1) if years else str(today.year)
    all_locked = bool(shown) and all(p.status == "locked" for p in shown)
    closing_journal = request.query_params.get("journal", "")
    return render(
        request,
        "periods/index.html",
        {
            "page_title": f"Fiscal periods {year}",
            "tenant": tenant,
            "year": year,
            "years": years,
            "previous_year": max((y for y in years if y < year), default=None),
            "next_year": min((y for y in years if y > year), default=None),
            "periods": shown,
            "current": current,
            "closed_times": {p.id: local_time(p.closed_at, timezone) for p in shown},
            "counts": {
                status: sum(1 for p in shown if p.status == status)
                for status in ("open", "closed", "locked")
            },
            "can_manage": can(core.signed_in, "periods.manage"),
            "year_closable": bool(shown) and not all_locked,
            "all_locked": all_locked,
            "key": key,
            "new_year": new_year if new_year is not None else suggested,
            "errors": FormErrors(errors or {}),
            "error": error,
            "done": DONE_MESSAGES.get(request.query_params.get("done", "")),
            "closing_journal": closing_journal if looks_like_id(closing_journal) else None,
        },
        block=None,
        status_code=status_code,
    )


@get("/periods", opt=VIEW, name="periods")
async def period_list(request: Request[Any, Any, Any]) -> Response[Any]:
    """The periods of one fiscal year (``?year=``; the business date's year by default)."""
    core = CoreSession(request)
    year = parse_year(request.query_params.get("year"))
    return await _list_page(request, core, year=year, key=mint_key())


@post("/periods/years", opt=MANAGE, name="periods_create_year")
async def create_year(request: Request[Any, Any, Any]) -> Response[Any]:
    """ "Create year": periods 1–12 by month plus 13 for year-end adjustments."""
    form = await request.form()
    raw = text(form, "year", 10)
    key = key_from_form(form)
    core = CoreSession(request)
    year = parse_year(raw)
    if key is None or year is None:
        return await _list_page(
            request,
            core,
            year=None,
            key=key or mint_key(),
            new_year=raw,
            errors={}
            if year is not None
            else {"year": "Enter the year as four digits, like 2027."},
            error=FORM_EXPIRED if key is None else None,
            status_code=400,
        )
    created = await send_write(
        request,
        core,
        core.post(f"/fiscal-periods/year/{year}", {}, idempotency_key=key),
        action="periods.create_year",
        target=f"fiscal_year:{year}",
        key=key,
        explain=lambda exc, _: _year_refusal(exc, year),
    )
    if isinstance(created, Refusal):
        return await _list_page(
            request,
            core,
            year=year,
            key=created.key,
            new_year=raw,
            errors=created.errors,
            error=created.error,
            status_code=created.status_code,
        )
    return redirect(f"/periods?{urlencode({'year': year, 'done': 'created'})}")


def _year_refusal(exc: BankingAPIError, year: int) -> tuple[FormErrors, str | None]:
    """ "Create year" refused: beside the year when it is about the year, else above."""
    if exc.code == "DUPLICATE_RESOURCE":
        return FormErrors(year=f"{year} already has its fiscal periods."), None
    if exc.code in {"VALIDATION_ERROR", "MISSING_FIELD"}:
        return FormErrors(year=exc.message or "Enter a year the bank can open, like 2027."), None
    return FormErrors(), core_message(exc)


# -- one period and its snapshot --------------------------------------------------------------


@get("/periods/{period_id:str}", opt=VIEW, name="period")
async def period_detail(request: Request[Any, Any, Any], period_id: str) -> Response[Any]:
    """One period: its dates and status; once closed, the trial balance stored at close."""
    core = CoreSession(request)
    found = await _period(core, period_id)
    tenant = await core.tenant()
    period = period_of(found)
    kept = found.trial_balance_snapshot
    snapshot = snapshot_trial_balance(kept, tenant.base_currency) if kept is not None else None
    return render(
        request,
        "periods/period.html",
        {
            "page_title": period.name or "Fiscal period",
            "tenant": tenant,
            "period": period,
            "snapshot": snapshot,
            "closed_time": local_time(period.closed_at, tenant.timezone),
            "can_manage": can(core.signed_in, "periods.manage"),
            "done": DONE_MESSAGES.get(request.query_params.get("done", "")),
            "csv_url": f"{period.url}/snapshot.csv",
            "report_url": "/reports/trial-balance?" + urlencode({"as_of": period.end.isoformat()}),
        },
        block=None,
    )


@get("/periods/{period_id:str}/snapshot.csv", opt=VIEW, name="period_snapshot_csv")
async def period_snapshot_csv(request: Request[Any, Any, Any], period_id: str) -> Stream:
    """The trial balance stored when the period closed, as CSV."""
    core = CoreSession(request)
    found = await _period(core, period_id)
    if found.trial_balance_snapshot is None:
        raise NotFoundException("this period has no stored trial balance")
    tenant = await core.tenant()
    report = snapshot_trial_balance(found.trial_balance_snapshot, tenant.base_currency)
    period = period_of(found)

    async def lines() -> AsyncIterator[str]:
        for line in trial_balance_csv(report):
            yield line

    name = re.sub(r"[^A-Za-z0-9]+", "-", period.name).strip("-").lower() or "period"
    return Stream(
        lines(),
        media_type="text/csv",
        headers={
            **VARY,
            "Content-Disposition": f'attachment; filename="trial-balance-{name}-at-close.csv"',
        },
    )


# -- the pre-close checklist and "Confirm close" ---------------------------------------------


async def _checklist_page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    period_id: str,
    *,
    key: str,
    core_blockers: list[Blocker] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    period = period_of(await _period(core, period_id))
    tenant = await core.tenant()
    checks, (report, report_note) = await asyncio.gather(
        checklist(core, period), _live_trial_balance(core, period.end, tenant.base_currency)
    )
    return render(
        request,
        "periods/checklist.html",
        {
            "page_title": f"Close {period.name}",
            "tenant": tenant,
            "period": period,
            "checks": checks,
            "core_blockers": core_blockers or [],
            "report": report,
            "report_note": report_note,
            "key": key,
            "error": error,
        },
        block=None,
        status_code=status_code,
    )


async def _nothing() -> tuple[None, str]:
    return None, "This period has no end date, so there is no trial balance to show."


@get("/periods/{period_id:str}/close", opt=MANAGE, name="period_close_checklist")
async def close_checklist(request: Request[Any, Any, Any], period_id: str) -> Response[Any]:
    """ "Close period": the pre-close checklist (what blocks it) and the trial balance."""
    core = CoreSession(request)
    return await _checklist_page(request, core, period_id, key=mint_key())


@post("/periods/{period_id:str}/close", opt=MANAGE, name="period_close")
async def close_period(request: Request[Any, Any, Any], period_id: str) -> Response[Any]:
    """ "Confirm close": the core closes the period (and stores its trial balance) or says
    what blocks it."""
    form = await request.form()
    key = key_from_form(form)
    core = CoreSession(request)
    if key is None:
        return await _checklist_page(
            request, core, period_id, key=mint_key(), error=FORM_EXPIRED, status_code=400
        )
    await _period(core, period_id)  # a missing period is a 404 page, not a refused close
    closed = await send_write(
        request,
        core,
        core.post(period_path(period_id) + "/close", {}, idempotency_key=key),
        action="periods.close",
        target=f"fiscal_period:{period_id}",
        key=key,
        explain=lambda exc, _: (FormErrors(), CLOSE_ERRORS.get(exc.code) or core_message(exc)),
    )
    if isinstance(closed, Refusal):
        return await _checklist_page(
            request,
            core,
            period_id,
            key=closed.key,
            core_blockers=_blockers_of(closed),
            error=closed.error,
            status_code=closed.status_code,
        )
    return redirect(f"/periods/{quote(period_id, safe='')}?done=closed")


def _blockers_of(refusal: Refusal) -> list[Blocker] | None:
    """What the core named when it refused a close (``PERIOD_CLOSE_BLOCKED``), else None."""
    if refusal.cause is None or refusal.code != "PERIOD_CLOSE_BLOCKED":
        return None
    return blockers_from_details(refusal.cause.details)


def _year_close_error(exc: BankingAPIError) -> str:
    if exc.code == "PERIOD_CLOSE_BLOCKED":
        return "The year can't close yet: every month must be closed first."
    return exc.message if exc.code == "INVALID_STATE" and exc.message else core_message(exc)


# -- closing the year -------------------------------------------------------------------------


async def _year_page(
    request: Request[Any, Any, Any],
    core: CoreSession,
    raw_year: str,
    *,
    key: str,
    error: str | None = None,
    core_blockers: list[Blocker] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    year = parse_year(raw_year)
    if year is None:
        raise NotFoundException("no such year")
    tenant = await core.tenant()
    currency = tenant.base_currency
    periods = [p for p in await all_periods(core) if p.fiscal_year == year]
    if not periods:
        raise NotFoundException("the year has no periods")
    months = [p for p in periods if p.number < YEAR_END_PERIOD]
    year_end: Period | None = next((p for p in periods if p.is_year_end), None)
    still_open = [Blocker("period", p.name, "still open", p.url) for p in months if p.is_open]
    income = await _net_income(core, year, currency)
    return render(
        request,
        "periods/close_year.html",
        {
            "page_title": f"Close {year}",
            "tenant": tenant,
            "year": year,
            "periods": periods,
            "year_end": year_end,
            "still_open": still_open,
            "core_blockers": core_blockers or [],
            "locked": all(p.status == "locked" for p in periods),
            "income": income,
            "currency": currency,
            "key": key,
            "error": error,
        },
        block=None,
        status_code=status_code,
    )


async def _net_income(core: CoreSession, year: int, currency: str) -> IncomeStatement | None:
    """The year's income statement totals (what the closing journal will move), if offered."""
    params = {"from": f"{year}-01-01", "to": f"{year}-12-31"}
    try:
        found = await core.get(
            "/reports/income-statement", params=params, model=IncomeStatementReport
        )
    except BankingAPIError:
        return None
    return income_statement(found)


@get("/periods/year/{year:str}/close", opt=MANAGE, name="period_year_close_form")
async def close_year_form(request: Request[Any, Any, Any], year: str) -> Response[Any]:
    """ "Close year": what it will do, and what must be closed first."""
    core = CoreSession(request)
    return await _year_page(request, core, year, key=mint_key())


@post("/periods/year/{year:str}/close", opt=MANAGE, name="period_year_close")
async def close_year(request: Request[Any, Any, Any], year: str) -> Response[Any]:
    """Close the year: the closing journal into retained earnings, then every period locked."""
    form = await request.form()
    key = key_from_form(form)
    core = CoreSession(request)
    number = parse_year(year)
    if number is None:
        raise NotFoundException("no such year")
    if key is None:
        return await _year_page(
            request, core, year, key=mint_key(), error=FORM_EXPIRED, status_code=400
        )
    closed = await send_write(
        request,
        core,
        core.post(
            f"/fiscal-periods/year/{number}/close", {}, idempotency_key=key, model=ClosedYear
        ),
        action="periods.close_year",
        target=f"fiscal_year:{number}",
        key=key,
        explain=lambda exc, _: (FormErrors(), _year_close_error(exc)),
    )
    if isinstance(closed, Refusal):
        return await _year_page(
            request,
            core,
            year,
            key=closed.key,
            error=closed.error,
            core_blockers=_blockers_of(closed),
            status_code=closed.status_code,
        )
    query = {"year": str(number), "done": "year_closed"}
    if closed.closing_journal_id:
        query["journal"] = closed.closing_journal_id
    return redirect(f"/periods?{urlencode(query)}")


periods_router = Router(
    path="/",
    route_handlers=[
        period_list,
        create_year,
        period_detail,
        period_snapshot_csv,
        close_checklist,
        close_period,
        close_year_form,
        close_year,
    ],
)
