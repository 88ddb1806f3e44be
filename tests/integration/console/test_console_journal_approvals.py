"""Journals in the approvals queue against the live server (console.md flow 2): the section
beside teller transactions, the count in the navigation, the full detail, approve and post
from the queue, bulk "Approve selected" with a result per item, and nobody approving their
own journal (S8)."""

import re
import uuid
from typing import Any

from console_helpers import csrf_from, sign_in
from console_journal_helpers import journal, make_journal, move
from money_helpers import KEY, Core

OWN = "You made this journal; another officer must approve it."
OWN_POSTING = "You made this journal; another officer must post it."


def section(page: str, key: str) -> str:
    found = re.search(rf'<section [^>]*id="approvals-{key}">.*?</section>', page, re.S)
    assert found, f"no {key} section"
    return found.group(0)


def row_of(page: str, number: str) -> str:
    found = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{number}.*?</tr>", page, re.S)
    assert found, f"{number} not listed"
    return found.group(0)


def results(page: str) -> dict[str, tuple[str, str]]:
    rows = re.findall(r'<tr class="result result--(ok|failed)">(.*?)</tr>', page, re.S)
    found = {}
    for kind, cells in rows:
        ref = re.search(r">(JV[A-Z0-9]+)<", cells)
        outcome = re.findall(r"<td>(.*?)</td>", cells, re.S)
        if ref:
            found[ref.group(1)] = (kind, outcome[-1].strip() if outcome else "")
    return found


async def waiting_for(core: Core, email: str) -> int:
    """What the navigation should count for ``email``: pending items they may decide and
    did not make (standing instructions only for a manager, who alone approves them)."""
    me = await core.call("GET", "/auth/me", as_user=email, expect=200)
    journals = await core.call("GET", "/journals", params={"status": "PENDING", "limit": 200})
    transactions = await core.call(
        "GET", "/transactions", params={"status": "PENDING_APPROVAL", "limit": 200}
    )
    lists = [journals, transactions]
    items: list[dict[str, Any]] = journals["journals"] + transactions["transactions"]
    if {"manager", "admin"} & set(me["roles"]):
        standing = await core.call(
            "GET", "/standing-instructions", params={"status": "PENDING_APPROVAL", "limit": 200}
        )
        lists.append(standing)
        items += standing["standing_instructions"]
    assert not any(found["has_more"] for found in lists)
    return sum(1 for item in items if item["created_by"] != me["id"])


def badge(page: str) -> int:
    found = re.search(r'class="nav-badge"[^>]*>(\d+)', page)
    return int(found.group(1)) if found else 0


async def test_pending_journals_have_their_section_and_count(browser, core):
    theirs = await make_journal(core, maker="teller@demo.bank", amount="3300.00")
    own = await make_journal(core, maker="officer@demo.bank", amount="4400.00")
    await sign_in(browser, "officer@demo.bank")
    page = (await browser.get("/approvals")).text
    journals = section(page, "journals")
    assert ">Journals <span" in journals
    assert "Teller transactions" in section(page, "transactions")
    assert page.index('id="approvals-journals"') < page.index('id="approvals-transactions"')
    row = row_of(journals, theirs["journal_number"])
    assert f'href="/journals/{theirs["id"]}?from=approvals"' in row
    assert f'name="ids" value="{theirs["id"]}"' in row
    assert "₦3,300.00" in row and "teller@demo.bank" in row
    mine = row_of(journals, own["journal_number"])
    assert 'class="row--own"' in mine and 'name="ids"' not in mine and OWN in mine
    assert ">Approve selected</button>" in journals
    # The navigation counts journals and transactions this officer may decide: not their own.
    assert badge(page) == await waiting_for(core, "officer@demo.bank")
    assert badge(page) > 0
    # The count of the maker of a journal leaves it out; another officer's includes it.
    browser.cookies.clear()
    await sign_in(browser, "manager@demo.bank")
    manager_page = (await browser.get("/approvals")).text
    assert badge(manager_page) == await waiting_for(core, "manager@demo.bank")
    assert f'name="ids" value="{own["id"]}"' in manager_page


