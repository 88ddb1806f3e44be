"""Approve, reject, post and reverse: the state machine of ledger.md "Journals"."""

import uuid

import pytest

from tests.integration.api.journal_helpers import (
    PAST_YEAR,
    act,
    audit_actions,
    business_day,
    current_period_closed,
    draft,
    get_journal,
    gl,
    gl_balance,
    ledger_counts,
    line,
    new_gl_account,
    outbox_events,
    past_year_periods,
    posted,
    set_period_status,
)
from tests.integration.api.ledger_helpers import (
    balances,
    deposit,
    expect,
    h,
    minor,
    open_account,
    withdraw,
)

pytestmark = pytest.mark.usefixtures("ledger_checked")

ACTIONS = ("approve", "reject", "post", "reverse")


async def expense_entries(api, tokens, amount="10.00"):
    chart = await gl(api, tokens)
    return [line(chart["5200"]["id"], amount, "debit"), line(chart["2200"]["id"], amount, "credit")]


async def test_approve_then_post_moves_money_with_running_balances(api, tokens, core_app):
    chart = await gl(api, tokens)
    acct = await open_account(api, tokens, initial_deposit="300.00")
    fee_before = minor(await gl_balance(api, tokens, chart["4200"]["id"]))
    created = expect(
        await draft(
            api,
            tokens,
            [
                line(acct["id"], "120.00", "debit", description="Card fee"),
                line(chart["4200"]["id"], "120.00", "credit"),
            ],
            journal_type="REVENUE",
        ),
        201,
    )
    approved = expect(await act(api, tokens, created["id"], "approve", "officer"), 200)
    assert approved["status"] == "APPROVED"
    assert approved["approved_by_email"] == "officer@demo.bank" and approved["approved_at"]
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 300_00  # not yet
    done = expect(await act(api, tokens, created["id"], "post", "manager"), 200)
    assert done["status"] == "POSTED"
    assert done["posted_by_email"] == "manager@demo.bank" and done["posted_at"]
    assert done["approved_by_email"] == "officer@demo.bank"
    assert await balances(api, tokens, acct["id"]) == {
        "ledger": 180_00,
        "available": 180_00,
        "hold": 0,
    }
    assert minor(await gl_balance(api, tokens, chart["4200"]["id"])) == fee_before + 120_00
    statement = expect(
        await api.get(f"/accounts/{acct['id']}/transactions", headers=await h(tokens, "viewer")),
        200,
    )["transactions"]
    newest = statement[0]
    assert (newest["journal_id"], newest["amount"], newest["balance_after"]) == (
        created["id"],
        "120.00",
        "180.00",
    )
    assert await get_journal(api, tokens, created["id"]) == done
    assert [a for a, _b, _c in await audit_actions(core_app, created["id"])] == [
        "journal.created",
        "journal.approved",
        "journal.posted",
    ]
    events = await outbox_events(core_app, created["id"])
    assert [t for t, _d in events] == ["journal.created", "journal.approved", "journal.posted"]
    assert events[-1][1] == done  # the event carries the journal body


async def test_reject_needs_a_reason_and_ends_the_journal(api, tokens, core_app):
    created = expect(await draft(api, tokens, await expense_entries(api, tokens)), 201)
    before = await ledger_counts(core_app)
    for body in (None, {}, {"reason": ""}, {"reason": "   "}, {"reason": 5}, {"why": "x"}):
        response = await api.post(
            f"/journals/{created['id']}/reject", json=body, headers=await h(tokens, "officer")
        )
        assert response.status_code == 400, (body, response.text)
    assert await ledger_counts(core_app) == before
    rejected = expect(
        await act(api, tokens, created["id"], "reject", "officer", reason="  wrong account  "),
        200,
    )
    assert rejected["status"] == "REJECTED"
    assert rejected["rejection_reason"] == "wrong account"
    assert rejected["rejected_by_email"] == "officer@demo.bank" and rejected["rejected_at"]
    audit = await audit_actions(core_app, created["id"])
    assert audit[-1][0] == "journal.rejected"
    assert audit[-1][1] == {"status": "PENDING"} and audit[-1][2]["status"] == "REJECTED"
    assert [t for t, _ in await outbox_events(core_app, created["id"])][-1] == "journal.rejected"


