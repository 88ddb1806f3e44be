"""The ledger's posting rules as a pure function: what a journal's legs do to the customer
accounts they touch, or the contract's refusal, decided before anything is written.

Beside them, the two rules the callers check before they plan (they read the period
and the chart): a closed or missing period, and a manual line on a header GL account.
"""

import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.errors import ApiError
from app.core.journals.service import Line, line_problems
from app.core.ledger.models import GLAccount
from app.core.ledger.planning import (
    CREDIT,
    DEBIT,
    Leg,
    PostingPlan,
    available_balance,
    plan_postings,
)
from app.core.periods.service import check_period_row

CASH = uuid.UUID("00000000-0000-4000-8000-00000000000c")
CONTROL = uuid.UUID("00000000-0000-4000-8000-0000000000c1")


@dataclass
class Account:
    """A customer account's standing, as the plan reads it."""

    id: uuid.UUID
    account_number: str = "1000000001"
    currency: str = "NGN"
    branch_code: str = "001"
    status: str = "ACTIVE"
    ledger_balance: int = 0
    hold_amount: int = 0
    overdraft_limit: int = 0


def customer(account: Account, side: str, amount: int, currency: str = "NGN") -> Leg:
    return Leg(CONTROL, side, amount, currency, account_id=account.id, description="note")


def cash(side: str, amount: int, currency: str = "NGN", branch: str = "002") -> Leg:
    return Leg(CASH, side, amount, currency, branch_code=branch)


def refusal(legs: list[Leg], accounts: list[Account], **options: bool) -> ApiError:
    with pytest.raises(ApiError) as caught:
        plan_postings(legs, {a.id: a for a in accounts}, **options)
    return caught.value


def new_account(**fields: object) -> Account:
    return Account(id=uuid.uuid4(), **fields)  # type: ignore[arg-type]


# ---- what a plan says --------------------------------------------------------------


def test_a_deposit_plans_the_new_balance_and_both_rows_without_touching_the_account():
    account = new_account(ledger_balance=5_000)
    plan = plan_postings(
        [cash(DEBIT, 2_500), customer(account, CREDIT, 2_500)], {account.id: account}
    )
    assert plan.deltas == {account.id: 2_500}
    assert plan.balances == {account.id: 7_500}
    assert account.ledger_balance == 5_000  # planning changes nothing
    customer_row, cash_row = plan.postings  # customer legs first, then GL legs
    assert (customer_row.account_id, customer_row.side, customer_row.balance_after) == (
        account.id,
        CREDIT,
        7_500,
    )
    assert customer_row.branch_code == "001"  # the account's branch when the leg names none
    assert customer_row.description == "note"
    assert (cash_row.account_id, cash_row.gl_account_id, cash_row.balance_after) == (
        None,
        CASH,
        None,
    )
    assert cash_row.branch_code == "002"


def test_a_plan_cannot_be_changed_after_the_fact():
    account = new_account(ledger_balance=100)
    plan = plan_postings([cash(DEBIT, 1), customer(account, CREDIT, 1)], {account.id: account})
    with pytest.raises(TypeError):
        plan.balances[account.id] = 0  # type: ignore[index]
    with pytest.raises(AttributeError):
        plan.postings = ()  # type: ignore[misc]


def test_running_balances_follow_the_legs_in_order():
    account = new_account(ledger_balance=1_000)
    plan = plan_postings(
        [
            customer(account, CREDIT, 300),
            customer(account, DEBIT, 1_200),
            cash(CREDIT, 900),
        ],
        {account.id: account},
    )
    assert [p.balance_after for p in plan.postings] == [1_300, 100, None]
    assert plan.deltas == {account.id: -900}
    assert plan.balances == {account.id: 100}


def test_a_debit_counts_what_earlier_legs_of_the_journal_brought_in():
    account = new_account(ledger_balance=0)
    legs = [cash(DEBIT, 500), customer(account, CREDIT, 500), customer(account, DEBIT, 500)]
    legs.append(cash(CREDIT, 500))
    plan = plan_postings(legs, {account.id: account})
    assert plan.balances == {account.id: 0}
    # The same legs, debit first: nothing is there yet to take.
    error = refusal([legs[2], legs[0], legs[1], legs[3]], [account])
    assert error.code == "INSUFFICIENT_FUNDS"


# ---- refusals ------------------------------------------------------------------------