async def test_an_item_opens_to_its_full_detail_and_is_approved_then_posted(browser, core):
    made = await make_journal(core, maker="teller@demo.bank", amount="777.70")
    await sign_in(browser, "manager@demo.bank")
    detail = (await browser.get(f"/journals/{made['id']}?from=approvals")).text
    assert '<a href="/approvals">Approvals</a>' in detail
    assert "Operating expense" in detail and "Payables" in detail  # the lines
    assert detail.count("₦777.70") >= 4  # lines and totals
    assert "teller@demo.bank" in detail and made["fiscal_period"]["period_name"] in detail
    assert ">Approve</button>" in detail and ">Reject</button>" in detail
    keys = KEY.findall(detail)
    answer = await browser.post(
        f"/journals/{made['id']}/approve",
        data={"_csrf_token": csrf_from(detail), "idempotency_key": keys[0], "from": "approvals"},
    )
    assert answer.headers["location"].startswith("/approvals?result=")
    queue = (await browser.get(answer.headers["location"])).text
    assert results(queue)[made["journal_number"]] == (
        "ok",
        "Approved. It can be posted now; nothing has moved yet.",
    )
    assert f'href="/journals/{made["id"]}">{made["journal_number"]}</a>' in queue
    # Approved, not posted: it now waits in its own section, one click from "Post".
    to_post = section(queue, "to_post")
    assert made["journal_number"] in to_post and "manager@demo.bank" in to_post
    assert made["journal_number"] not in section(queue, "journals")
    detail = (await browser.get(f"/journals/{made['id']}?from=approvals")).text
    assert ">Post</button>" in detail
    posted = await browser.post(
        f"/journals/{made['id']}/post",
        data={
            "_csrf_token": csrf_from(detail),
            "idempotency_key": KEY.findall(detail)[0],
            "from": "approvals",
        },
    )
    queue = (await browser.get(posted.headers["location"])).text
    assert results(queue)[made["journal_number"]] == ("ok", "Posted: the balances have changed.")
    assert made["journal_number"] not in section(queue, "to_post")
    assert (await journal(core, made["id"]))["status"] == "POSTED"


async def test_own_journal_is_shown_but_never_approvable(browser, core):
    """S8 through the console: whatever the role, nobody approves their own journal."""
    for maker in ("officer@demo.bank", "admin@demo.bank"):
        made = await make_journal(core, maker=maker)
        browser.cookies.clear()
        await sign_in(browser, maker)
        detail = (await browser.get(f"/journals/{made['id']}")).text
        assert OWN in detail
        assert ">Approve</button>" not in detail and ">Reject</button>" not in detail
        # A crafted form is refused by the core, and the page says why.
        answer = await browser.post(
            f"/journals/{made['id']}/approve",
            data={
                "_csrf_token": csrf_from(detail),
                "idempotency_key": f"console-{uuid.uuid4().hex}",
            },
        )
        assert answer.headers["location"].endswith("error=SELF_APPROVAL_FORBIDDEN&verb=approve")
        assert OWN in (await browser.get(answer.headers["location"])).text
        rejected = await browser.post(
            f"/journals/{made['id']}/reject",
            data={"_csrf_token": csrf_from(detail), "reason": "Self", "idempotency_key": "x"},
        )
        assert "error=SELF_APPROVAL_FORBIDDEN" in rejected.headers["location"]
        # …and in bulk: a result that says so.
        queue = (await browser.get("/approvals")).text
        bulk = await browser.post(
            "/approvals/journals/approve-selected",
            data={
                "_csrf_token": csrf_from(queue),
                "idempotency_key": KEY.findall(queue)[0],
                "ids": made["id"],
            },
        )
        shown = results((await browser.get(bulk.headers["location"])).text)
        assert shown[made["journal_number"]] == ("failed", OWN)
        assert (await journal(core, made["id"]))["status"] == "PENDING"
    # Nor post it once someone else approved it.
    made = await make_journal(core, maker="officer@demo.bank")
    await move(core, made, "approve", "manager@demo.bank")
    browser.cookies.clear()
    await sign_in(browser, "officer@demo.bank")
    queue = (await browser.get("/approvals")).text
    own_row = row_of(section(queue, "to_post"), made["journal_number"])
    assert 'class="row--own"' in own_row and OWN_POSTING in own_row
    detail = (await browser.get(f"/journals/{made['id']}")).text
    assert OWN_POSTING in detail and ">Post</button>" not in detail
    answer = await browser.post(
        f"/journals/{made['id']}/post",
        data={"_csrf_token": csrf_from(detail), "idempotency_key": f"console-{uuid.uuid4().hex}"},
    )
    assert answer.headers["location"].endswith("error=SELF_APPROVAL_FORBIDDEN&verb=post")
    assert OWN_POSTING in (await browser.get(answer.headers["location"])).text
    assert (await journal(core, made["id"]))["status"] == "APPROVED"
    # The teller who made one sees it waiting, with no decision to take.
    made = await make_journal(core, maker="teller@demo.bank")
    browser.cookies.clear()
    await sign_in(browser, "teller@demo.bank")
    detail = (await browser.get(f"/journals/{made['id']}")).text
    assert OWN in detail and ">Approve</button>" not in detail
    assert (await browser.get("/approvals")).status_code == 403


