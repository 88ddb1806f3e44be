"""The approvals queue against the real core: approve, reject with a reason, bulk approve
with a result per item, and the maker never approving their own item."""

import re

from console_helpers import csrf_from, sign_in
from money_helpers import KEY, Core

OWN = "You made this; another officer must approve it."


async def pending_deposit(core: Core, amount: str = "1500000.00", maker: str = "teller@demo.bank"):  # type: ignore[no-untyped-def]
    account = await core.open_account(opening="10.00")
    t = await core.deposit(account["id"], amount, as_user=maker)
    assert t["status"] == "PENDING_APPROVAL"
    return account, t


async def decide(browser, t, verb: str, **fields: str):  # type: ignore[no-untyped-def]
    detail = await browser.get(f"/approvals/transactions/{t['id']}")
    assert detail.status_code == 200
    keys = KEY.findall(detail.text)
    key = keys[0] if verb == "approve" else keys[-1]
    return await browser.post(
        f"/approvals/transactions/{t['id']}/{verb}",
        data={"_csrf_token": csrf_from(detail.text), "idempotency_key": key, **fields},
    )


async def test_queue_lists_pending_items_with_their_detail(browser, core):
    account, t = await pending_deposit(core)
    await sign_in(browser, "officer@demo.bank")
    queue = await browser.get("/approvals")
    assert queue.status_code == 200
    html = queue.text
    assert ">Approvals</h1>" in html and "Teller transactions" in html
    assert f'href="/approvals/transactions/{t["id"]}">{t["transaction_ref"]}</a>' in html
    assert account["account_number"] in html and "₦1,500,000.00" in html
    assert f'name="ids" value="{t["id"]}"' in html
    assert ">Approve selected</button>" in html
    assert re.search(r'class="nav-badge"[^>]*>\d+', html)  # the count beside "Approvals"
    detail = await browser.get(f"/approvals/transactions/{t['id']}")
    assert "One million five hundred thousand naira" in detail.text
    assert "teller@demo.bank" in detail.text
    assert ">Approve</button>" in detail.text and ">Reject</button>" in detail.text
    assert '<label class="field__label" for="field-reason">Reason</label>' in detail.text


async def test_approve_posts_it(browser, core):
    account, t = await pending_deposit(core)
    await sign_in(browser, "officer@demo.bank")
    answer = await decide(browser, t, "approve")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/approvals?result=")
    result = await browser.get(answer.headers["location"])
    assert t["transaction_ref"] in result.text
    assert "Approved: the money has moved." in result.text
    assert (await core.account(account["id"]))["ledger_balance"] == "1500010.00"
    done = await core.call("GET", f"/transactions/{t['id']}")
    assert done["status"] == "COMPLETED"


async def test_reject_needs_a_reason(browser, core):
    account, t = await pending_deposit(core)
    await sign_in(browser, "officer@demo.bank")
    refused = await decide(browser, t, "reject", reason="  ")
    assert refused.headers["location"].endswith("?error=REASON_REQUIRED")
    page = await browser.get(refused.headers["location"])
    assert "Give a reason for rejecting" in page.text
    answer = await decide(browser, t, "reject", reason="Depositor could not show ID")
    assert answer.status_code == 303
    result = await browser.get(answer.headers["location"])
    assert "Rejected." in result.text
    done = await core.call("GET", f"/transactions/{t['id']}")
    assert done["status"] == "REJECTED"
    assert done["rejection_reason"] == "Depositor could not show ID"
    assert (await core.account(account["id"]))["ledger_balance"] == "10.00"


async def test_own_item_is_shown_but_not_approvable(browser, core):
    _, t = await pending_deposit(core, maker="officer@demo.bank")
    await sign_in(browser, "officer@demo.bank")
    queue = await browser.get("/approvals")
    # One row: from its own opening tag, never across another row's end.
    own_row = rf'<tr class="row--own">(?:(?!</tr>).)*?{t["transaction_ref"]}.*?</tr>'
    row = re.search(own_row, queue.text, re.S)
    assert row, "own item not listed"
    assert 'name="ids"' not in row.group(0)
    assert OWN in row.group(0)
    detail = await browser.get(f"/approvals/transactions/{t['id']}")
    assert OWN in detail.text
    assert ">Approve</button>" not in detail.text
    # Sent anyway (a crafted form): the core refuses, the page says why.
    csrf = csrf_from(detail.text)
    answer = await browser.post(
        f"/approvals/transactions/{t['id']}/approve", data={"_csrf_token": csrf}
    )
    assert answer.headers["location"].endswith("?error=SELF_APPROVAL_FORBIDDEN")
    page = await browser.get(answer.headers["location"])
    assert OWN in page.text
    assert (await core.call("GET", f"/transactions/{t['id']}"))["status"] == "PENDING_APPROVAL"
    # Another officer (here a manager) may.
    browser.cookies.clear()
    await sign_in(browser, "manager@demo.bank")
    assert (await decide(browser, t, "approve")).status_code == 303
    assert (await core.call("GET", f"/transactions/{t['id']}"))["status"] == "COMPLETED"


async def test_bulk_approve_gives_a_result_per_item(browser, core):
    first_account, first = await pending_deposit(core, "1100000.00")
    _, second = await pending_deposit(core, "1200000.00")
    _, gone = await pending_deposit(core, "1300000.00")
    await core.call(
        "POST", f"/transactions/{gone['id']}/reject", as_user="manager@demo.bank",
        json={"reason": "Withdrawn by the customer"}, expect=200,
    )  # fmt: skip
    await sign_in(browser, "officer@demo.bank")
    queue = await browser.get("/approvals")
    bulk_key = KEY.findall(queue.text)[0]
    answer = await browser.post(
        "/approvals/transactions/approve-selected",
        data={
            "_csrf_token": csrf_from(queue.text),
            "idempotency_key": bulk_key,
            "ids": [first["id"], second["id"], gone["id"]],
        },
    )
    assert answer.status_code == 303
    html = (await browser.get(answer.headers["location"])).text
    rows = re.findall(r'<tr class="result result--(ok|failed)">(.*?)</tr>', html, re.S)
    outcome = {ref: kind for kind, cells in rows for ref in re.findall(r"TX[A-Z0-9-]+", cells)[:1]}
    assert outcome.get(first["transaction_ref"]) == "ok"
    assert outcome.get(second["transaction_ref"]) == "ok"
    assert outcome.get(gone["transaction_ref"]) == "failed"
    assert "no longer waiting" in html
    assert (await core.account(first_account["id"]))["ledger_balance"] == "1100010.00"
