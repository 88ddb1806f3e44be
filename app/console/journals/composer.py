"""The journal composer's form: its lines, their totals per currency, and its checks.

Everything here works on what the form sent (text) and on accounts already looked up; it
calls nothing. Amounts are ``Decimal`` from the form to the core's decimal string, never a
float. The console refuses an unbalanced journal before sending it, and the core checks
every rule again (balance, accounts, period): its refusals come back next to their lines.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from app.client import BankingAPIError
from app.console.errors import core_message
from app.console.formatting import money
from app.console.journals.accounts import LineAccount
from app.console.reasons import detail_words
from app.console.writes import WriteBody, amount_problem, canonical_amount, normalise_amount

MAX_LINES = 50
START_LINES = 2
MIN_LINES = 2

# The manual types a person may choose (api.md); the system's own are shown, never offered.
JOURNAL_TYPES: dict[str, str] = {
    "GENERAL": "General",
    "ADJUSTMENT": "Adjustment",
    "ACCRUAL": "Accrual",
    "REVENUE": "Revenue",
    "EXPENSE": "Expense",
}
SYSTEM_TYPES: dict[str, str] = {
    "CASH": "Cash",
    "TRANSFER": "Transfer",
    "REVERSAL": "Reversal",
    "CLOSING": "Year-end closing",
}

_LINE_FIELD = re.compile(r"^lines-(\d{1,3})-(account|account_id|debit|credit)$")
_ID = re.compile(r"^[0-9a-fA-F-]{32,36}$")
# How the core may name an entry's field: "entries[2].amount", "entries.2.account_id".
_ENTRY_FIELD = re.compile(r"^entries(?:\[(\d+)\]|\.(\d+))(?:\.(\w+))?$")


@dataclass
class Line:
    """One line as typed: the account search text, the chosen account, the two amounts."""

    account: str = ""
    account_id: str = ""
    debit: str = ""
    credit: str = ""

    @property
    def blank(self) -> bool:
        """Nothing entered on this line (it is left out of the journal)."""
        return not (self.account or self.account_id or self.debit.strip() or self.credit.strip())


@dataclass
class LineAmount:
    """What a line's amounts say: its side and amount, or why they can't be used."""

    side: str | None = None  # "debit" or "credit"
    amount: Decimal | None = None
    problem: str | None = None


@dataclass
class JournalDraft:
    """The composer's state between a form post and the page it redirects to."""

    key: str
    description: str = ""
    effective_date: str = ""
    journal_type: str = "GENERAL"
    lines: list[Line] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    summary: str | None = None
    # "editing" or "done" (the core took it: see ``journal_id``).
    status: str = "editing"
    # Sent to the core at least once under ``key``: never reused for other details.
    sent: bool = False
    journal_id: str | None = None
    focus_line: int | None = None

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> "JournalDraft | None":
        try:
            data = json.loads(raw)
            data["lines"] = [Line(**line) for line in data.get("lines") or []]
            return cls(**data)
        except (TypeError, ValueError, KeyError):
            return None


def blank_draft(key: str, effective_date: str) -> JournalDraft:
    """A new journal: the business date, two empty lines."""
    return JournalDraft(
        key=key, effective_date=effective_date, lines=[Line() for _ in range(START_LINES)]
    )


def _text(form: Mapping[str, Any], name: str, limit: int) -> str:
    return str(form.get(name) or "").strip()[:limit]


def looks_like_id(value: str) -> bool:
    return bool(_ID.match(value))


def lines_from_form(form: Mapping[str, Any]) -> list[Line]:
    """The lines the form sent, in their order (``lines-<n>-<field>``), at most MAX_LINES."""
    found: dict[int, Line] = {}
    for name in form:
        match = _LINE_FIELD.match(str(name))
        if not match:
            continue
        index, part = int(match.group(1)), match.group(2)
        line = found.setdefault(index, Line())
        value = _text(form, str(name), 100 if part == "account" else 40)
        if part == "account_id":
            value = value if looks_like_id(value) else ""
        setattr(line, part, value)
    return [found[i] for i in sorted(found)][:MAX_LINES]