async def journal_in(api, tokens, state: str) -> dict:
    """A journal (by the teller) brought to ``state`` by the manager."""
    created = expect(await draft(api, tokens, await expense_entries(api, tokens, "2.00")), 201)
    jid = created["id"]
    if state == "REJECTED":
        return expect(await act(api, tokens, jid, "reject", "manager", reason="no"), 200)
    if state == "PENDING":
        return created
    approved = expect(await act(api, tokens, jid, "approve", "manager"), 200)
    if state == "APPROVED":
        return approved
    done = expect(await act(api, tokens, jid, "post", "manager"), 200)
    if state == "POSTED":
        return done
    return expect(await act(api, tokens, jid, "reverse", "manager", reason="undo"), 200)


ALLOWED = {
    ("PENDING", "approve"),
    ("PENDING", "reject"),
    ("APPROVED", "post"),
    ("POSTED", "reverse"),
}


@pytest.mark.parametrize("state", ["PENDING", "APPROVED", "POSTED", "REJECTED", "REVERSED"])
async def test_every_other_transition_is_invalid_state(api, tokens, core_app, state):
    journal = await journal_in(api, tokens, state)
    before = await ledger_counts(core_app)
    for action in ACTIONS:
        if (state, action) in ALLOWED:
            continue
        response = await act(api, tokens, journal["id"], action, "manager", reason="x")
        expected = (
            "ALREADY_REVERSED" if (state, action) == ("REVERSED", "reverse") else "INVALID_STATE"
        )
        body = expect(response, 409, expected)
        assert body["message"]
    assert await ledger_counts(core_app) == before
    assert (await get_journal(api, tokens, journal["id"]))["status"] == state
    if state == "PENDING":
        expect(await act(api, tokens, journal["id"], "reject", "manager", reason="tidy"), 200)
    if state == "APPROVED":
        expect(await act(api, tokens, journal["id"], "post", "manager"), 200)


async def test_unknown_and_other_tenants_journals_are_not_found(api, tokens, core_app):
    journal = await journal_in(api, tokens, "PENDING")
    before = await ledger_counts(core_app)
    for stranger in (str(uuid.uuid4()), "JV-1"):
        expect(
            await api.get(f"/journals/{stranger}", headers=await h(tokens, "viewer")),
            404,
            "JOURNAL_NOT_FOUND",
        )
        for action in ACTIONS:
            expect(
                await act(api, tokens, stranger, action, "manager", reason="x"),
                404,
                "JOURNAL_NOT_FOUND",
            )
    other = await h(tokens, "other_tenant")
    expect(await api.get(f"/journals/{journal['id']}", headers=other), 404, "JOURNAL_NOT_FOUND")
    for action in ACTIONS:
        expect(
            await act(api, tokens, journal["id"], action, "other_tenant", reason="x"),
            404,
            "JOURNAL_NOT_FOUND",
        )
    assert await ledger_counts(core_app) == before
    assert (await get_journal(api, tokens, journal["id"]))["status"] == "PENDING"
    expect(await act(api, tokens, journal["id"], "reject", "manager", reason="tidy"), 200)


async def test_post_rechecks_funds_against_available_balance(api, tokens, core_app):
    chart = await gl(api, tokens)
    acct = await open_account(api, tokens, initial_deposit="100.00")
    created = expect(
        await draft(
            api,
            tokens,
            [line(acct["id"], "150.00", "debit"), line(chart["4200"]["id"], "150.00", "credit")],
        ),
        201,  # funds are checked at posting, not at the draft
    )
    expect(await act(api, tokens, created["id"], "approve"), 200)
    before = await ledger_counts(core_app)
    refused = expect(await act(api, tokens, created["id"], "post"), 422, "INSUFFICIENT_FUNDS")
    assert refused["details"][0]["available_balance"].endswith("100.00")
    assert await ledger_counts(core_app) == before
    assert (await get_journal(api, tokens, created["id"]))["status"] == "APPROVED"
    expect(await deposit(api, tokens, acct["id"], "100.00"), 201)
    # A hold takes from the available balance: 200.00 ledger, 60.00 held → 140.00 available.
    officer = await h(tokens, "officer")
    hold = expect(
        await api.post(
            f"/accounts/{acct['id']}/holds",
            json={"amount": "60.00", "reason": "lien"},
            headers=officer,
        ),
        201,
    )
    expect(await act(api, tokens, created["id"], "post"), 422, "INSUFFICIENT_FUNDS")
    expect(await api.delete(f"/accounts/{acct['id']}/holds/{hold['id']}", headers=officer), 200)
    expect(await act(api, tokens, created["id"], "post"), 200)
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 50_00


