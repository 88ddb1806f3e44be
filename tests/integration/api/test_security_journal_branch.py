"""Issue 10, finding 10: manual journals keep to the branch scope transfers keep.

Below manager, staff act only on their own branch's accounts (roles.md): a branch-001
teller cannot draft a journal moving a branch-002 customer's money, and a branch-001
officer cannot approve, reject or post one a manager drafted. Managers act tenant-wide.
"""

from typing import Any

import httpx
import pytest

from tests.integration.api.journal_helpers import act, draft, gl, line
from tests.integration.api.ledger_helpers import balances, deposit, expect, open_account
from tests.support import TokenCache

pytestmark = pytest.mark.usefixtures("ledger_checked")


async def accounts(api: httpx.AsyncClient, tokens: TokenCache) -> tuple[dict[str, Any], ...]:
    """A funded branch-002 customer account and a branch-001 one."""
    theirs = await open_account(api, tokens, branch="002")
    expect(await deposit(api, tokens, theirs["id"], "500.00"), 201)
    ours = await open_account(api, tokens)
    return theirs, ours


def moving(theirs: dict[str, Any], ours: dict[str, Any], amount: str = "200.00") -> list[Any]:
    """Money out of the branch-002 customer's account into the branch-001 one."""
    return [line(theirs["id"], amount, "debit"), line(ours["id"], amount, "credit")]


async def test_branch_001_teller_cannot_draft_a_journal_on_a_branch_002_account(api, tokens):
    theirs, ours = await accounts(api, tokens)
    refused = expect(
        await draft(api, tokens, moving(theirs, ours), who="teller"), 403, "BRANCH_SCOPE"
    )
    assert refused["details"] == [
        {
            "field": "entries.0.account_id",
            "code": "branch_scope",
            "reason": "outside your branch",
            "value": "002",
        }
    ]
    assert (await balances(api, tokens, theirs["id"]))["ledger"] == 500_00
    # Either side counts: crediting the other branch's customer is refused too.
    chart = await gl(api, tokens)
    expect(
        await draft(
            api,
            tokens,
            [line(chart["5200"]["id"], "5.00", "debit"), line(theirs["id"], "5.00", "credit")],
            who="officer",
        ),
        403,
        "BRANCH_SCOPE",
    )
    # The teller's own branch is theirs to draft on.
    mine = expect(
        await draft(
            api,
            tokens,
            [line(chart["5200"]["id"], "5.00", "debit"), line(ours["id"], "5.00", "credit")],
            who="teller",
        ),
        201,
    )
    expect(await act(api, tokens, mine["id"], "reject", "officer", reason="tidy"), 200)
    # Existence (404) comes before branch scope, as api.md orders them.
    missing = "00000000-0000-4000-8000-000000000404"
    expect(
        await draft(
            api,
            tokens,
            [line(theirs["id"], "5.00", "debit"), line(missing, "5.00", "credit")],
            who="teller",
        ),
        404,
        "ACCOUNT_NOT_FOUND",
    )
    expect(await act(api, tokens, missing, "approve", "officer"), 404, "JOURNAL_NOT_FOUND")


async def test_branch_002_teller_drafts_on_branch_002(api, tokens):
    theirs, _ours = await accounts(api, tokens)
    chart = await gl(api, tokens)
    made = expect(
        await draft(
            api,
            tokens,
            [line(theirs["id"], "5.00", "debit"), line(chart["4200"]["id"], "5.00", "credit")],
            who="teller2",
        ),
        201,
    )
    # ... and the branch-001 officer cannot decide on it.
    expect(await act(api, tokens, made["id"], "approve", "officer"), 403, "BRANCH_SCOPE")
    expect(await act(api, tokens, made["id"], "reject", "manager", reason="tidy"), 200)


async def test_branch_001_officer_cannot_approve_or_post_a_branch_002_journal(api, tokens):
    theirs, ours = await accounts(api, tokens)
    made = expect(await draft(api, tokens, moving(theirs, ours), who="manager"), 201)
    for action in ("approve", "reject"):
        refused = expect(
            await act(api, tokens, made["id"], action, "officer", reason="mine now"),
            403,
            "BRANCH_SCOPE",
        )
        assert refused["details"][0]["field"] == "entries.0.account_id"
    expect(await act(api, tokens, made["id"], "approve", "manager2"), 200)
    expect(await act(api, tokens, made["id"], "post", "officer"), 403, "BRANCH_SCOPE")
    assert (await balances(api, tokens, theirs["id"]))["ledger"] == 500_00
    # A manager acts tenant-wide.
    expect(await act(api, tokens, made["id"], "post", "manager2"), 200)
    assert (await balances(api, tokens, theirs["id"]))["ledger"] == 300_00
    assert (await balances(api, tokens, ours["id"]))["ledger"] == 200_00


async def test_another_branchs_gl_accounts_are_out_of_scope_too(api, tokens):
    """Branch-tied GL accounts (teller cash, clearing): scope first (403), then the
    manual-entry rule (422) on the teller's own branch's ones."""
    chart = await gl(api, tokens)
    fee = chart["4200"]["id"]
    for code in ("1101-002", "1301-002"):
        expect(
            await draft(
                api, tokens, [line(chart[code]["id"], "5.00", "debit"), line(fee, "5.00", "credit")]
            ),
            403,
            "BRANCH_SCOPE",
        )
    expect(
        await draft(
            api,
            tokens,
            [line(chart["1101-001"]["id"], "5.00", "debit"), line(fee, "5.00", "credit")],
        ),
        422,
        "MANUAL_ENTRY_NOT_ALLOWED",
    )
