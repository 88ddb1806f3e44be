"""Reports: trial balance (as of, branch), balance sheet (as of), income statement (from/to,
with its monthly trend chart) and teller summary (date, branch, teller), each with CSV.

The figures are the core's; the console shapes them for people (right-aligned tabular
figures, thousands separators, the currency symbol, totals rows) and exports the core's
decimal strings untouched. A date that is not a date re-renders the form with the message
next to the field and asks the core nothing.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get
from litestar.response import Stream

from app.client import BalanceSheet as BalanceSheetReport
from app.client import BankingAPIError, BankingAPIRejected, Tenant
from app.client import IncomeStatement as IncomeStatementReport
from app.client import TellerSummary as TellerSummaryReport
from app.client import TrialBalance as TrialBalanceReport
from app.console.banking import CoreSession
from app.console.errors import core_message
from app.console.formatting import parse_day, short_date
from app.console.htmx import VARY, Context, render
from app.console.reasons import detail_words
from app.console.reports.figures import statement_csv, trial_balance, trial_balance_csv
from app.console.reports.statements import (
    balance_sheet,
    income_statement,
    trend_chart,
)
from app.console.reports.tellers import teller_summary, teller_summary_csv, tellers_chart
from app.console.writes import FormErrors, status_of

VIEW = {"permission": "reports.view"}
CURRENCIES = ("NGN", "USD", "EUR", "GBP")
CURRENCY_OPTIONS = [(c, c) for c in CURRENCIES]
BRANCH_CODE_MAX = 10

REPORTS = (
    (
        "Trial balance",
        "/reports/trial-balance",
        "Every GL account's debit or credit balance as of a date; debits equal credits.",
    ),
    (
        "Balance sheet",
        "/reports/balance-sheet",
        "What the bank owns and owes as of a date: assets, liabilities and equity.",
    ),
    (
        "Income statement",
        "/reports/income-statement",
        "Revenue, expenses and net income between two dates, with the monthly trend.",
    ),
    (
        "Teller summary",
        "/reports/teller-summary",
        "Each teller's deposits, withdrawals, counts and net cash for a day.",
    ),
)


@dataclass
class Inputs:
    """A report's form: what was typed, what goes to the core, what is wrong."""

    values: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)
    errors: FormErrors = field(default_factory=FormErrors)

    @property
    def query(self) -> str:
        return urlencode({k: v for k, v in self.values.items() if v})


def _date_input(
    inputs: Inputs, name: str, label: str, default: date, core_name: str | None = None
) -> date | None:
    raw = inputs.values.get(name, "").strip()
    if not raw:
        inputs.values[name] = default.isoformat()
        inputs.params[core_name or name] = default.isoformat()
        return default
    day = parse_day(raw)
    if day is None or len(raw) != 10:
        inputs.errors[name] = f"Enter the {label.lower()} as a date, like {default.isoformat()}."
        return None
    inputs.values[name] = day.isoformat()
    inputs.params[core_name or name] = day.isoformat()
    return day


def _branch_input(inputs: Inputs, branches: list[tuple[str, str]]) -> None:
    raw = inputs.values.get("branch_code", "").strip()
    if not raw:
        return
    if raw not in {code for code, _ in branches}:
        inputs.errors["branch_code"] = "Choose one of the bank's branches."
        return
    inputs.params["branch_code"] = raw


def _currency_input(inputs: Inputs, base: str) -> str:
    """The report's currency (the base currency when none is chosen): the core reports
    one currency at a time, as a journal balances per currency."""
    raw = inputs.values.get("currency", "").strip().upper()
    if not raw:
        return base
    if raw not in CURRENCIES:
        inputs.errors["currency"] = "Choose one of the bank's currencies."
        return base
    inputs.values["currency"] = raw
    inputs.params["currency"] = raw
    return raw


def _read(request: Request[Any, Any, Any], *names: str) -> Inputs:
    return Inputs({name: str(request.query_params.get(name) or "")[:40] for name in names})


async def _currency(core: CoreSession) -> str:
    return (await core.tenant()).base_currency


def _core_problem(error: BankingAPIError, inputs: Inputs, fields: dict[str, str]) -> str | None:
    """A refused report: per-field messages into ``inputs.errors``; the summary returned."""
    placed = False
    for detail in error.details:
        control = fields.get(str(detail.get("field") or ""))
        if control:
            inputs.errors.setdefault(control, detail_words(detail, control))
            placed = True
    if placed:
        return "Some details need attention; see the messages by each field."
    if isinstance(error, BankingAPIRejected) and error.status in {400, 422} and error.message:
        return error.message
    return core_message(error)


