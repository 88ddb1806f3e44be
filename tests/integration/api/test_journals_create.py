"""POST /journals: every rule of ledger.md "Journals" (create), and bad input changes nothing."""

import uuid
from datetime import timedelta

import pytest

from tests.integration.api.journal_helpers import (
    NO_PERIOD_DATE,
    PAST_YEAR,
    act,
    business_day,
    draft,
    get_journal,
    gl,
    journal_body,
    ledger_counts,
    line,
    new_gl_account,
    past_year_periods,
)
from tests.integration.api.ledger_helpers import (
    balances,
    deposit,
    expect,
    h,
    make_customer,
    open_account,
)
from tests.support import headers, new_key

pytestmark = pytest.mark.usefixtures("ledger_checked")


async def test_draft_is_pending_with_entries_totals_and_period(api, tokens):
    chart = await gl(api, tokens)
    acct = await open_account(api, tokens, initial_deposit="100.00")
    today = await business_day(api, tokens)
    created = expect(
        await draft(
            api,
            tokens,
            [
                line(chart["5200"]["id"], "1500.00", "debit", description="Office rent"),
                line(acct["id"], "500.50", "credit"),
                line(chart["2200"]["id"], 999.5, "credit"),  # an exact JSON number
            ],
            journal_type="ACCRUAL",
            source_reference="INV-42",
        ),
        201,
    )
    assert created["status"] == "PENDING" and created["journal_type"] == "ACCRUAL"
    assert created["journal_number"].startswith(f"JV{today:%Y%m%d}")
    assert created["is_system"] is False and created["source_reference"] == "INV-42"
    assert created["created_by_email"] == "teller@demo.bank" and created["branch_code"] == "001"
    assert created["fiscal_period"]["period_number"] == today.month
    assert created["fiscal_period"]["status"] == "open"
    assert created["fiscal_period_id"] == created["fiscal_period"]["id"]
    assert [
        (e["line_no"], e["account_kind"], e["entry_type"], e["amount"], e["currency_code"])
        for e in created["entries"]
    ] == [
        (1, "gl", "debit", "1500.00", "NGN"),
        (2, "customer", "credit", "500.50", "NGN"),
        (3, "gl", "credit", "999.50", "NGN"),
    ]
    rent, customer, payables = created["entries"]
    assert (rent["gl_account_code"], rent["account_name"], rent["description"]) == (
        "5200",
        "Operating expense",
        "Office rent",
    )
    assert customer["account_id"] == acct["id"]
    assert customer["account_number"] == acct["account_number"]
    assert customer["gl_account_code"] == "2102"  # the product's control account
    assert payables["account_id"] == chart["2200"]["id"]
    assert created["totals"] == [{"currency_code": "NGN", "debit": "1500.00", "credit": "1500.00"}]
    for who in ("approved", "posted", "rejected", "reversed"):
        assert created[f"{who}_by"] is None and created[f"{who}_at"] is None
    assert created["reversal_journal_id"] is None and created["reverses_journal_id"] is None
    # A draft moves nothing.
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 100_00
    assert await get_journal(api, tokens, created["id"]) == created


async def test_at_least_one_debit_and_one_credit(api, tokens, core_app):
    chart = await gl(api, tokens)
    before = await ledger_counts(core_app)
    for entries in (
        [line(chart["5200"]["id"], "1.00", "debit"), line(chart["5100"]["id"], "1.00", "debit")],
        [line(chart["4200"]["id"], "1.00", "credit"), line(chart["4100"]["id"], "1.00", "credit")],
    ):
        body = expect(await draft(api, tokens, entries), 400, "VALIDATION_ERROR")
        assert {
            "field": "entries",
            "code": "too_short",
            "reason": "needs at least one debit and one credit line",
        } in body["details"]
    body = expect(await draft(api, tokens, [line(chart["5200"]["id"], "1.00", "debit")]), 400)
    assert body["details"][0]["field"] == "entries"
    expect(await draft(api, tokens, []), 400, "VALIDATION_ERROR")
    assert await ledger_counts(core_app) == before