async def test_credits_and_debits_of_one_account_are_netted(api, tokens):
    """Dr 150 and Cr 100 on an account holding 60: the net debit 50 fits."""
    chart = await gl(api, tokens)
    acct = await open_account(api, tokens, initial_deposit="60.00")
    done = await posted(
        api,
        tokens,
        [
            line(acct["id"], "150.00", "debit"),
            line(acct["id"], "100.00", "credit"),
            line(chart["4200"]["id"], "50.00", "credit"),
        ],
    )
    assert done["status"] == "POSTED"
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 10_00


async def test_post_rechecks_account_status_and_gl_rules(api, tokens, core_app):
    officer = await h(tokens, "officer")
    acct = await open_account(api, tokens, initial_deposit="80.00")
    expense = await new_gl_account(api, tokens)
    created = expect(
        await draft(
            api,
            tokens,
            [line(acct["id"], "30.00", "debit"), line(expense["id"], "30.00", "credit")],
        ),
        201,
    )
    expect(await act(api, tokens, created["id"], "approve"), 200)
    expect(
        await api.post(f"/accounts/{acct['id']}/freeze", json={"reason": "x"}, headers=officer), 200
    )
    before = await ledger_counts(core_app)
    expect(await act(api, tokens, created["id"], "post"), 422, "ACCOUNT_FROZEN")
    assert await ledger_counts(core_app) == before
    expect(
        await api.post(f"/accounts/{acct['id']}/unfreeze", json={"reason": "x"}, headers=officer),
        200,
    )
    # The GL account stopped taking manual entries after the draft: posting refuses it.
    expect(
        await api.patch(
            f"/gl/accounts/{expense['id']}", json={"allow_manual_entries": False}, headers=officer
        ),
        200,
    )
    before = await ledger_counts(core_app)
    expect(await act(api, tokens, created["id"], "post"), 422, "MANUAL_ENTRY_NOT_ALLOWED")
    assert await ledger_counts(core_app) == before
    expect(
        await api.patch(
            f"/gl/accounts/{expense['id']}", json={"allow_manual_entries": True}, headers=officer
        ),
        200,
    )
    expect(await act(api, tokens, created["id"], "post"), 200)
    assert minor(await gl_balance(api, tokens, expense["id"])) == -30_00  # a credit on an expense


async def test_post_rechecks_the_period(api, tokens, core_app):
    created = expect(await draft(api, tokens, await expense_entries(api, tokens)), 201)
    expect(await act(api, tokens, created["id"], "approve"), 200)
    before = await ledger_counts(core_app)
    async with current_period_closed(core_app, api, tokens):
        expect(await act(api, tokens, created["id"], "post"), 422, "PERIOD_CLOSED")
        assert await ledger_counts(core_app) == before
    expect(await act(api, tokens, created["id"], "post"), 200)


async def test_reverse_posts_the_mirror_today_and_links_both(api, tokens, core_app):
    chart = await gl(api, tokens)
    acct = await open_account(api, tokens, initial_deposit="10.00")
    original = await posted(
        api,
        tokens,
        [line(chart["5200"]["id"], "40.00", "debit"), line(acct["id"], "40.00", "credit")],
        journal_type="EXPENSE",
    )
    expense_before = await gl_balance(api, tokens, chart["5200"]["id"])
    expect(await act(api, tokens, original["id"], "reverse", "manager"), 400, "MISSING_FIELD")
    expect(
        await api.post(
            f"/journals/{original['id']}/reverse",
            json={"reason": "x"},
            headers=await h(tokens, "manager"),
        ),
        400,
        "IDEMPOTENCY_KEY_REQUIRED",
    )
    expect(
        await act(api, tokens, original["id"], "reverse", "officer", reason="x"),
        403,
        "INSUFFICIENT_ROLE",
    )
    reversed_ = expect(
        await act(api, tokens, original["id"], "reverse", "manager", reason="booked twice"), 200
    )
    assert reversed_["status"] == "REVERSED"
    assert reversed_["reversal_reason"] == "booked twice"
    assert reversed_["reversed_by_email"] == "manager@demo.bank" and reversed_["reversed_at"]
    mirror = await get_journal(api, tokens, reversed_["reversal_journal_id"])
    assert mirror["reverses_journal_id"] == original["id"]
    assert (mirror["journal_type"], mirror["status"], mirror["is_system"]) == (
        "REVERSAL",
        "POSTED",
        True,
    )
    assert mirror["effective_date"] == (await business_day(api, tokens)).isoformat()
    assert mirror["fiscal_period"]["status"] == "open"
    assert mirror["source_reference"] == original["journal_number"]
    assert mirror["posted_by_email"] == "manager@demo.bank"
    swapped = {"debit": "credit", "credit": "debit"}
    assert sorted(
        (e["gl_account_code"], e["account_id"], swapped[e["entry_type"]], e["amount"])
        for e in mirror["entries"]
    ) == sorted(
        (e["gl_account_code"], e["account_id"], e["entry_type"], e["amount"])
        for e in original["entries"]
    )
    assert mirror["totals"] == original["totals"]
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 10_00
    assert (
        minor(await gl_balance(api, tokens, chart["5200"]["id"])) == minor(expense_before) - 40_00
    )
    # At most once, and a mirror is not itself reversible.
    expect(
        await act(api, tokens, original["id"], "reverse", "manager2", reason="again"),
        409,
        "ALREADY_REVERSED",
    )
    expect(
        await act(api, tokens, mirror["id"], "reverse", "manager2", reason="undo"),
        409,
        "INVALID_STATE",
    )
    actions = [a for a, _b, _c in await audit_actions(core_app, original["id"])]
    assert actions[-1] == "journal.reversed"
    assert (await audit_actions(core_app, mirror["id"]))[0][0] == "journal.posted"
    assert [t for t, _ in await outbox_events(core_app, original["id"])][-1] == "journal.reversed"
    assert [t for t, _ in await outbox_events(core_app, mirror["id"])] == ["journal.posted"]