def draft_from_form(form: Mapping[str, Any], key: str) -> JournalDraft:
    """The composer's fields as sent (nothing is checked yet)."""
    journal_type = _text(form, "journal_type", 20).upper()
    return JournalDraft(
        key=key,
        description=_text(form, "description", 500),
        effective_date=_text(form, "effective_date", 20),
        journal_type=journal_type if journal_type in JOURNAL_TYPES else "GENERAL",
        lines=lines_from_form(form),
    )


def apply_line_action(draft: JournalDraft, action: str) -> None:
    """Apply "Add line" (``add_line``) or "Remove line" (``remove_line:<n>``) on the draft."""
    if action == "add_line":
        if len(draft.lines) < MAX_LINES:
            draft.lines.append(Line())
            draft.focus_line = len(draft.lines) - 1
        else:
            draft.summary = f"A journal has at most {MAX_LINES} lines."
        return
    if action.startswith("remove_line:"):
        try:
            index = int(action.split(":", 1)[1])
        except ValueError:
            return
        if 0 <= index < len(draft.lines) and len(draft.lines) > MIN_LINES:
            del draft.lines[index]
    while len(draft.lines) < MIN_LINES:
        draft.lines.append(Line())


def line_amount(line: Line) -> LineAmount:
    """The side and amount of a line, or what is wrong with them, in words."""
    debit, credit = normalise_amount(line.debit), normalise_amount(line.credit)
    if debit and credit:
        return LineAmount(problem="Enter either a debit or a credit on a line, not both.")
    if not debit and not credit:
        return LineAmount()
    text = debit or credit
    problem = amount_problem(text)
    if problem:
        return LineAmount(problem=problem)
    return LineAmount(side="debit" if debit else "credit", amount=Decimal(canonical_amount(text)))


@dataclass
class CurrencyTotal:
    """Debits and credits of one currency."""

    currency: str
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)

    @property
    def difference(self) -> Decimal:
        return self.debit - self.credit

    @property
    def balanced(self) -> bool:
        return self.difference == 0

    def shown(self, name: str) -> str:
        value: Decimal = getattr(self, name)
        return money(abs(value) if name == "difference" else value, self.currency)


@dataclass
class Totals:
    """The journal's totals per currency, as the composer shows them live."""

    currencies: list[CurrencyTotal]
    invalid_lines: list[int] = field(default_factory=list)  # 1-based, as shown
    debit_lines: int = 0
    credit_lines: int = 0

    @property
    def balanced(self) -> bool:
        """Balanced in every currency, with at least one debit and one credit."""
        return (
            not self.invalid_lines
            and self.debit_lines > 0
            and self.credit_lines > 0
            and all(t.balanced for t in self.currencies)
        )

    @property
    def unbalanced(self) -> list[CurrencyTotal]:
        return [t for t in self.currencies if not t.balanced]

    def explain(self) -> str:
        """Why it cannot be submitted yet, in a sentence (empty when it can)."""
        if self.invalid_lines:
            lines = ", ".join(str(n) for n in self.invalid_lines)
            return f"Check the amount on line {lines}."
        off = self.unbalanced
        if off:
            parts = [
                f"debits ({t.shown('debit')}) and credits ({t.shown('credit')}) "
                f"differ by {t.shown('difference')}"
                for t in off
            ]
            return (
                "The journal does not balance: " + "; ".join(parts) + ". "
                "It can be submitted once they are equal."
            )
        if not self.debit_lines or not self.credit_lines:
            return "A journal needs at least one debit line and one credit line."
        return ""


