"""The journal composer's form logic: lines from a form, Decimal totals per currency, the
checks before sending, and the core's refusals placed next to their lines."""

from datetime import date
from decimal import Decimal

from app.client import BankingAPIBusinessRuleError, BankingAPIValidationError
from app.console.journals.accounts import LineAccount
from app.console.journals.composer import (
    MAX_LINES,
    JournalDraft,
    Line,
    apply_line_action,
    check_header,
    check_lines,
    compute_totals,
    core_body,
    draft_from_form,
    explain_core_error,
    line_amount,
    lines_from_form,
)

GL_A = "11111111-1111-4111-8111-111111111111"
GL_B = "22222222-2222-4222-8222-222222222222"
USD = "33333333-3333-4333-8333-333333333333"


def account(account_id: str, currency: str = "NGN") -> LineAccount:
    return LineAccount(
        id=account_id,
        kind="gl",
        number="5200",
        name="Operating",
        currency=currency,
        status="",
        category="EXPENSE",
        postable=True,
    )


def test_lines_come_in_index_order_and_ignore_strangers():
    form = {
        "lines-10-debit": "5",
        "lines-2-account": "5200",
        "lines-2-account_id": GL_A,
        "lines-2-credit": "5",
        "lines-3-account_id": "not-an-id",
        "lines-x-debit": "9",
        "description": "Rent",
    }
    lines = lines_from_form(form)
    assert lines == [
        Line(account="5200", account_id=GL_A, credit="5"),
        Line(),  # the ID that is not one is dropped, the line kept
        Line(debit="5"),
    ]


def test_lines_are_capped():
    form = {f"lines-{i}-debit": "1" for i in range(MAX_LINES + 10)}
    assert len(lines_from_form(form)) == MAX_LINES


def test_add_and_remove_line_keep_at_least_two():
    draft = draft_from_form({"lines-0-debit": "1", "lines-1-credit": "1"}, "k")
    apply_line_action(draft, "add_line")
    assert len(draft.lines) == 3 and draft.focus_line == 2
    apply_line_action(draft, "remove_line:0")
    assert [line.credit for line in draft.lines] == ["1", ""]
    apply_line_action(draft, "remove_line:0")  # two is the least: nothing removed
    assert len(draft.lines) == 2
    for nonsense in ("remove_line:x", "remove_line:99", "remove_line:-1", "whatever"):
        apply_line_action(draft, nonsense)
        assert len(draft.lines) == 2
    empty = draft_from_form({}, "k")
    apply_line_action(empty, "refresh")
    assert len(empty.lines) == 2


def test_line_amounts_in_words():
    assert line_amount(Line(debit="₦1,500.5")).amount == Decimal("1500.50")
    assert line_amount(Line(credit="7")).side == "credit"
    assert line_amount(Line()).amount is None and line_amount(Line()).problem is None
    assert "not both" in str(line_amount(Line(debit="1", credit="1")).problem)
    assert "two decimal places" in str(line_amount(Line(debit="1.234")).problem)
    assert "greater than zero" in str(line_amount(Line(debit="0")).problem)
    assert line_amount(Line(debit="1000000000000")).problem  # 13 digits: refused


def test_totals_are_decimal_and_per_currency():
    lines = [
        Line(debit="0.10"),
        Line(debit="0.20"),
        Line(credit="0.30"),
        Line(debit="10.00"),
        Line(credit="9.99"),
    ]
    totals = compute_totals(lines, {3: "USD", 4: "USD"}, "NGN")
    ngn, usd = totals.currencies
    assert (ngn.currency, ngn.debit, ngn.credit, ngn.balanced) == (
        "NGN",
        Decimal("0.30"),
        Decimal("0.30"),
        True,
    )
    assert (usd.currency, usd.difference) == ("USD", Decimal("0.01"))
    assert not totals.balanced
    assert "debits ($10.00) and credits ($9.99) differ by $0.01" in totals.explain()
    assert compute_totals(lines[:3], {}, "NGN").balanced
    # One side only, or nothing at all, is not a journal.
    assert not compute_totals([Line(debit="5")], {}, "NGN").balanced
    nothing = compute_totals([Line(), Line()], {}, "NGN")
    assert not nothing.balanced and [t.currency for t in nothing.currencies] == ["NGN"]
    bad = compute_totals([Line(debit="5"), Line(credit="five")], {}, "NGN")
    assert bad.invalid_lines == [2] and bad.explain() == "Check the amount on line 2."