async def test_reverse_checks_funds_of_what_it_takes_back(api, tokens, core_app):
    chart = await gl(api, tokens)
    acct = await open_account(api, tokens)
    original = await posted(
        api,
        tokens,
        [line(chart["5200"]["id"], "70.00", "debit"), line(acct["id"], "70.00", "credit")],
    )
    expect(await withdraw(api, tokens, acct["id"], "50.00"), 201)
    before = await ledger_counts(core_app)
    expect(
        await act(api, tokens, original["id"], "reverse", "manager", reason="x"),
        422,
        "INSUFFICIENT_FUNDS",
    )
    assert await ledger_counts(core_app) == before
    assert (await get_journal(api, tokens, original["id"]))["status"] == "POSTED"
    expect(await deposit(api, tokens, acct["id"], "50.00"), 201)
    expect(await act(api, tokens, original["id"], "reverse", "manager", reason="x"), 200)
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 0


async def test_reverse_needs_an_open_period_for_the_business_date(api, tokens, core_app):
    original = await posted(api, tokens, await expense_entries(api, tokens))
    before = await ledger_counts(core_app)
    async with current_period_closed(core_app, api, tokens):
        expect(
            await act(api, tokens, original["id"], "reverse", "manager", reason="x"),
            422,
            "NO_OPEN_PERIOD",
        )
    assert await ledger_counts(core_app) == before
    expect(await act(api, tokens, original["id"], "reverse", "manager", reason="x"), 200)


async def test_a_wrong_entry_of_a_closed_period_is_corrected_in_the_open_one(api, tokens, core_app):
    """Posted into period 13 of a past year; that period closes; the reversal lands today."""
    periods = await past_year_periods(core_app)
    year_end = f"{PAST_YEAR}-12-31"
    original = await posted(
        api,
        tokens,
        await expense_entries(api, tokens, "9.00"),
        journal_type="ADJUSTMENT",
        effective_date=year_end,
        transaction_date=year_end,
        fiscal_period_id=periods[13],
    )
    assert original["effective_date"] == year_end
    await set_period_status(core_app, periods[13], "closed")
    try:
        reversed_ = expect(
            await act(api, tokens, original["id"], "reverse", "manager", reason="x"), 200
        )
        mirror = await get_journal(api, tokens, reversed_["reversal_journal_id"])
        assert mirror["effective_date"] == (await business_day(api, tokens)).isoformat()
        assert mirror["fiscal_period_id"] != periods[13]
        assert mirror["fiscal_period"]["status"] == "open"
        # And nothing new can be drafted into the closed period.
        expect(
            await draft(
                api,
                tokens,
                await expense_entries(api, tokens),
                effective_date=year_end,
                fiscal_period_id=periods[13],
            ),
            422,
            "PERIOD_CLOSED",
        )
    finally:
        await set_period_status(core_app, periods[13], "open")