async def test_bulk_approve_gives_a_result_per_journal(browser, core):
    made = [await make_journal(core, amount=f"{n}00.00") for n in (1, 2, 3)]
    await sign_in(browser, "officer@demo.bank")
    queue = (await browser.get("/approvals")).text
    answer = await browser.post(
        "/approvals/journals/approve-selected",
        data={
            "_csrf_token": csrf_from(queue),
            "idempotency_key": KEY.findall(queue)[0],
            "ids": [j["id"] for j in made],
        },
    )
    assert answer.status_code == 303
    shown = results((await browser.get(answer.headers["location"])).text)
    approved = ("ok", "Approved. It can be posted now; nothing has moved yet.")
    assert {j["journal_number"]: shown.get(j["journal_number"]) for j in made} == {
        j["journal_number"]: approved for j in made
    }
    for j in made:
        assert (await journal(core, j["id"]))["status"] == "APPROVED"


async def test_bulk_approve_reports_each_failure_on_its_own(browser, core):
    good = await make_journal(core)
    decided = await make_journal(core)
    own = await make_journal(core, maker="officer@demo.bank")
    await sign_in(browser, "officer@demo.bank")
    queue = (await browser.get("/approvals")).text
    await move(core, decided, "reject", "manager@demo.bank", reason="Withdrawn")
    answer = await browser.post(
        "/approvals/journals/approve-selected",
        data={
            "_csrf_token": csrf_from(queue),
            "idempotency_key": KEY.findall(queue)[0],
            "ids": [good["id"], decided["id"], own["id"]],
        },
    )
    shown = results((await browser.get(answer.headers["location"])).text)
    assert shown[good["journal_number"]][0] == "ok"
    assert shown[decided["journal_number"]] == (
        "failed",
        "This journal is no longer in that state: someone acted on it in the meantime. "
        "The page shows where it stands now.",
    )
    assert shown[own["journal_number"]] == ("failed", OWN)
    assert (await journal(core, good["id"]))["status"] == "APPROVED"
    assert (await journal(core, own["id"]))["status"] == "PENDING"
    # Nothing chosen: said plainly.
    queue = (await browser.get("/approvals")).text
    empty = await browser.post(
        "/approvals/journals/approve-selected",
        data={"_csrf_token": csrf_from(queue), "idempotency_key": KEY.findall(queue)[0]},
    )
    assert "Nothing was selected." in (await browser.get(empty.headers["location"])).text