def compute_totals(lines: list[Line], currency_of: Mapping[int, str], base_currency: str) -> Totals:
    """Totals per currency (``currency_of``: line index → its account's currency)."""
    by_currency: dict[str, CurrencyTotal] = {base_currency: CurrencyTotal(base_currency)}
    totals = Totals(currencies=[])
    for index, line in enumerate(lines):
        parsed = line_amount(line)
        if parsed.problem:
            totals.invalid_lines.append(index + 1)
            continue
        if parsed.amount is None:
            continue
        currency = currency_of.get(index) or base_currency
        total = by_currency.setdefault(currency, CurrencyTotal(currency))
        if parsed.side == "debit":
            total.debit += parsed.amount
            totals.debit_lines += 1
        else:
            total.credit += parsed.amount
            totals.credit_lines += 1
    base = by_currency.pop(base_currency)
    shown_base = [base] if base.debit or base.credit or not by_currency else []
    totals.currencies = shown_base + [by_currency[c] for c in sorted(by_currency)]
    return totals


def check_header(draft: JournalDraft, business_date: date) -> None:
    """The description, effective date and type (errors go into ``draft.errors``)."""
    if not draft.description:
        draft.errors["description"] = "Enter a description: what this journal is for."
    if not draft.effective_date:
        draft.errors["effective_date"] = "Enter the effective date, like 2026-11-23."
        return
    try:
        effective = date.fromisoformat(draft.effective_date)
    except ValueError:
        draft.errors["effective_date"] = "Enter the effective date as a date, like 2026-11-23."
        return
    if effective > business_date:
        draft.errors["effective_date"] = (
            f"The effective date can't be after today's business date "
            f"({business_date.isoformat()})."
        )


def check_lines(draft: JournalDraft, chosen: Mapping[int, LineAccount | None]) -> None:
    """Each non-blank line has an account and one valid amount (``chosen``: line → account)."""
    used = 0
    for index, line in enumerate(draft.lines):
        if line.blank:
            continue
        used += 1
        parsed = line_amount(line)
        if parsed.problem:
            draft.errors[f"lines-{index}-amount"] = parsed.problem
        elif parsed.amount is None:
            draft.errors[f"lines-{index}-amount"] = "Enter a debit or a credit for this line."
        if chosen.get(index) is None and f"lines-{index}-account" not in draft.errors:
            draft.errors[f"lines-{index}-account"] = (
                "Choose the account: type a GL code or name, an account number or a holder's name."
            )
    if used < 2:
        draft.summary = "A journal needs at least two lines: one debit and one credit."


@dataclass
class CoreJournal:
    """The body for ``POST /journals`` and which line each entry came from."""

    body: WriteBody
    entry_lines: list[int]


def core_body(
    draft: JournalDraft, chosen: Mapping[int, LineAccount | None], business_date: date
) -> CoreJournal:
    """The core's body, built only from a checked draft (blank lines left out)."""
    entries: list[WriteBody] = []
    entry_lines: list[int] = []
    for index, line in enumerate(draft.lines):
        account = chosen.get(index)
        parsed = line_amount(line)
        if line.blank or account is None or parsed.amount is None:
            continue
        entries.append(
            {
                "account_id": account.id,
                "amount": format(parsed.amount, "f"),
                "entry_type": parsed.side,
                "currency_code": account.currency,
            }
        )
        entry_lines.append(index)
    body: WriteBody = {
        "journal_type": draft.journal_type,
        "description": draft.description,
        "transaction_date": business_date.isoformat(),
        "effective_date": draft.effective_date,
        "entries": entries,
    }
    return CoreJournal(body=body, entry_lines=entry_lines)


# -- the core's refusals, next to their lines ----------------------------------------------

_HEADER_FIELDS = {
    "description": "description",
    "effective_date": "effective_date",
    "transaction_date": "effective_date",
    "fiscal_period_id": "effective_date",
    "journal_type": "journal_type",
}

_LINE_MESSAGES: dict[str, str] = {
    "HEADER_ACCOUNT_NOT_POSTABLE": (
        "This is a header account and takes no postings; choose one of the accounts under it."
    ),
    "MANUAL_ENTRY_NOT_ALLOWED": (
        "This account takes only system postings (cash, control or clearing); choose another."
    ),
    "CURRENCY_MISMATCH": "This line's currency is not the account's currency.",
    "ACCOUNT_NOT_FOUND": "We could not find this account; search for it again.",
    "GL_ACCOUNT_NOT_FOUND": "We could not find this GL account; search for it again.",
    "ACCOUNT_FROZEN": "This account is frozen: nothing can be debited from it.",
    "ACCOUNT_NOT_ACTIVE": "This account is not active: no money can move on it.",
    "INSUFFICIENT_FUNDS": "This account does not have the funds for this debit.",
}

