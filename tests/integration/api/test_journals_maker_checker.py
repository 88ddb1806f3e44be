"""S8: no user, whatever the role, decides on their own journal or transaction."""

import pytest

from tests.integration.api.journal_helpers import act, draft, gl, line, tenant_setting
from tests.integration.api.ledger_helpers import (
    APPROVAL_LIMIT,
    deposit,
    expect,
    h,
    open_account,
    withdraw,
)

pytestmark = pytest.mark.usefixtures("ledger_checked")


async def entries(api, tokens):
    chart = await gl(api, tokens)
    return [line(chart["5200"]["id"], "3.00", "debit"), line(chart["2200"]["id"], "3.00", "credit")]


@pytest.mark.parametrize("role", ["officer", "manager", "admin"])
async def test_no_role_approves_rejects_or_posts_its_own_journal(api, tokens, role):
    own = expect(await draft(api, tokens, await entries(api, tokens), who=role), 201)
    for action in ("approve", "reject"):
        refused = expect(
            await act(api, tokens, own["id"], action, role, reason="mine"),
            403,
            "SELF_APPROVAL_FORBIDDEN",
        )
        assert own["journal_number"] in refused["message"]
    checker = "manager2" if role != "manager2" else "manager"
    expect(await act(api, tokens, own["id"], "approve", checker), 200)
    # Approved by another, the maker still cannot post it.
    expect(await act(api, tokens, own["id"], "post", role), 403, "SELF_APPROVAL_FORBIDDEN")
    done = expect(await act(api, tokens, own["id"], "post", checker), 200)
    assert done["status"] == "POSTED"
    if role in ("manager", "admin"):
        expect(
            await act(api, tokens, own["id"], "reverse", role, reason="mine"),
            403,
            "SELF_APPROVAL_FORBIDDEN",
        )
        expect(await act(api, tokens, own["id"], "reverse", checker, reason="undo"), 200)


async def test_the_teller_maker_cannot_decide_at_all(api, tokens):
    own = expect(await draft(api, tokens, await entries(api, tokens), who="teller"), 201)
    for action in ("approve", "reject", "post", "reverse"):
        expect(
            await act(api, tokens, own["id"], action, "teller", reason="x"),
            403,
            "INSUFFICIENT_ROLE",
        )
    expect(await act(api, tokens, own["id"], "reject", "officer", reason="tidy"), 200)


async def test_the_tenant_setting_allows_the_same_maker_and_checker(api, tokens):
    async with tenant_setting(api, tokens, allow_same_maker_checker=True):
        own = expect(await draft(api, tokens, await entries(api, tokens), who="officer"), 201)
        expect(await act(api, tokens, own["id"], "approve", "officer"), 200)
        expect(await act(api, tokens, own["id"], "post", "officer"), 200)
    # Off again: the next one is refused.
    again = expect(await draft(api, tokens, await entries(api, tokens), who="officer"), 201)
    expect(
        await act(api, tokens, again["id"], "approve", "officer"), 403, "SELF_APPROVAL_FORBIDDEN"
    )
    expect(await act(api, tokens, again["id"], "reject", "manager", reason="tidy"), 200)


@pytest.mark.parametrize("role", ["officer", "manager", "admin"])
async def test_no_role_approves_or_rejects_its_own_pending_transaction(api, tokens, role):
    acct = await open_account(api, tokens)
    for _ in range(2):
        expect(await deposit(api, tokens, acct["id"], APPROVAL_LIMIT), 201)
    pending = expect(await withdraw(api, tokens, acct["id"], "1500000.00", who=role), 201)
    assert pending["status"] == "PENDING_APPROVAL"
    for action in ("approve", "reject"):
        body = {"reason": "mine"} if action == "reject" else None
        response = await api.post(
            f"/transactions/{pending['id']}/{action}", json=body, headers=await h(tokens, role)
        )
        expect(response, 403, "SELF_APPROVAL_FORBIDDEN")
    checker = "manager2" if role != "manager2" else "manager"
    done = await api.post(
        f"/transactions/{pending['id']}/reject",
        json={"reason": "tidy"},
        headers=await h(tokens, checker),
    )
    expect(done, 200)