@pytest.mark.parametrize(
    "amount",
    [
        "0",
        "0.00",
        "-5.00",
        "1.001",
        "1e3",
        " 5.00",
        "5.00 ",
        "1,000.00",
        "+5",
        "",
        "abc",
        "1000000000000",  # 13 whole digits
        0.30000000000000004,  # 0.1 + 0.2: not exact to the minor unit
        1e-07,
        1e20,
        -3,
        0,
        True,
        None,
        [],
        {"value": "1.00"},
    ],
    ids=repr,
)
async def test_every_amount_outside_the_grammar_is_refused(api, tokens, core_app, amount):
    chart = await gl(api, tokens)
    before = await ledger_counts(core_app)
    body = expect(
        await draft(
            api,
            tokens,
            [
                line(chart["5200"]["id"], amount, "debit"),
                line(chart["2200"]["id"], "1.00", "credit"),
            ],
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert [d["field"] for d in body["details"]] == ["entries.0.amount"]
    assert await ledger_counts(core_app) == before


async def test_amounts_follow_the_currency_digits_and_every_bad_field_is_listed(
    api, tokens, core_app
):
    chart = await gl(api, tokens)
    before = await ledger_counts(core_app)
    body = expect(
        await draft(
            api,
            tokens,
            [
                line(chart["5200"]["id"], "1.5", "debit", currency="JPY"),  # JPY has no decimals
                line(chart["2200"]["id"], "1.00", "credit", currency="XXX"),
                line(chart["2200"]["id"], "-1", "credit"),
            ],
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert [d["field"] for d in body["details"]] == [
        "entries.0.amount",
        "entries.1.currency_code",
        "entries.2.amount",
    ]
    assert await ledger_counts(core_app) == before


async def test_missing_fields_wrong_types_and_unknown_members(api, tokens, core_app):
    chart = await gl(api, tokens)
    good = await journal_body(
        api,
        tokens,
        [line(chart["5200"]["id"], "1.00", "debit"), line(chart["2200"]["id"], "1.00", "credit")],
    )
    teller = await h(tokens, "teller")
    before = await ledger_counts(core_app)
    for field in ("journal_type", "description", "transaction_date", "effective_date", "entries"):
        body = {k: v for k, v in good.items() if k != field}
        response = await api.post(
            "/journals", json=body, headers={**teller, "Idempotency-Key": new_key()}
        )
        refused = expect(response, 400, "MISSING_FIELD")
        assert [d["field"] for d in refused["details"]] == [field]
    for entry_field in ("account_id", "amount", "entry_type", "currency_code"):
        entries = [dict(good["entries"][0]), good["entries"][1]]
        del entries[0][entry_field]
        response = await api.post(
            "/journals",
            json={**good, "entries": entries},
            headers={**teller, "Idempotency-Key": new_key()},
        )
        refused = expect(response, 400, "MISSING_FIELD")
        assert [d["field"] for d in refused["details"]] == [f"entries.0.{entry_field}"]
    wrong = [
        {"journal_type": "CASH"},  # system types are the ledger's own
        {"journal_type": "REVERSAL"},
        {"journal_type": "general"},
        {"journal_type": 1},
        {"description": "   "},
        {"description": "x" * 501},
        {"description": 5},
        {"effective_date": "2026/12/01"},
        {"effective_date": "20261201"},
        {"effective_date": 20261201},
        {"effective_date": "2026-02-30"},
        {"transaction_date": "2026-12-01T00:00:00Z"},
        {"entries": "all of them"},
        {"entries": [good["entries"][0], {**good["entries"][1], "entry_type": "CREDIT"}]},
        {"entries": [good["entries"][0], {**good["entries"][1], "entry_type": "cr"}]},
        {"entries": [good["entries"][0], {**good["entries"][1], "account_id": 17}]},
        {"entries": [good["entries"][0], {**good["entries"][1], "currency_code": "NG"}]},
        {"entries": [good["entries"][0], {**good["entries"][1], "currency_code": 566}]},
        {"entries": [good["entries"][0], {**good["entries"][1], "memo": "x"}]},
        {"entries": [good["entries"][0]] * 501},
        {"fiscal_period_id": 13},
        {"approved_by": "me"},
    ]
    for change in wrong:
        response = await api.post(
            "/journals", json={**good, **change}, headers={**teller, "Idempotency-Key": new_key()}
        )
        assert response.status_code == 400, (change, response.text)
        assert response.json()["code"] in {"VALIDATION_ERROR", "MISSING_FIELD"}, response.text
    not_json = await api.post(
        "/journals",
        content=b'{"journal_type": "GENERAL",',
        headers={**teller, "Idempotency-Key": new_key(), "Content-Type": "application/json"},
    )
    expect(not_json, 400, "INVALID_FORMAT")
    form = await api.post(
        "/journals",
        content=b"journal_type=GENERAL",
        headers={
            **teller,
            "Idempotency-Key": new_key(),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    expect(form, 415, "UNSUPPORTED_MEDIA_TYPE")
    no_key = await api.post("/journals", json=good, headers=teller)
    expect(no_key, 400, "IDEMPOTENCY_KEY_REQUIRED")
    assert await ledger_counts(core_app) == before
    # And the good body itself is accepted: the refusals above were about what changed.
    expect(
        await api.post("/journals", json=good, headers={**teller, "Idempotency-Key": new_key()}),
        201,
    )


async def test_dates_not_after_the_business_date(api, tokens, core_app):
    chart = await gl(api, tokens)
    entries = [
        line(chart["5200"]["id"], "3.00", "debit"),
        line(chart["2200"]["id"], "3.00", "credit"),
    ]
    tomorrow = (await business_day(api, tokens) + timedelta(days=1)).isoformat()
    before = await ledger_counts(core_app)
    body = expect(
        await draft(api, tokens, entries, effective_date=tomorrow, transaction_date=tomorrow),
        400,
        "VALIDATION_ERROR",
    )
    assert [d["field"] for d in body["details"]] == ["transaction_date", "effective_date"]
    assert await ledger_counts(core_app) == before


async def test_unknown_and_other_tenants_accounts_are_not_found(api, tokens, core_app):
    chart = await gl(api, tokens)
    other_admin = await h(tokens, "other_tenant")
    other_tree = expect(await api.get("/gl/accounts", headers=other_admin), 200)["gl_accounts"]
    other_gl = next(n for n in other_tree if n["code"] == "5000")["children"][0]["id"]
    their_customer = await make_customer(api, tokens, who="other_tenant")
    other_customer_account = (
        await open_account(api, tokens, customer_id=their_customer["id"], who="other_tenant")
    )["id"]
    before = await ledger_counts(core_app)
    for stranger in (str(uuid.uuid4()), "not-a-uuid", other_gl, other_customer_account):
        body = expect(
            await draft(
                api,
                tokens,
                [line(chart["5200"]["id"], "1.00", "debit"), line(stranger, "1.00", "credit")],
            ),
            404,
            "ACCOUNT_NOT_FOUND",
        )
        assert [d["field"] for d in body["details"]] == ["entries.1.account_id"]
    # Every missing account is named.
    body = expect(
        await draft(
            api,
            tokens,
            [line(str(uuid.uuid4()), "1.00", "debit"), line(str(uuid.uuid4()), "1.00", "credit")],
        ),
        404,
        "ACCOUNT_NOT_FOUND",
    )
    assert [d["field"] for d in body["details"]] == ["entries.0.account_id", "entries.1.account_id"]
    assert await ledger_counts(core_app) == before


async def test_unbalanced_per_currency_names_both_totals(api, tokens, core_app):
    chart = await gl(api, tokens)
    usd_cash = await new_gl_account(
        api, tokens, parent_code="1000", category="ASSET", currency_code="USD"
    )
    usd_income = await new_gl_account(
        api, tokens, parent_code="4000", category="REVENUE", currency_code="USD"
    )
    before = await ledger_counts(core_app)
    body = expect(
        await draft(
            api,
            tokens,
            [
                line(chart["5200"]["id"], "100.00", "debit"),
                line(chart["2200"]["id"], "99.99", "credit"),
            ],
        ),
        422,
        "UNBALANCED_JOURNAL",
    )
    assert body["details"] == [
        {
            "field": "entries",
            "code": "unbalanced",
            "reason": "total debits",
            "value": "100.00",
            "currency_code": "NGN",
        },
        {
            "field": "entries",
            "code": "unbalanced",
            "reason": "total credits",
            "value": "99.99",
            "currency_code": "NGN",
        },
    ]
    # NGN balances, USD does not: the journal is refused, naming USD only.
    body = expect(
        await draft(
            api,
            tokens,
            [
                line(chart["5200"]["id"], "10.00", "debit"),
                line(chart["2200"]["id"], "10.00", "credit"),
                line(usd_cash["id"], "10.00", "debit", currency="USD"),
                line(usd_income["id"], "9.00", "credit", currency="USD"),
            ],
        ),
        422,
        "UNBALANCED_JOURNAL",
    )
    assert {d["currency_code"] for d in body["details"]} == {"USD"}
    assert [d["value"] for d in body["details"]] == ["10.00", "9.00"]
    # The same amount in two currencies is not a balance: debits NGN, credits USD.
    expect(
        await draft(
            api,
            tokens,
            [
                line(chart["5200"]["id"], "10.00", "debit"),
                line(usd_income["id"], "10.00", "credit", "USD"),
            ],
        ),
        422,
        "UNBALANCED_JOURNAL",
    )
    assert await ledger_counts(core_app) == before
    # Balanced in each currency: accepted.
    created = expect(
        await draft(
            api,
            tokens,
            [
                line(chart["5200"]["id"], "10.00", "debit"),
                line(chart["2200"]["id"], "10.00", "credit"),
                line(usd_cash["id"], "10.00", "debit", currency="USD"),
                line(usd_income["id"], "10.00", "credit", currency="USD"),
            ],
        ),
        201,
    )
    assert created["totals"] == [
        {"currency_code": "NGN", "debit": "10.00", "credit": "10.00"},
        {"currency_code": "USD", "debit": "10.00", "credit": "10.00"},
    ]
    expect(await act(api, tokens, created["id"], "reject", reason="test only"), 200)


async def test_headers_system_accounts_and_currency_mismatch(api, tokens, core_app):
    chart = await gl(api, tokens)
    usd = await open_account(api, tokens, product="DOM001", currency="USD")
    fee = chart["4200"]["id"]
    before = await ledger_counts(core_app)
    cases = [
        ("5000", "HEADER_ACCOUNT_NOT_POSTABLE"),  # Expenses (a header)
        ("1100", "HEADER_ACCOUNT_NOT_POSTABLE"),
        ("2101", "MANUAL_ENTRY_NOT_ALLOWED"),  # the savings control account
        ("1101-001", "MANUAL_ENTRY_NOT_ALLOWED"),  # teller cash
        # inter-branch clearing (the teller's own branch's: another's is out of scope)
        ("1301-001", "MANUAL_ENTRY_NOT_ALLOWED"),
    ]
    for code, expected in cases:
        body = expect(
            await draft(
                api, tokens, [line(chart[code]["id"], "5.00", "debit"), line(fee, "5.00", "credit")]
            ),
            422,
            expected,
        )
        assert body["details"][0]["field"] == "entries.0.account_id"
        assert body["details"][0]["value"] == code
    mismatch = expect(
        await draft(
            api,
            tokens,
            [line(chart["5200"]["id"], "5.00", "debit", "USD"), line(fee, "5.00", "credit", "USD")],
        ),
        422,
        "CURRENCY_MISMATCH",
    )
    assert [d["field"] for d in mismatch["details"]] == [
        "entries.0.currency_code",
        "entries.1.currency_code",
    ]
    expect(
        await draft(
            api,
            tokens,
            [line(usd["id"], "5.00", "debit", "NGN"), line(fee, "5.00", "credit", "NGN")],
        ),
        422,
        "CURRENCY_MISMATCH",
    )
    assert await ledger_counts(core_app) == before


async def test_customer_account_status_at_draft(api, tokens, core_app):
    chart = await gl(api, tokens)
    fee = chart["4200"]["id"]
    officer = await h(tokens, "officer")
    frozen = await open_account(api, tokens, initial_deposit="50.00")
    expect(
        await api.post(f"/accounts/{frozen['id']}/freeze", json={"reason": "kyc"}, headers=officer),
        200,
    )
    closed = await open_account(api, tokens)
    expect(
        await api.post(f"/accounts/{closed['id']}/close", json={"reason": "gone"}, headers=officer),
        200,
    )
    before = await ledger_counts(core_app)
    expect(
        await draft(
            api, tokens, [line(frozen["id"], "5.00", "debit"), line(fee, "5.00", "credit")]
        ),
        422,
        "ACCOUNT_FROZEN",
    )
    for side, other in (("debit", "credit"), ("credit", "debit")):
        expect(
            await draft(api, tokens, [line(closed["id"], "5.00", side), line(fee, "5.00", other)]),
            422,
            "ACCOUNT_NOT_ACTIVE",
        )
    assert await ledger_counts(core_app) == before
    # A frozen account still takes credits (ledger.md: debits blocked, credits allowed).
    created = expect(
        await draft(
            api,
            tokens,
            [line(chart["5200"]["id"], "5.00", "debit"), line(frozen["id"], "5.00", "credit")],
        ),
        201,
    )
    expect(await act(api, tokens, created["id"], "reject", reason="test only"), 200)


async def test_inactive_gl_account_is_refused(api, tokens, core_app):
    account = await new_gl_account(api, tokens)
    officer = await h(tokens, "officer")
    expect(
        await api.patch(
            f"/gl/accounts/{account['id']}", json={"is_active": False}, headers=officer
        ),
        200,
    )
    chart = await gl(api, tokens)
    before = await ledger_counts(core_app)
    expect(
        await draft(
            api,
            tokens,
            [line(account["id"], "5.00", "debit"), line(chart["2200"]["id"], "5.00", "credit")],
        ),
        422,
        "ACCOUNT_NOT_ACTIVE",
    )
    assert await ledger_counts(core_app) == before


async def test_periods_closed_missing_and_period_13(api, tokens, core_app):
    chart = await gl(api, tokens)
    periods = await past_year_periods(core_app)
    entries = [
        line(chart["5200"]["id"], "7.00", "debit"),
        line(chart["2200"]["id"], "7.00", "credit"),
    ]
    year_end = f"{PAST_YEAR}-12-31"
    before = await ledger_counts(core_app)
    # Dated in a closed month: refused.
    closed = expect(
        await draft(api, tokens, entries, effective_date=year_end, transaction_date=year_end),
        422,
        "PERIOD_CLOSED",
    )
    assert closed["details"][0]["field"] == "effective_date"
    # A date no period holds.
    expect(
        await draft(api, tokens, entries, effective_date=NO_PERIOD_DATE.isoformat()),
        422,
        "NO_OPEN_PERIOD",
    )
    # A period that does not exist (another tenant's: see the test below).
    for stranger in (str(uuid.uuid4()), "period-13"):
        expect(
            await draft(api, tokens, entries, effective_date=year_end, fiscal_period_id=stranger),
            404,
            "PERIOD_NOT_FOUND",
        )
    # Period 13 named, but the date is not its day.
    expect(
        await draft(
            api, tokens, entries, effective_date=f"{PAST_YEAR}-12-30", fiscal_period_id=periods[13]
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert await ledger_counts(core_app) == before
    # Naming period 13 takes the year-end adjustment into it although December is closed.
    created = expect(
        await draft(
            api,
            tokens,
            entries,
            journal_type="ADJUSTMENT",
            effective_date=year_end,
            transaction_date=year_end,
            fiscal_period_id=periods[13],
        ),
        201,
    )
    assert created["fiscal_period_id"] == periods[13]
    assert created["fiscal_period"]["period_number"] == 13
    assert (await get_journal(api, tokens, created["id"]))["fiscal_period"]["period_number"] == 13
    expect(await act(api, tokens, created["id"], "reject", reason="test only"), 200)


async def test_other_tenant_period_is_not_found(api, tokens, core_app):
    """A period ID of another tenant is a 404 like a missing one."""
    import sqlalchemy as sa
    from sqlmodel import col

    from app.core.periods.models import FiscalPeriod
    from tests.integration.api.journal_helpers import tenant_id

    other = await tenant_id(core_app, "fmfb")
    async with core_app.state.services.db.session() as session:
        period = (
            await session.execute(
                sa.select(col(FiscalPeriod.id)).where(col(FiscalPeriod.tenant_id) == other).limit(1)
            )
        ).scalar_one()
    chart = await gl(api, tokens)
    before = await ledger_counts(core_app)
    expect(
        await draft(
            api,
            tokens,
            [
                line(chart["5200"]["id"], "1.00", "debit"),
                line(chart["2200"]["id"], "1.00", "credit"),
            ],
            fiscal_period_id=str(period),
        ),
        404,
        "PERIOD_NOT_FOUND",
    )
    assert await ledger_counts(core_app) == before


async def test_cross_branch_customer_line_gets_clearing_lines(api, tokens):
    """Each branch's books balance: a customer line of branch 002 drafted at branch 001
    (by a manager: below manager, another branch is out of scope) gets a clearing pair,
    and posting it keeps the clearing accounts at zero in sum."""
    chart = await gl(api, tokens)
    acct = await open_account(api, tokens, branch="002")
    created = expect(
        await draft(
            api,
            tokens,
            [line(chart["5200"]["id"], "25.00", "debit"), line(acct["id"], "25.00", "credit")],
            who="manager",
        ),
        201,
    )
    automatic = [
        (e["gl_account_code"], e["entry_type"], e["amount"])
        for e in created["entries"]
        if e["automatic"]
    ]
    assert automatic == [("1301-002", "debit", "25.00"), ("1301-001", "credit", "25.00")]
    assert created["totals"] == [{"currency_code": "NGN", "debit": "50.00", "credit": "50.00"}]
    expect(await act(api, tokens, created["id"], "approve", "manager2"), 200)
    expect(await act(api, tokens, created["id"], "post", "manager2"), 200)
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 25_00


async def test_idempotent_replay_of_a_draft(api, tokens, core_app):
    chart = await gl(api, tokens)
    key = new_key()
    body = await journal_body(
        api,
        tokens,
        [line(chart["5200"]["id"], "4.00", "debit"), line(chart["2200"]["id"], "4.00", "credit")],
    )
    teller = await h(tokens, "teller", key=key)
    first = await api.post("/journals", json=body, headers=teller)
    assert first.status_code == 201, first.text
    before = await ledger_counts(core_app)
    again = await api.post("/journals", json=body, headers=teller)
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert await ledger_counts(core_app) == before  # nothing ran again
    other = await api.post("/journals", json={**body, "description": "another"}, headers=teller)
    expect(other, 409, "IDEMPOTENCY_CONFLICT")
    assert await ledger_counts(core_app) == before
    expect(await act(api, tokens, first.json()["id"], "reject", reason="test only"), 200)


async def test_a_refused_draft_is_replayed_as_refused(api, tokens, core_app):
    """An executed 422 is stored with its key and replayed (api.md, Idempotency)."""
    chart = await gl(api, tokens)
    key = new_key()
    body = await journal_body(
        api,
        tokens,
        [line(chart["5200"]["id"], "4.00", "debit"), line(chart["2200"]["id"], "3.00", "credit")],
    )
    first = await api.post("/journals", json=body, headers=await h(tokens, "teller", key=key))
    expect(first, 422, "UNBALANCED_JOURNAL")
    again = await api.post("/journals", json=body, headers=await h(tokens, "teller", key=key))
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"


async def test_anonymous_and_foreign_tokens_change_nothing(api, tokens, core_app):
    chart = await gl(api, tokens)
    body = await journal_body(
        api,
        tokens,
        [line(chart["5200"]["id"], "4.00", "debit"), line(chart["2200"]["id"], "4.00", "credit")],
    )
    before = await ledger_counts(core_app)
    anonymous = await api.post(
        "/journals", json=body, headers=headers(None, "demo_bank", **{"Idempotency-Key": new_key()})
    )
    expect(anonymous, 401, "UNAUTHORIZED")
    viewer = await api.post("/journals", json=body, headers=await h(tokens, "viewer", key=True))
    expect(viewer, 403, "INSUFFICIENT_ROLE")
    foreign = await api.post(
        "/journals",
        json=body,
        headers=headers(
            await tokens.for_role("other_tenant"), "demo_bank", **{"Idempotency-Key": new_key()}
        ),
    )
    expect(foreign, 403, "TENANT_MISMATCH")
    # The other tenant's own staff, in their own tenant, cannot reach this tenant's accounts.
    own = await api.post("/journals", json=body, headers=await h(tokens, "other_tenant", key=True))
    expect(own, 404, "ACCOUNT_NOT_FOUND")
    assert await ledger_counts(core_app) == before


async def test_deposit_leaves_a_readable_system_journal(api, tokens):
    acct = await open_account(api, tokens)
    made = expect(await deposit(api, tokens, acct["id"], "12.00"), 201)
    journal = await get_journal(api, tokens, made["journal_id"])
    assert (journal["journal_type"], journal["status"], journal["is_system"]) == (
        "CASH",
        "POSTED",
        True,
    )
    assert journal["source_reference"] == made["transaction_ref"]
    assert sorted(
        (e["gl_account_code"], e["entry_type"], e["amount"]) for e in journal["entries"]
    ) == [
        ("1101-001", "debit", "12.00"),
        ("2102", "credit", "12.00"),
    ]
    assert all(e["automatic"] for e in journal["entries"])
    assert journal["posted_by_email"] == "teller@demo.bank"
    assert journal["fiscal_period"] is not None
