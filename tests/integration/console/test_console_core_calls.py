"""Issue 11: a page asks the core only for what it shows, in as few calls as it can.

Each page below is loaded by a signed-in staff member of an in-process console whose
client talks to the live core; every call the console makes to the core is recorded (its
method and path), and so is every read of the session's tokens from the token store.
The counts are the contract: a page that starts asking for more shows up here.
"""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from console_helpers import asgi_client, session_cookie, sign_in
from money_helpers import Core

from app.console.state import console_state

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REF = re.compile(r"/TXN[\w-]+", re.IGNORECASE)


STAFF_PASSWORD = "Calls-counted-2026"


async def fresh_staff(core: Core, role: str) -> str:
    """A staff member of branch 001 with no history: a page listing "my transactions of
    today" then makes its first call only (the sandbox's own tellers and officers have
    hundreds today in a long suite, paged through)."""
    email = f"calls-{role}-{uuid.uuid4().hex[:10]}@demo.bank"
    await core.call(
        "POST",
        "/users",
        as_user="admin@demo.bank",
        json={
            "email": email,
            "name": f"Calls {role.title()}",
            "password": STAFF_PASSWORD,
            "roles": [role],
            "branch_id": "001",
        },
        expect=201,
    )
    return email


@contextmanager
def recorded(app: Any) -> Iterator[tuple[list[str], list[str]]]:
    """``(calls, token_reads)`` while the block runs: each core call as ``METHOD /path``
    (IDs folded to ``{id}``) and each read of a session's tokens from the store."""
    console = console_state(app)
    client, store = console.client, console.token_store
    calls: list[str] = []
    token_reads: list[str] = []
    request, get_page = client.request, client.get_page

    async def counting_request(method: str, path: str, **kwargs: Any) -> Any:
        calls.append(f"{method} {REF.sub('/{ref}', UUID.sub('{id}', path))}")
        return await request(method, path, **kwargs)

    async def counting_page(path: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(f"GET {REF.sub('/{ref}', UUID.sub('{id}', path))}")
        return await get_page(path, *args, **kwargs)

    class CountingStore:
        """The token store, counting reads."""

        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        async def get(self, key: str, *args: Any, **kwargs: Any) -> Any:
            token_reads.append(key)
            return await store.get(key, *args, **kwargs)

    client.request = counting_request  # type: ignore[method-assign]
    client.get_page = counting_page  # type: ignore[method-assign]
    console.token_store = CountingStore()  # type: ignore[assignment]
    try:
        yield calls, token_reads
    finally:
        client.request = request  # type: ignore[method-assign]
        client.get_page = get_page  # type: ignore[method-assign]
        console.token_store = store


async def test_each_page_makes_the_calls_it_needs_and_no_more(console_app, live_server):
    core = Core(live_server.api_url)
    try:
        account = await core.open_account(opening="500.00")
        done = await core.deposit(account["id"], "25.00")
        officer_email = await fresh_staff(core, "officer")
    finally:
        await core.close()
    app = console_app()
    async with asgi_client(app) as officer:
        assert session_cookie(await sign_in(officer, officer_email, STAFF_PASSWORD))
        # The first page fills this process's brief copies (tenant, branches, who I am,
        # the approvals count); the token is read from the store once.
        with recorded(app) as (calls, token_reads):
            assert (await officer.get("/")).status_code == 200
        assert len(token_reads) == 1
        assert "GET /tenant" in calls and "GET /auth/me" in calls

        pages = {
            # The officer's till today and the branch's volumes; the tenant, branches,
            # who they are and the approvals count come from this process's copies now.
            "/": ["GET /reports/teller-summary", "GET /transactions"],
            f"/accounts/{account['id']}": ["GET /views/accounts/{id}"],
            f"/accounts/{account['id']}/statement": ["GET /views/accounts/{id}"],
            "/approvals": ["GET /views/approvals"],
            f"/teller/receipts/{done['transaction_ref']}": ["GET /views/transactions/{ref}"],
            "/customers?q=Holder": ["GET /customers"],
            "/journals": ["GET /journals"],
        }
        for path, expected in pages.items():
            # Once to fill what a page keeps a minute (the journal list's "Made by" choices).
            assert (await officer.get(path)).status_code == 200, path
            with recorded(app) as (calls, token_reads):
                response = await officer.get(path)
            assert response.status_code == 200, (path, response.status_code)
            # The navigation's count may be asked again when its brief copy expired.
            assert sorted(c for c in calls if c != "GET /views/approvals/waiting") == expected, path
            assert token_reads == [], path  # the access token is this process's copy


async def test_a_teller_home_asks_for_the_day_only(console_app, live_server):
    core = Core(live_server.api_url)
    try:
        teller_email = await fresh_staff(core, "teller")
    finally:
        await core.close()
    app = console_app()
    async with asgi_client(app) as teller:
        assert session_cookie(await sign_in(teller, teller_email, STAFF_PASSWORD))
        assert (await teller.get("/")).status_code == 200
        with recorded(app) as (calls, _):
            assert (await teller.get("/")).status_code == 200
        assert calls == ["GET /transactions"]  # the day's own transactions, nothing else