def test_an_unbalanced_journal_is_refused_with_both_totals():
    account = new_account(ledger_balance=1_000)
    error = refusal([cash(DEBIT, 100), customer(account, CREDIT, 99)], [account])
    assert error.code == "UNBALANCED_JOURNAL"
    assert [d["value"] for d in error.details] == ["100", "99"]


def test_balance_is_per_currency():
    account = new_account(ledger_balance=1_000)
    legs = [cash(DEBIT, 100, "USD"), customer(account, CREDIT, 100, "NGN")]
    assert refusal(legs, [account]).code == "UNBALANCED_JOURNAL"


def test_a_customer_leg_in_another_currency_is_refused():
    account = new_account(currency="NGN")
    error = refusal([cash(DEBIT, 100, "USD"), customer(account, CREDIT, 100, "USD")], [account])
    assert error.code == "CURRENCY_MISMATCH"
    assert error.details == [
        {
            "field": "currency",
            "code": "currency_mismatch",
            "reason": "account currency is NGN",
            "value": "USD",
        }
    ]


def test_a_frozen_account_takes_credits_but_no_debits():
    account = new_account(status="FROZEN", ledger_balance=10_000)
    plan = plan_postings([cash(DEBIT, 5), customer(account, CREDIT, 5)], {account.id: account})
    assert plan.balances == {account.id: 10_005}
    error = refusal([customer(account, DEBIT, 5), cash(CREDIT, 5)], [account])
    assert error.code == "ACCOUNT_FROZEN"


@pytest.mark.parametrize("status", ["CLOSED", "BLOCKED", "PENDING", "DORMANT"])
def test_an_account_that_is_not_active_takes_neither_side(status: str):
    account = new_account(status=status, ledger_balance=10_000)
    debit = refusal([customer(account, DEBIT, 5), cash(CREDIT, 5)], [account])
    credit = refusal([cash(DEBIT, 5), customer(account, CREDIT, 5)], [account])
    assert debit.code == credit.code == "ACCOUNT_NOT_ACTIVE"
    assert credit.details[0]["reason"] == f"account {status.lower()}"


def test_holds_and_overdraft_decide_what_is_available():
    account = new_account(ledger_balance=1_000, hold_amount=400, overdraft_limit=150)
    assert available_balance(account) == 750
    plan = plan_postings([customer(account, DEBIT, 750), cash(CREDIT, 750)], {account.id: account})
    assert plan.balances == {account.id: 250}
    error = refusal([customer(account, DEBIT, 751), cash(CREDIT, 751)], [account])
    assert error.code == "INSUFFICIENT_FUNDS"
    assert error.details[0]["available_balance"] == "₦7.50"


def test_skipping_the_funds_check_leaves_debits_to_the_caller_but_not_credits():
    # The caller checked each account's debit already (status and amount): the plan does
    # not repeat it, but a credit to a closed account is still refused.
    account = new_account(ledger_balance=0)
    plan = plan_postings(
        [customer(account, DEBIT, 900), cash(CREDIT, 900)],
        {account.id: account},
        skip_funds_check=True,
    )
    assert plan.balances == {account.id: -900}
    frozen = new_account(status="FROZEN", ledger_balance=10)
    plan = plan_postings(
        [customer(frozen, DEBIT, 10), cash(CREDIT, 10)], {frozen.id: frozen}, skip_funds_check=True
    )
    assert plan.balances == {frozen.id: 0}
    closed = new_account(status="CLOSED", ledger_balance=0)
    error = refusal([cash(DEBIT, 1), customer(closed, CREDIT, 1)], [closed], skip_funds_check=True)
    assert error.code == "ACCOUNT_NOT_ACTIVE"


def test_the_first_broken_rule_is_the_one_named():
    # Unbalanced and in the wrong currency: balance is checked first, over the journal.
    account = new_account(currency="NGN")
    error = refusal([cash(DEBIT, 2, "USD"), customer(account, CREDIT, 1, "USD")], [account])
    assert error.code == "UNBALANCED_JOURNAL"


# ---- what the callers check before planning ------------------------------------------


def test_a_closed_period_takes_no_postings():
    on = date(2026, 11, 30)
    check_period_row(("open", "November 2026"), on)
    with pytest.raises(ApiError) as closed:
        check_period_row(("closed", "November 2026"), on)
    assert closed.value.code == "PERIOD_CLOSED"
    with pytest.raises(ApiError) as missing:
        check_period_row(None, on)
    assert missing.value.code == "NO_OPEN_PERIOD"