def _csv(lines: Iterable[str], filename: str) -> Stream:
    async def stream() -> AsyncIterator[str]:
        for line in lines:
            yield line

    return Stream(
        stream(),
        media_type="text/csv",
        headers={**VARY, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


@get("/reports", opt=VIEW, name="reports")
async def report_index(request: Request[Any, Any, Any]) -> Response[Any]:
    """The reports there are."""
    core = CoreSession(request)
    return render(
        request,
        "reports/index.html",
        {"page_title": "Reports", "tenant": await core.tenant(), "reports": REPORTS},
    )


@dataclass
class Page:
    """One report page being worked out: its context, and the status it answers with."""

    context: Context
    status_code: int = 200

    @property
    def inputs(self) -> Inputs:
        inputs: Inputs = self.context["inputs"]
        return inputs

    def refused(self, error: BankingAPIError, fields: dict[str, str]) -> "Page":
        """The core refused the report: its words above the form (or by the fields)."""
        self.context["error"] = _core_problem(error, self.inputs, fields)
        self.status_code = status_of(error)
        return self


def _page(title: str, tenant: Tenant, inputs: Inputs, **extra: Any) -> Page:
    """A report page with nothing drawn yet (400 when the form has problems)."""
    context = {"page_title": title, "tenant": tenant, "inputs": inputs, "report": None}
    context.update({"error": None, **extra})
    return Page(context, 400 if inputs.errors else 200)


# -- trial balance ---------------------------------------------------------------------------

TRIAL_BALANCE_FIELDS = {"as_of": "as_of", "branch_code": "branch_code"}


async def _trial_balance(request: Request[Any, Any, Any], core: CoreSession) -> Page:
    tenant = await core.tenant()
    branches = await core.branch_choices()
    inputs = _read(request, "as_of", "branch_code", "currency")
    _date_input(inputs, "as_of", "As-of date", tenant.business_date)
    _branch_input(inputs, branches)
    currency = _currency_input(inputs, tenant.base_currency)
    page = _page(
        "Trial balance",
        tenant,
        inputs,
        branch_options=branches,
        currency_options=CURRENCY_OPTIONS,
        other_currencies=[],
    )
    if inputs.errors:
        return page
    try:
        found = await core.get(
            "/reports/trial-balance", params=inputs.params, model=TrialBalanceReport
        )
    except BankingAPIError as exc:
        return page.refused(exc, TRIAL_BALANCE_FIELDS)
    page.context["report"] = trial_balance(found)
    page.context["other_currencies"] = [
        (c, urlencode({**inputs.params, "currency": c})) for c in found.currencies if c != currency
    ]
    return page


def _trial_balance_csv(page: Page) -> tuple[Iterable[str], str]:
    inputs = page.inputs
    branch = inputs.params.get("branch_code")
    name = f"trial-balance-{inputs.values['as_of']}{'-' + branch if branch else ''}.csv"
    return trial_balance_csv(page.context["report"]), name


# -- balance sheet ---------------------------------------------------------------------------


async def _balance_sheet(request: Request[Any, Any, Any], core: CoreSession) -> Page:
    tenant = await core.tenant()
    inputs = _read(request, "as_of", "currency")
    _date_input(inputs, "as_of", "As-of date", tenant.business_date)
    _currency_input(inputs, tenant.base_currency)
    page = _page("Balance sheet", tenant, inputs, currency_options=CURRENCY_OPTIONS)
    if inputs.errors:
        return page
    try:
        found = await core.get(
            "/reports/balance-sheet", params=inputs.params, model=BalanceSheetReport
        )
    except BankingAPIError as exc:
        return page.refused(exc, {"as_of": "as_of", "currency": "currency"})
    page.context["report"] = balance_sheet(found)
    return page


def _balance_sheet_csv(page: Page) -> tuple[Iterable[str], str]:
    report = page.context["report"]
    totals = [
        ("Total assets", report.total_assets_text),
        ("Total liabilities and equity", report.total_liabilities_and_equity_text),
    ]
    name = f"balance-sheet-{page.inputs.values['as_of']}.csv"
    return statement_csv(report.sections, totals, report.currency), name


# -- income statement ------------------------------------------------------------------------


async def _income_statement(request: Request[Any, Any, Any], core: CoreSession) -> Page:
    tenant = await core.tenant()
    today = tenant.business_date
    inputs = _read(request, "from", "to", "currency")
    start = _date_input(inputs, "from", "From date", today.replace(month=1, day=1))
    end = _date_input(inputs, "to", "To date", today)
    _currency_input(inputs, tenant.base_currency)
    if start and end and start > end:
        inputs.errors["to"] = "The end date is before the start date."
    page = _page("Income statement", tenant, inputs, currency_options=CURRENCY_OPTIONS, chart=None)
    if inputs.errors:
        return page
    try:
        found = await core.get(
            "/reports/income-statement", params=inputs.params, model=IncomeStatementReport
        )
    except BankingAPIError as exc:
        return page.refused(exc, {"from": "from", "to": "to", "currency": "currency"})
    report = income_statement(found)
    page.context["report"] = report
    page.context["chart"] = trend_chart(report)
    return page


def _income_statement_csv(page: Page) -> tuple[Iterable[str], str]:
    report = page.context["report"]
    values = page.inputs.values
    name = f"income-statement-{values['from']}-to-{values['to']}.csv"
    totals = [("Net income", report.net_income_text)]
    return statement_csv(report.sections, totals, report.currency), name


# -- teller summary --------------------------------------------------------------------------

TELLER_FIELDS = {"date": "date", "branch_code": "branch_code", "user_id": "user_id"}


async def _teller_summary(request: Request[Any, Any, Any], core: CoreSession) -> Page:
    tenant = await core.tenant()
    branches = await core.branch_choices()
    inputs = _read(request, "date", "branch_code", "user_id")
    _date_input(inputs, "date", "Date", tenant.business_date)
    _branch_input(inputs, branches)
    page = _page(
        "Teller summary", tenant, inputs, branch_options=branches, teller_options=[], chart=None
    )
    if inputs.errors:
        return page
    currency = await _currency(core)
    try:
        # The teller picker offers whoever worked that day at that branch.
        everyone = teller_summary(
            await core.get(
                "/reports/teller-summary", params=inputs.params, model=TellerSummaryReport
            ),
            currency,
        )
    except BankingAPIError as exc:
        return page.refused(exc, TELLER_FIELDS)
    page.context["teller_options"] = everyone.tellers
    chosen = inputs.values.get("user_id", "").strip()
    if not chosen:
        page.context["report"] = everyone
        page.context["chart"] = tellers_chart(everyone.base, short_date(inputs.values["date"]))
        return page
    if chosen not in {value for value, _ in everyone.tellers}:
        inputs.errors["user_id"] = "Choose a teller who worked that day."
        page.status_code = 400
        return page
    try:
        params = {**inputs.params, "user_id": chosen}
        report = teller_summary(
            await core.get("/reports/teller-summary", params=params, model=TellerSummaryReport),
            currency,
        )
    except BankingAPIError as exc:
        return page.refused(exc, TELLER_FIELDS)
    page.context["report"] = report
    page.context["chart"] = tellers_chart(report.base, short_date(inputs.values["date"]))
    return page


def _teller_summary_csv(page: Page) -> tuple[Iterable[str], str]:
    values = page.inputs.values
    branch = page.inputs.params.get("branch_code")
    name = f"teller-summary-{values['date']}{'-' + branch if branch else ''}.csv"
    return teller_summary_csv(page.context["report"]), name


# -- each report: its page and its CSV ----------------------------------------------------------


def _report_routes(
    path: str,
    name: str,
    template: str,
    build: Callable[[Request[Any, Any, Any], CoreSession], Awaitable[Page]],
    csv: Callable[[Page], tuple[Iterable[str], str]],
    summary: str,
) -> list[Any]:
    """``GET <path>`` (the page) and ``GET <path>.csv`` (the same figures as CSV; a form
    with problems answers with the page and its messages instead)."""

    @get(path, opt=VIEW, name=name, description=summary)
    async def report_page(request: Request[Any, Any, Any]) -> Response[Any]:
        """The report's page (its form, figures and charts)."""
        page = await build(request, CoreSession(request))
        return render(request, template, page.context, status_code=page.status_code)

    @get(f"{path}.csv", opt=VIEW, name=f"{name}_csv", description=f"{summary} As CSV.")
    async def report_download(request: Request[Any, Any, Any]) -> Response[Any] | Stream:
        """The report's figures as CSV."""
        page = await build(request, CoreSession(request))
        if page.context["report"] is None:
            return render(request, template, page.context, status_code=page.status_code)
        lines, filename = csv(page)
        return _csv(lines, filename)

    return [report_page, report_download]


reports_router = Router(
    path="/",
    route_handlers=[
        report_index,
        *_report_routes(
            "/reports/trial-balance",
            "report_trial_balance",
            "reports/trial_balance.html",
            _trial_balance,
            _trial_balance_csv,
            "The trial balance as of a date (the business date by default), one branch or all.",
        ),
        *_report_routes(
            "/reports/balance-sheet",
            "report_balance_sheet",
            "reports/balance_sheet.html",
            _balance_sheet,
            _balance_sheet_csv,
            "Assets, liabilities and equity as of a date.",
        ),
        *_report_routes(
            "/reports/income-statement",
            "report_income_statement",
            "reports/income_statement.html",
            _income_statement,
            _income_statement_csv,
            "Revenue, expenses and net income between two dates, and the monthly trend.",
        ),
        *_report_routes(
            "/reports/teller-summary",
            "report_teller_summary",
            "reports/teller_summary.html",
            _teller_summary,
            _teller_summary_csv,
            "Each teller's deposits, withdrawals, counts and net cash for a day.",
        ),
    ],
)