def test_checks_before_sending():
    draft = JournalDraft(
        key="k",
        description="",
        effective_date="2026-12-02",
        lines=[Line(account="5200", debit="5"), Line(), Line(account="zz", credit="x")],
    )
    check_header(draft, date(2026, 12, 1))
    check_lines(draft, {0: account(GL_A), 2: None})
    assert set(draft.errors) == {
        "description",
        "effective_date",
        "lines-2-amount",
        "lines-2-account",
    }
    assert "2026-12-01" in draft.errors["effective_date"]
    lonely = JournalDraft(key="k", description="x", effective_date="2026-12-01", lines=[Line()])
    check_lines(lonely, {})
    assert lonely.summary and "at least two lines" in lonely.summary
    dated = JournalDraft(key="k", description="x", effective_date="1 Dec")
    check_header(dated, date(2026, 12, 1))
    assert "as a date" in dated.errors["effective_date"]


def test_the_core_body_leaves_blank_lines_out():
    draft = JournalDraft(
        key="k",
        description="Rent",
        effective_date="2026-11-30",
        lines=[Line(account_id=GL_A, debit="1,000"), Line(), Line(account_id=USD, credit="1000")],
    )
    journal = core_body(draft, {0: account(GL_A), 2: account(USD, "USD")}, date(2026, 12, 1))
    assert journal.body == {
        "journal_type": "GENERAL",
        "description": "Rent",
        "transaction_date": "2026-12-01",
        "effective_date": "2026-11-30",
        "entries": [
            {"account_id": i, "amount": "1000.00", "entry_type": side, "currency_code": currency}
            for i, side, currency in ((GL_A, "debit", "NGN"), (USD, "credit", "USD"))
        ],
    }
    assert journal.entry_lines == [0, 2]


def test_core_refusals_land_on_their_lines():
    draft = JournalDraft(
        key="k",
        description="Rent",
        effective_date="2026-11-30",
        lines=[Line(account_id=GL_A, debit="5"), Line(), Line(account_id=GL_B, credit="5")],
    )
    chosen = {0: account(GL_A), 2: account(GL_B)}
    journal = core_body(draft, chosen, date(2026, 12, 1))
    manual = BankingAPIBusinessRuleError(
        "MANUAL_ENTRY_NOT_ALLOWED",
        "GL account 2101 takes system postings only.",
        422,
        [{"field": "entries.1.account_id", "reason": "manual entries not allowed"}],
    )
    explain_core_error(manual, draft, journal, chosen)
    assert draft.errors == {"lines-2-account": draft.errors["lines-2-account"]}
    assert "system postings" in draft.errors["lines-2-account"]
    assert draft.summary and "refused this journal" in draft.summary

    closed = JournalDraft(key="k", lines=list(draft.lines))
    explain_core_error(
        BankingAPIBusinessRuleError("PERIOD_CLOSED", "Closed.", 422, []), closed, journal, chosen
    )
    assert "closed fiscal period" in closed.errors["effective_date"]

    invalid = JournalDraft(key="k", lines=list(draft.lines))
    explain_core_error(
        BankingAPIValidationError(
            "VALIDATION_ERROR",
            "Check these fields.",
            400,
            [
                {"field": "entries.0.amount", "code": "too_many_decimals", "reason": "x"},
                {"field": "effective_date", "code": "in_future", "reason": "after 2026-12-01"},
            ],
        ),
        invalid,
        journal,
        chosen,
        "2026-12-01",
    )
    assert "two decimal places" in invalid.errors["lines-0-amount"]
    assert "(2026-12-01)" in invalid.errors["effective_date"]

    unbalanced = JournalDraft(key="k", lines=list(draft.lines))
    explain_core_error(
        BankingAPIBusinessRuleError("UNBALANCED_JOURNAL", "No.", 422, [{"field": "entries"}]),
        unbalanced,
        journal,
        chosen,
    )
    assert unbalanced.summary and "does not balance" in unbalanced.summary
    # A line named by its account rather than its position still finds its line.
    by_value = JournalDraft(key="k", lines=list(draft.lines))
    explain_core_error(
        BankingAPIBusinessRuleError(
            "ACCOUNT_NOT_ACTIVE", "Inactive.", 422, [{"field": "account", "value": GL_B}]
        ),
        by_value,
        journal,
        chosen,
    )
    assert "not active" in by_value.errors["lines-2-account"]


def test_drafts_survive_the_store():
    draft = JournalDraft(key="k", description="Rent", lines=[Line(debit="5")], errors={"a": "b"})
    again = JournalDraft.from_json(draft.to_json())
    assert again == draft
    assert JournalDraft.from_json(b"not json") is None
    assert JournalDraft.from_json(b'{"nope": 1}') is None
