"""The navigation and Home, page by page: the area a page belongs to is marked current on
every page of it; the "Approvals" count holds what the user may decide (standing
instructions for managers only, never one's own items), the same on the queue page and on
Home, whose figure listens for the live signal like the badge."""

import re
from typing import Any

import httpx
from console_helpers import asgi_client, sign_in
from money_helpers import Core

from app.console.pending_count import forget_all_pending_counts

BADGE = re.compile(r'<span class="nav-badge">(\d+)\+?<')
HOME_FIGURE = re.compile(r'<p class="home-approvals__count num">(\d+)\+?</p>')
NAV_LINK = re.compile(r'<a class="sidenav__link" href="([^"]+)"( aria-current="(page|true)")?>')


def badge(response: httpx.Response) -> int:
    assert response.status_code == 200, response.text[:300]
    match = BADGE.search(response.text)
    return int(match.group(1)) if match else 0


def current_links(html: str) -> dict[str, str]:
    """``{href: aria-current value}`` of the navigation links marked current."""
    return {href: value for href, marked, value in NAV_LINK.findall(html) if marked}


async def counts(clients: dict[str, httpx.AsyncClient]) -> dict[str, int]:
    """Each user's badge, read fresh (this process's cache forgotten first)."""
    forget_all_pending_counts()
    return {who: badge(await client.get("/approvals/badge")) for who, client in clients.items()}


async def pending_instruction(core: Core, maker: str) -> dict[str, Any]:
    """A standing instruction made through the core, waiting for a manager."""
    source = await core.open_account()
    destination = await core.open_account()
    instruction: dict[str, Any] = await core.call(
        "POST",
        "/standing-instructions",
        as_user=maker,
        json={
            "source_account_id": source["id"],
            "destination_account_id": destination["id"],
            "amount": "125.00",
            "currency": "NGN",
            "frequency": "MONTHLY",
            "start_date": await core.business_date(),
            "narration": "Badge test",
        },
        expect=201,
    )
    assert instruction["status"] == "PENDING_APPROVAL"
    return instruction


async def test_the_badge_counts_standing_instructions_for_managers_but_not_their_own(
    console_app, core
):
    # An in-process console: its cache is this process's, so the test can forget it.
    app = console_app()
    emails = {
        "officer": "officer@demo.bank",
        "manager": "manager@demo.bank",
        "manager2": "manager2@demo.bank",
    }
    async with (
        asgi_client(app) as officer,
        asgi_client(app) as manager,
        asgi_client(app) as manager2,
    ):
        clients = {"officer": officer, "manager": manager, "manager2": manager2}
        for who, client in clients.items():
            assert (await sign_in(client, emails[who])).status_code == 303
        before = await counts(clients)

        # An officer's instruction: both managers may approve it; the officer may not.
        await pending_instruction(core, "officer@demo.bank")
        after_officer = await counts(clients)
        assert after_officer == {
            "officer": before["officer"],
            "manager": before["manager"] + 1,
            "manager2": before["manager2"] + 1,
        }

        # A manager's own instruction waits for the other manager, not for its creator.
        await pending_instruction(core, "manager@demo.bank")
        after_manager = await counts(clients)
        assert after_manager == {
            "officer": before["officer"],
            "manager": before["manager"] + 1,
            "manager2": before["manager2"] + 2,
        }

        # The queue reads every item itself: its own badge and its lede say the same.
        queue = await manager2.get("/approvals")
        assert badge(queue) == after_manager["manager2"]
        assert f"{after_manager['manager2']} waiting for you." in queue.text
        # So does Home, cached or not.
        home = await manager2.get("/")
        assert badge(home) == after_manager["manager2"]
        figure = HOME_FIGURE.search(home.text)
        assert figure and int(figure.group(1)) == after_manager["manager2"]
        assert "teller transactions and standing instructions wait" in home.text


async def test_the_navigation_marks_the_area_of_every_page_of_it(browser, core):
    account = await core.open_account()
    period = await core.call("GET", "/fiscal-periods/current", expect=200)
    assert (await sign_in(browser, "admin@demo.bank")).status_code == 303
    home = await browser.get("/")
    assert current_links(home.text) == {"/": "page"}
    pages = {
        "/admin/staff": "/admin",
        "/admin/webhooks/new": "/admin",
        "/audit/console": "/audit",
        "/journals/new": "/journals",
        f"/periods/{period['id']}": "/periods",
        "/standing/new": "/standing",
        "/reports/trial-balance": "/reports",
        f"/accounts/{account['id']}": "/accounts",
        f"/accounts/{account['id']}/statement": "/accounts",
        "/transfers/inter-branch": "/transfers",
    }
    for path, area in pages.items():
        page = await browser.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        # One link is current: the area's (a sub-page of it), never "Home".
        assert current_links(page.text) == {area: "true"}, path
    # The area's own page is the current page itself.
    assert current_links((await browser.get("/reports")).text) == {"/reports": "page"}


async def test_the_home_figure_listens_for_the_live_signal(console_app, core):
    app = console_app()
    async with asgi_client(app) as officer, asgi_client(app) as teller:
        assert (await sign_in(officer, "officer@demo.bank")).status_code == 303
        assert (await sign_in(teller, "teller@demo.bank")).status_code == 303
        forget_all_pending_counts()
        home = await officer.get("/")
        slot = re.search(r'<div id="home-approvals"[^>]*>', home.text)
        assert slot, "no live slot for the approvals figure"
        assert 'hx-get="/"' in slot.group(0) and 'hx-trigger="sse:approvals' in slot.group(0)
        assert 'hx-swap="outerHTML"' in slot.group(0)
        figure = HOME_FIGURE.search(home.text)
        assert figure
        before = int(figure.group(1))

        # What the signal asks for: the figure alone, the same count as the badge.
        await core.draft_journal(maker="teller@demo.bank", amount="61.00")
        forget_all_pending_counts()  # as the live event does in every process
        fragment = await officer.get("/", headers={"HX-Request": "true"})
        assert fragment.status_code == 200
        assert fragment.text.lstrip().startswith('<div id="home-approvals"')
        assert "<html" not in fragment.text and "sidenav" not in fragment.text
        now = HOME_FIGURE.search(fragment.text)
        assert now and int(now.group(1)) == before + 1
        # An officer decides journals and teller transactions, not standing instructions.
        assert "Pending journals and teller transactions wait for your decision." in fragment.text
        assert badge(await officer.get("/approvals/badge")) == before + 1
        assert fragment.headers["vary"] == "HX-Request"

        # A teller has no queue: no figure on Home, and nothing to swap when asked.
        teller_home = await teller.get("/")
        assert 'id="home-approvals"' not in teller_home.text
        asked = await teller.get("/", headers={"HX-Request": "true"})
        assert asked.status_code == 204 and asked.text == ""