def test_a_header_gl_account_takes_no_journal_lines():
    header = GLAccount(
        tenant_id=uuid.uuid4(),
        code="1000",
        name="Assets",
        category="ASSET",
        is_header=True,
        allow_manual_entries=False,
        currency_code="NGN",
    )
    line = Line(field="entries.0", side=DEBIT, amount=1, currency="NGN", description=None)
    line.gl = header
    assert [code for code, _m, _d in line_problems([line])] == ["HEADER_ACCOUNT_NOT_POSTABLE"]
    header.is_active = False
    assert [code for code, _m, _d in line_problems([line])] == [
        "HEADER_ACCOUNT_NOT_POSTABLE",
        "ACCOUNT_NOT_ACTIVE",
    ]


# ---- properties ------------------------------------------------------------------------

amounts = st.integers(min_value=1, max_value=10**12)


@st.composite
def journals(draw: st.DrawFn) -> tuple[list[Leg], dict[uuid.UUID, Account]]:
    """A balanced journal over one to three customer accounts and the till."""
    accounts = [
        new_account(
            account_number=f"100000000{n}",
            ledger_balance=draw(st.integers(min_value=-(10**9), max_value=10**13)),
            hold_amount=draw(st.integers(min_value=0, max_value=10**9)),
            overdraft_limit=draw(st.integers(min_value=0, max_value=10**9)),
        )
        for n in range(draw(st.integers(min_value=1, max_value=3)))
    ]
    legs: list[Leg] = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        account = draw(st.sampled_from(accounts))
        side = draw(st.sampled_from([DEBIT, CREDIT]))
        amount = draw(amounts)
        legs.append(customer(account, side, amount))
        legs.append(cash(CREDIT if side == DEBIT else DEBIT, amount))
    return draw(st.permutations(legs)), {a.id: a for a in accounts}


def _plan_or_refusal(
    legs: list[Leg], accounts: dict[uuid.UUID, Account], **options: bool
) -> PostingPlan | ApiError:
    try:
        return plan_postings(legs, accounts, **options)
    except ApiError as error:
        return error


@given(journals())
def test_a_plan_is_double_entry_and_adds_up(journal: tuple[list[Leg], dict[uuid.UUID, Account]]):
    legs, accounts = journal
    before = {a.id: (a.ledger_balance, a.hold_amount) for a in accounts.values()}
    plan = plan_postings(legs, accounts, skip_funds_check=True)
    assert {a.id: (a.ledger_balance, a.hold_amount) for a in accounts.values()} == before
    assert len(plan.postings) == len(legs)
    debits = sum(p.amount for p in plan.postings if p.side == DEBIT)
    credits = sum(p.amount for p in plan.postings if p.side == CREDIT)
    assert debits == credits
    for account_id, delta in plan.deltas.items():
        rows = [p for p in plan.postings if p.account_id == account_id]
        signed = sum(p.amount if p.side == CREDIT else -p.amount for p in rows)
        assert delta == signed
        assert plan.balances[account_id] == accounts[account_id].ledger_balance + delta
        assert rows[-1].balance_after == plan.balances[account_id]
    assert set(plan.deltas) == {leg.account_id for leg in legs if leg.account_id}


@given(journals())
def test_an_accepted_debit_never_takes_more_than_was_available(
    journal: tuple[list[Leg], dict[uuid.UUID, Account]],
):
    legs, accounts = journal
    outcome = _plan_or_refusal(legs, accounts)
    if isinstance(outcome, ApiError):
        assert outcome.code == "INSUFFICIENT_FUNDS"
        return
    for planned in outcome.postings:
        if planned.account_id is not None and planned.side == DEBIT:
            account = accounts[planned.account_id]
            assert planned.balance_after is not None
            assert planned.balance_after - account.hold_amount + account.overdraft_limit >= 0


@given(journals(), amounts)
def test_an_unbalanced_journal_is_always_refused(
    journal: tuple[list[Leg], dict[uuid.UUID, Account]], extra: int
):
    legs, accounts = journal
    outcome = _plan_or_refusal([*legs, cash(DEBIT, extra)], accounts, skip_funds_check=True)
    assert isinstance(outcome, ApiError)
    assert outcome.code == "UNBALANCED_JOURNAL"