async def test_idempotent_replay_of_a_reversal(api, tokens, core_app):
    original = await posted(api, tokens, await expense_entries(api, tokens))
    key = f"reverse-{uuid.uuid4().hex}"
    first = await act(api, tokens, original["id"], "reverse", "manager", reason="dup", key=key)
    assert first.status_code == 200, first.text
    before = await ledger_counts(core_app)
    again = await act(api, tokens, original["id"], "reverse", "manager", reason="dup", key=key)
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert await ledger_counts(core_app) == before
    other = await act(api, tokens, original["id"], "reverse", "manager", reason="other", key=key)
    expect(other, 409, "IDEMPOTENCY_CONFLICT")
    # A fresh key meets the journal as it is now.
    expect(
        await act(api, tokens, original["id"], "reverse", "manager", reason="dup"),
        409,
        "ALREADY_REVERSED",
    )


async def test_journal_list_filters_and_pages(api, tokens):
    maker = await h(tokens, "manager2")
    me = expect(await api.get("/auth/me", headers=maker), 200)
    user_id = me["id"]
    made = []
    for _ in range(3):
        made.append(
            expect(
                await draft(
                    api, tokens, await expense_entries(api, tokens, "1.00"), who="manager2"
                ),
                201,
            )
        )
    expect(await act(api, tokens, made[0]["id"], "reject", "manager", reason="no"), 200)
    viewer = await h(tokens, "viewer")
    page = expect(
        await api.get("/journals", params={"created_by": user_id, "limit": 2}, headers=viewer), 200
    )
    assert page["has_more"] is True and page["next_cursor"]
    assert [j["id"] for j in page["journals"]] == [made[2]["id"], made[1]["id"]]  # newest first
    rest = expect(
        await api.get(
            "/journals",
            params={"created_by": user_id, "limit": 2, "cursor": page["next_cursor"]},
            headers=viewer,
        ),
        200,
    )
    assert [j["id"] for j in rest["journals"]][:1] == [made[0]["id"]]
    pending = expect(
        await api.get(
            "/journals", params={"created_by": user_id, "status": "pending"}, headers=viewer
        ),
        200,
    )
    assert {j["id"] for j in pending["journals"]} >= {made[1]["id"], made[2]["id"]}
    assert all(j["status"] == "PENDING" for j in pending["journals"])
    today = (await business_day(api, tokens)).isoformat()
    dated = expect(
        await api.get(
            "/journals", params={"from": today, "to": today, "status": "REJECTED"}, headers=viewer
        ),
        200,
    )
    assert made[0]["id"] in {j["id"] for j in dated["journals"]}
    assert all(j["effective_date"] == today for j in dated["journals"])
    old = expect(
        await api.get(
            "/journals", params={"to": "2000-01-01", "created_by": user_id}, headers=viewer
        ),
        200,
    )
    assert old["journals"] == [] and old["has_more"] is False and old["next_cursor"] is None
    system = expect(
        await api.get("/journals", params={"journal_type": "CASH", "limit": 3}, headers=viewer), 200
    )
    assert all(j["is_system"] and j["entries"] for j in system["journals"])
    for params, code in (
        ({"status": "DONE"}, "VALIDATION_ERROR"),
        ({"from": "yesterday"}, "VALIDATION_ERROR"),
        ({"created_by": "teller"}, "VALIDATION_ERROR"),
        ({"cursor": "not-ours"}, "INVALID_FORMAT"),
        ({"limit": 0}, "VALIDATION_ERROR"),
        ({"limit": 201}, "VALIDATION_ERROR"),
    ):
        expect(await api.get("/journals", params=params, headers=viewer), 400, code)
    for journal in made[1:]:
        expect(await act(api, tokens, journal["id"], "reject", "manager", reason="tidy"), 200)


async def test_a_post_sent_with_a_key_is_replayed_not_posted_twice(api, tokens, core_app):
    chart = await gl(api, tokens)
    acct = await open_account(api, tokens, initial_deposit="50.00")
    created = expect(
        await draft(
            api,
            tokens,
            [line(acct["id"], "20.00", "debit"), line(chart["4200"]["id"], "20.00", "credit")],
        ),
        201,
    )
    expect(await act(api, tokens, created["id"], "approve", "officer"), 200)
    key = f"post-{uuid.uuid4().hex}"
    first = await act(api, tokens, created["id"], "post", "officer", key=key)
    assert first.status_code == 200, first.text
    before = await ledger_counts(core_app)
    again = await act(api, tokens, created["id"], "post", "officer", key=key)
    assert (again.status_code, again.content) == (200, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert await ledger_counts(core_app) == before
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 30_00
