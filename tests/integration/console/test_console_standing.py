"""Standing instructions in the console against the live core: create (with the teller
pages' account search), the approvals section, approve (a manager, never the creator),
cancel, the daily job's run with its executions, bad input, CSRF and injected text."""

import re
import uuid
from typing import Any

import httpx
from console_helpers import csrf_token, sign_in
from money_helpers import Core, field_errors
from period_helpers import action_log, form_fields, page_text, post_form

OFFICER_APPROVES = "A manager approves standing instructions."
OWN = "You created this instruction; another manager must approve it."


async def today(core: Core) -> str:
    return str((await core.call("GET", "/tenant", expect=200))["business_date"])


async def create_by_form(
    browser: httpx.AsyncClient,
    source: dict[str, Any],
    destination: dict[str, Any],
    *,
    amount: str = "250.00",
    start_date: str,
    narration: str = "Monthly rent",
    frequency: str = "MONTHLY",
    end_date: str = "",
) -> httpx.Response:
    return await post_form(
        browser,
        "/standing/new",
        "/standing",
        source=source["account_number"],
        destination=destination["account_number"],
        amount=amount,
        frequency=frequency,
        start_date=start_date,
        end_date=end_date,
        narration=narration,
    )


def instruction_id(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:800]
    match = re.fullmatch(r"/standing/([0-9a-f-]{36})\?done=created", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


async def test_an_officer_creates_and_a_manager_approves(browser, core, settings):
    source = await core.open_account(opening="5000.00")
    destination = await core.open_account()
    day = await today(core)
    await sign_in(browser, "officer@demo.bank")
    form = await browser.get("/standing/new")
    assert form.status_code == 200
    for label in ("Source account", "Destination account", "Amount", "Frequency"):
        assert f">{label}</label>" in form.text
    for label in ("Start date", "End date", "Narration"):
        assert f">{label}</label>" in form.text
    assert 'hx-get="/teller/accounts?field=source"' in form.text  # the live account search
    assert ">Create standing instruction</button>" in form.text

    fields = await form_fields(browser, "/standing/new", "/standing")
    created = await browser.post(
        "/standing",
        data={
            **fields,
            "source": source["account_number"],
            "destination": destination["account_number"],
            "amount": "₦1,250.50",
            "frequency": "MONTHLY",
            "start_date": day,
            "narration": "School fees",
        },
    )
    si_id = instruction_id(created)
    assert await action_log(settings, fields["idempotency_key"]) == [
        ("standing.create", "success", None)
    ]
    stored = await core.call("GET", f"/standing-instructions/{si_id}", expect=200)
    assert stored["status"] == "PENDING_APPROVAL"
    assert stored["amount"] == "1250.50" and stored["frequency"] == "MONTHLY"
    assert stored["source_account_id"] == source["id"]
    assert stored["created_by_email"] == "officer@demo.bank"

    detail = await browser.get(created.headers["location"])
    text = page_text(detail.text)
    assert "Standing instruction created." in text
    assert f"Standing instruction {stored['reference']} Awaiting approval" in text
    assert "₦1,250.50" in text and source["account_number"] in text
    assert OFFICER_APPROVES in text
    assert ">Approve</button>" not in detail.text
    assert ">Cancel instruction</button>" in detail.text

    # The approvals queue shows it; officers cannot tick it, managers can.
    queue = await browser.get("/approvals")
    assert "Standing instructions" in queue.text
    assert f'href="/standing/{si_id}">{stored["reference"]}</a>' in queue.text
    assert f'name="ids" value="{si_id}"' not in queue.text
    browser.cookies.clear()
    await sign_in(browser, "manager@demo.bank")
    queue = await browser.get("/approvals")
    assert f'name="ids" value="{si_id}"' in queue.text
    approved = await post_form(browser, f"/standing/{si_id}", f"/standing/{si_id}/approve")
    assert approved.status_code == 303
    assert approved.headers["location"] == f"/standing/{si_id}?done=approved"
    page = await browser.get(approved.headers["location"])
    assert "Approved: the instruction now runs on its schedule." in page_text(page.text)
    assert 'badge--si-active">Active<' in page.text
    stored = await core.call("GET", f"/standing-instructions/{si_id}", expect=200)
    assert stored["status"] == "ACTIVE" and stored["approved_by_email"] == "manager@demo.bank"


async def test_the_creator_cannot_approve_and_is_told_why(browser, core):
    source = await core.open_account()
    destination = await core.open_account()
    await sign_in(browser, "manager@demo.bank")
    day = await today(core)
    si_id = instruction_id(await create_by_form(browser, source, destination, start_date=day))
    detail = await browser.get(f"/standing/{si_id}")
    assert OWN in page_text(detail.text)
    assert ">Approve</button>" not in detail.text
    queue = await browser.get("/approvals")
    row = re.search(rf'<tr class="row--own">(?:(?!</tr>).)*{si_id}.*?</tr>', queue.text, re.S)
    assert row and OWN in row.group(0) and 'name="ids"' not in row.group(0)
    # Sent anyway: the core refuses; the page says why; nothing changed.
    token = await csrf_token(browser)
    refused = await browser.post(
        f"/standing/{si_id}/approve",
        data={"_csrf_token": token, "idempotency_key": f"console-{uuid.uuid4().hex}"},
    )
    assert refused.headers["location"] == f"/standing/{si_id}?error=SELF_APPROVAL_FORBIDDEN"
    assert OWN in page_text((await browser.get(refused.headers["location"])).text)
    status = (await core.call("GET", f"/standing-instructions/{si_id}"))["status"]
    assert status == "PENDING_APPROVAL"

    # Another manager approves it from the queue ("Approve selected"), with a result per item.
    browser.cookies.clear()
    await sign_in(browser, "manager2@demo.bank")
    bulk = await post_form(browser, "/approvals", "/standing/approve-selected", ids=si_id)
    assert bulk.status_code == 303 and bulk.headers["location"].startswith("/approvals?result=")
    results = await browser.get(bulk.headers["location"])
    assert "Approved: it runs on its schedule." in page_text(results.text)
    assert f'href="/standing/{si_id}"' in results.text
    assert (await core.call("GET", f"/standing-instructions/{si_id}"))["status"] == "ACTIVE"


async def test_an_officer_cancels_with_a_reason(browser, core):
    source = await core.open_account()
    destination = await core.open_account()
    await sign_in(browser, "officer@demo.bank")
    tomorrow = await _tomorrow(core)
    si_id = instruction_id(await create_by_form(browser, source, destination, start_date=tomorrow))
    cancelled = await post_form(
        browser, f"/standing/{si_id}", f"/standing/{si_id}/cancel", reason="Customer asked"
    )
    assert cancelled.headers["location"] == f"/standing/{si_id}?done=cancelled"
    page = await browser.get(cancelled.headers["location"])
    text = page_text(page.text)
    assert "Cancelled: no further payments will be made." in text
    assert "Customer asked" in text
    assert ">Cancel instruction</button>" not in page.text
    stored = await core.call("GET", f"/standing-instructions/{si_id}", expect=200)
    assert stored["status"] == "CANCELLED" and stored["cancel_reason"] == "Customer asked"
    # The list's filters find it under "Cancelled", not under "Active".
    listed = await browser.get("/standing?status=CANCELLED")
    assert f'href="/standing/{si_id}"' in listed.text
    assert 'aria-current="page">Cancelled</a>' in listed.text
    active = await browser.get("/standing?status=ACTIVE")
    assert f'href="/standing/{si_id}"' not in active.text
    # Cancelling again is refused in words.
    token = await csrf_token(browser)
    again = await browser.post(
        f"/standing/{si_id}/cancel",
        data={"_csrf_token": token, "idempotency_key": f"console-{uuid.uuid4().hex}"},
    )
    assert again.headers["location"] == f"/standing/{si_id}?error=INVALID_STATE"


async def test_the_admin_runs_today_and_each_execution_is_shown(browser, core):
    day = await today(core)
    funded, poor, payee = (
        await core.open_account(opening="1000.00"),
        await core.open_account(opening="10.00"),
        await core.open_account(opening=None),
    )
    paying = await _approved(core, funded, payee, "250.00", day)
    failing = await _approved(core, poor, payee, "500.00", day)
    await sign_in(browser, "admin@demo.bank")
    listing = await browser.get("/standing")
    assert ">Run today's instructions</button>" in listing.text
    ran = await post_form(browser, "/standing", "/standing/run")
    assert ran.status_code == 303 and ran.headers["location"].startswith("/standing?job=")
    result = page_text((await browser.get(ran.headers["location"])).text)
    counts = re.search(r"Run for [^:]+: (\d+) executed, (\d+) failed", result)
    assert counts, result[:600]
    assert int(counts.group(1)) >= 1 and int(counts.group(2)) >= 1

    executions = (await core.call("GET", f"/standing-instructions/{paying}/executions"))[
        "executions"
    ]
    assert [e["status"] for e in executions] == ["COMPLETED"]
    detail = await browser.get(f"/standing/{paying}")
    row = re.search(r'<tr class="execution execution--completed">.*?</tr>', detail.text, re.S)
    assert row, "no paid execution shown"
    assert "Paid" in row.group(0) and "₦250.00" in row.group(0)
    assert f"/teller/receipts/{executions[0]['transaction_id']}" in row.group(0)
    assert (await core.account(payee["id"]))["ledger_balance"] == "250.00"

    failed = (await core.call("GET", f"/standing-instructions/{failing}/executions"))["executions"]
    assert [e["status"] for e in failed] == ["FAILED"]
    detail = await browser.get(f"/standing/{failing}")
    row = re.search(r'<tr class="execution execution--failed">.*?</tr>', detail.text, re.S)
    assert row and "Failed" in row.group(0)
    assert "Not enough money in the source account" in row.group(0)
    assert (await core.account(poor["id"]))["ledger_balance"] == "10.00"

    # Running again for the same date pays nothing twice.
    again = await post_form(browser, "/standing", "/standing/run")
    await browser.get(again.headers["location"])
    executions = (await core.call("GET", f"/standing-instructions/{paying}/executions"))[
        "executions"
    ]
    assert len(executions) == 1
    assert (await core.account(payee["id"]))["ledger_balance"] == "250.00"


async def test_only_admins_run_the_job(browser, core):
    for email in ("viewer@demo.bank", "manager@demo.bank"):
        browser.cookies.clear()
        await sign_in(browser, email)
        listing = await browser.get("/standing")
        assert listing.status_code == 200
        assert "Run today's instructions" not in listing.text
        token = await csrf_token(browser)
        refused = await browser.post(
            "/standing/run",
            data={"_csrf_token": token, "idempotency_key": f"console-{uuid.uuid4().hex}"},
        )
        assert refused.status_code == 403
        assert "You need the Admin role for this" in refused.text
    browser.cookies.clear()
    await sign_in(browser, "viewer@demo.bank")
    assert "New standing instruction" not in (await browser.get("/standing")).text
    assert (await browser.get("/standing/new")).status_code == 403


async def test_bad_input_is_shown_by_each_field_and_nothing_is_created(browser, core):
    source = await core.open_account()
    await sign_in(browser, "officer@demo.bank")
    before = await _count(core)
    empty = await post_form(
        browser, "/standing/new", "/standing", source="", destination="", amount="", narration=""
    )
    assert empty.status_code == 400
    messages = field_errors(empty.text)
    assert "Enter an account number, the holder's name or a phone number." in messages
    assert "Enter the amount." in messages
    assert "Enter a narration; it appears on both accounts' statements." in messages

    day = await today(core)
    same = await post_form(
        browser,
        "/standing/new",
        "/standing",
        source=source["account_number"],
        destination=source["account_number"],
        amount="12.345",
        frequency="YEARLY",
        start_date=day,
        end_date="2001-01-01",
        narration="Typed <b>here</b>",
    )
    assert same.status_code == 400
    messages = field_errors(same.text)
    assert "Choose a different account from the source." in messages
    assert "Enter the amount in figures, like 1500.00 (at most two decimal places)." in messages
    assert "Choose how often it pays: daily, weekly or monthly." in messages
    assert "The end date is before the start date." in messages
    assert 'value="Typed &lt;b&gt;here&lt;/b&gt;"' in same.text  # kept, and escaped

    # The core's own rule: a start date before the business date, next to the field.
    other = await core.open_account()
    past = await create_by_form(browser, source, other, start_date="2020-01-01")
    assert past.status_code == 400
    assert any(m.startswith("In the past") for m in field_errors(past.text)), past.text[:2000]
    assert await _count(core) == before


async def test_standing_writes_need_the_csrf_token(browser, core):
    source = await core.open_account()
    destination = await core.open_account()
    await sign_in(browser, "officer@demo.bank")
    si_id = instruction_id(
        await create_by_form(browser, source, destination, start_date=await _tomorrow(core))
    )
    browser.cookies.clear()
    await sign_in(browser, "admin@demo.bank")
    before = await _count(core)
    for path in (
        "/standing",
        f"/standing/{si_id}/approve",
        f"/standing/{si_id}/cancel",
        "/standing/approve-selected",
    ):
        refused = await browser.post(
            path, data={"idempotency_key": f"console-{uuid.uuid4().hex}", "ids": si_id}
        )
        assert refused.status_code == 403, path
        assert "nothing was changed" in refused.text
    refused = await browser.post(
        "/standing/run", headers={"HX-Request": "true"}, data={"idempotency_key": "x"}
    )
    assert refused.status_code == 403
    assert (await core.call("GET", f"/standing-instructions/{si_id}"))["status"] == (
        "PENDING_APPROVAL"
    )
    assert await _count(core) == before


async def test_injected_text_is_shown_literally(browser, core):
    source = await core.open_account()
    destination = await core.open_account()
    nasty = '"><img src=x onerror=alert(1)> <script>alert("si")</script> \' OR 1=1 --'
    await sign_in(browser, "officer@demo.bank")
    si_id = instruction_id(
        await create_by_form(
            browser, source, destination, start_date=await _tomorrow(core), narration=nasty
        )
    )
    stored = await core.call("GET", f"/standing-instructions/{si_id}", expect=200)
    assert stored["narration"] == nasty
    escaped = (
        "&#34;&gt;&lt;img src=x onerror=alert(1)&gt; &lt;script&gt;alert(&#34;si&#34;)"
        "&lt;/script&gt; &#39; OR 1=1 --"
    )
    for path in (f"/standing/{si_id}", "/standing", "/approvals"):
        page = await browser.get(path)
        assert escaped in page.text, path
        assert "<img src=x" not in page.text and '<script>alert("si")' not in page.text


async def test_unknown_instructions_are_not_found(browser):
    await sign_in(browser, "manager@demo.bank")
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await browser.get(f"/standing/{missing}")).status_code == 404
    token = await csrf_token(browser)
    answer = await browser.post(
        f"/standing/{missing}/approve",
        data={"_csrf_token": token, "idempotency_key": f"console-{uuid.uuid4().hex}"},
    )
    assert answer.status_code == 404


async def _approved(
    core: Core, source: dict[str, Any], destination: dict[str, Any], amount: str, start: str
) -> str:
    created = await core.call(
        "POST",
        "/standing-instructions",
        as_user="officer@demo.bank",
        json={
            "source_account_id": source["id"],
            "destination_account_id": destination["id"],
            "amount": amount,
            "currency": "NGN",
            "frequency": "DAILY",
            "start_date": start,
            "narration": "Job test",
        },
        expect=201,
    )
    await core.call("POST", f"/standing-instructions/{created['id']}/approve", expect=200)
    return str(created["id"])


async def _tomorrow(core: Core) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(await today(core)) + timedelta(days=1)).isoformat()


async def _count(core: Core) -> int:
    body = await core.call("GET", "/standing-instructions", params={"limit": 200}, expect=200)
    return len(body["standing_instructions"])