_HEADER_MESSAGES: dict[str, str] = {
    "PERIOD_CLOSED": (
        "That date falls in a closed fiscal period; choose a date in an open period."
    ),
    "NO_OPEN_PERIOD": "No open fiscal period holds that date; ask an admin to open one.",
}


def _entry_of(field_name: str) -> tuple[int, str] | None:
    match = _ENTRY_FIELD.match(field_name)
    if not match:
        return None
    return int(match.group(1) or match.group(2)), match.group(3) or ""


def _line_field(part: str) -> str:
    return "account" if part in {"account_id", "currency_code", "account", ""} else "amount"


def _plain(code: str, part: str, detail: Mapping[str, Any]) -> str:
    """A line's refusal (``code``: the error's; the detail's own code says what is wrong)."""
    if code in _LINE_MESSAGES:
        return _LINE_MESSAGES[code]
    if part in {"amount", "entry_type"}:
        if detail.get("code") == "not_positive":
            return "Enter an amount greater than zero."
        return "Enter the amount in figures, like 1500.00 (at most two decimal places)."
    if part in {"account_id", "account"}:
        return "Choose an account for this line."
    return detail_words(detail)


def _header_message(
    code: str, name: str, detail: Mapping[str, Any], business_date: str | None
) -> str:
    if code in _HEADER_MESSAGES and name == "effective_date":
        return _HEADER_MESSAGES[code]
    why = detail.get("code")
    if name == "effective_date" and why == "in_future":
        when = f" ({business_date})" if business_date else ""
        return f"The effective date can't be after today's business date{when}."
    if name == "description":
        if why == "too_long":
            return "The description is too long (at most 500 characters)."
        return "Enter a description: what this journal is for."
    if name == "journal_type":
        return "Choose one of the journal types."
    if name == "effective_date":
        return "Enter the effective date as a date, like 2026-11-23."
    return detail_words(detail, name)


def explain_core_error(
    error: BankingAPIError,
    draft: JournalDraft,
    journal: CoreJournal,
    chosen: Mapping[int, LineAccount | None],
    business_date: str | None = None,
) -> None:
    """Put the core's refusal into ``draft.errors`` (by line and field) and its summary."""
    code = error.code
    by_account = {account.id: index for index, account in chosen.items() if account is not None}
    placed = False
    for detail in error.details:
        name = str(detail.get("field") or "")
        entry = _entry_of(name)
        if entry is not None:
            position, part = entry
            if 0 <= position < len(journal.entry_lines):
                key = f"lines-{journal.entry_lines[position]}-{_line_field(part)}"
                draft.errors.setdefault(key, _plain(code, part, detail))
                placed = True
                continue
        if name in _HEADER_FIELDS:
            control = _HEADER_FIELDS[name]
            draft.errors.setdefault(control, _header_message(code, control, detail, business_date))
            placed = True
            continue
        value = str(detail.get("value") or "")
        if value in by_account:
            draft.errors.setdefault(f"lines-{by_account[value]}-account", _plain(code, "", detail))
            placed = True
    if code in _HEADER_MESSAGES and "effective_date" not in draft.errors:
        draft.errors["effective_date"] = _HEADER_MESSAGES[code]
        placed = True
    if code == "UNBALANCED_JOURNAL":
        draft.summary = (
            "The banking service says the journal does not balance: debits and credits "
            "must be equal in each currency. Check the amounts."
        )
        return
    if code in {"VALIDATION_ERROR", "MISSING_FIELD"} and placed:
        draft.summary = "Some details need attention; see the messages by each field."
        return
    if placed:
        draft.summary = "The banking service refused this journal; see the messages below."
        return
    draft.summary = error.message if code in _LINE_MESSAGES and error.message else None
    draft.summary = draft.summary or core_message(error)
