"""R4: concurrent approve / post / reverse of one journal from several sessions.

Exactly one request wins each transition; the others get INVALID_STATE (or
ALREADY_REVERSED), never a 5xx and never a second posting. Run over the in-process
app (``asyncio.gather``: on PostgreSQL the requests really overlap in the database,
on SQLite writers queue) and over a real server process (two worker processes when
Redis is there to share their state).
"""

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col

from app.core.audit.models import AuditLog
from app.core.ledger.models import Journal, Posting
from tests.integration.api.journal_helpers import draft, get_journal, gl, line
from tests.integration.api.ledger_helpers import STAFF, balances, expect, h, open_account
from tests.live_server import LiveServer
from tests.support import SANDBOX_PASSWORD, TENANT, headers, new_key

pytestmark = pytest.mark.usefixtures("ledger_checked")

CHECKERS = ("officer", "manager", "manager2", "admin")  # none of them is the teller maker
REVERSERS = ("manager", "manager2", "admin")


async def sessions(
    client: httpx.AsyncClient, who: tuple[str, ...], per_user: int = 2
) -> list[tuple[str, dict[str, str]]]:
    """(user, headers) of ``per_user`` separate sign-in sessions for each of ``who``."""
    result = []
    for name in who:
        for _ in range(per_user):
            response = await client.post(
                "/auth/login",
                json={"email": STAFF[name], "password": SANDBOX_PASSWORD},
                headers=headers(None, TENANT),
            )
            assert response.status_code == 200, response.text
            result.append((name, headers(response.json()["access_token"], TENANT)))
    return result


@pytest.fixture(scope="module")
async def staff(api) -> list[tuple[str, dict[str, str]]]:  # type: ignore[no-untyped-def]
    """Two sessions of each checker, signed in once for the module (Argon2 is slow).

    The live server shares the database and signing keys, so they serve there too.
    """
    return await sessions(api, CHECKERS)


def of(staff: list[tuple[str, dict[str, str]]], who: tuple[str, ...]) -> list[dict[str, str]]:
    return [caller for name, caller in staff if name in who]


async def fire(
    client: httpx.AsyncClient, journal_id: str, action: str, callers: list[dict[str, str]]
) -> list[httpx.Response]:
    body = {"reason": "concurrent"} if action in ("reject", "reverse") else None

    async def one(caller: dict[str, str]) -> httpx.Response:
        extra = {"Idempotency-Key": new_key()} if action == "reverse" else {}
        return await client.post(
            f"/journals/{journal_id}/{action}", json=body, headers={**caller, **extra}
        )

    return list(await asyncio.gather(*(one(c) for c in callers)))


def outcome(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    return Counter(
        (r.status_code, None if r.status_code == 200 else r.json()["code"]) for r in responses
    )


async def audit_count(core_app: Any, journal_id: str, action: str) -> int:
    async with core_app.state.services.db.session() as session:
        return (
            await session.execute(
                sa.select(sa.func.count())
                .select_from(AuditLog)
                .where(col(AuditLog.entity_id) == journal_id, col(AuditLog.action) == action)
            )
        ).scalar_one()


async def postings_of(core_app: Any, journal_id: str) -> int:
    async with core_app.state.services.db.session() as session:
        return (
            await session.execute(
                sa.select(sa.func.count())
                .select_from(Posting)
                .where(col(Posting.journal_id) == uuid.UUID(journal_id))
            )
        ).scalar_one()


async def mirrors_of(core_app: Any, journal_id: str) -> int:
    async with core_app.state.services.db.session() as session:
        return (
            await session.execute(
                sa.select(sa.func.count())
                .select_from(Journal)
                .where(col(Journal.reverses_journal_id) == uuid.UUID(journal_id))
            )
        ).scalar_one()


async def one_journal_through_its_life(client, api, tokens, core_app, checkers, reversers):
    """Draft (teller), then race each transition; the account must move exactly once."""
    chart = await gl(api, tokens)
    acct = await open_account(api, tokens, initial_deposit="500.00")
    created = expect(
        await draft(
            api,
            tokens,
            [line(acct["id"], "200.00", "debit"), line(chart["4200"]["id"], "200.00", "credit")],
        ),
        201,
    )
    jid = created["id"]
    approvals = await fire(client, jid, "approve", checkers)
    assert outcome(approvals) == {(200, None): 1, (409, "INVALID_STATE"): len(checkers) - 1}, [
        r.text for r in approvals
    ]
    assert await audit_count(core_app, jid, "journal.approved") == 1
    winner = next(r for r in approvals if r.status_code == 200).json()
    assert (await get_journal(api, tokens, jid))["approved_by"] == winner["approved_by"]

    postings = await fire(client, jid, "post", checkers)
    assert outcome(postings) == {(200, None): 1, (409, "INVALID_STATE"): len(checkers) - 1}, [
        r.text for r in postings
    ]
    assert await postings_of(core_app, jid) == 2
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 300_00

    reversals = await fire(client, jid, "reverse", reversers)
    assert outcome(reversals) == {(200, None): 1, (409, "ALREADY_REVERSED"): len(reversers) - 1}, [
        r.text for r in reversals
    ]
    assert await mirrors_of(core_app, jid) == 1
    assert await audit_count(core_app, jid, "journal.reversed") == 1
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 500_00
    final = await get_journal(api, tokens, jid)
    assert final["status"] == "REVERSED"
    assert (
        final["reversal_journal_id"]
        == next(r for r in reversals if r.status_code == 200).json()["reversal_journal_id"]
    )


async def test_racing_transitions_in_process(api, tokens, core_app, staff):
    await one_journal_through_its_life(
        api, api, tokens, core_app, of(staff, CHECKERS), of(staff, REVERSERS)
    )


async def test_racing_approve_and_reject(api, tokens, core_app, staff):
    chart = await gl(api, tokens)
    created = expect(
        await draft(
            api,
            tokens,
            [
                line(chart["5200"]["id"], "1.00", "debit"),
                line(chart["2200"]["id"], "1.00", "credit"),
            ],
        ),
        201,
    )
    callers = of(staff, ("officer", "manager", "admin"))

    async def decide(index: int, caller: dict[str, str]) -> httpx.Response:
        action = "approve" if index % 2 else "reject"
        body = {"reason": "race"} if action == "reject" else None
        return await api.post(f"/journals/{created['id']}/{action}", json=body, headers=caller)

    responses = await asyncio.gather(*(decide(i, c) for i, c in enumerate(callers)))
    assert outcome(list(responses)) == {(200, None): 1, (409, "INVALID_STATE"): len(callers) - 1}
    final = await get_journal(api, tokens, created["id"])
    if final["status"] == "APPROVED":
        expect(
            await api.post(f"/journals/{created['id']}/post", headers=await h(tokens, "officer")),
            200,
        )
    else:
        assert final["status"] == "REJECTED"


async def test_two_journals_racing_for_the_same_funds(api, tokens, core_app, staff):
    """Each fits the balance alone, not both: exactly one posts, no overdraft."""
    chart = await gl(api, tokens)
    acct = await open_account(api, tokens, initial_deposit="100.00")
    ids = []
    for _ in range(4):
        created = expect(
            await draft(
                api,
                tokens,
                [line(acct["id"], "60.00", "debit"), line(chart["4200"]["id"], "60.00", "credit")],
            ),
            201,
        )
        expect(
            await api.post(
                f"/journals/{created['id']}/approve", headers=await h(tokens, "officer")
            ),
            200,
        )
        ids.append(created["id"])
    callers = of(staff, ("officer", "manager"))
    responses = await asyncio.gather(
        *(
            api.post(f"/journals/{jid}/post", headers=caller)
            for jid, caller in zip(ids, callers, strict=True)
        )
    )
    assert outcome(list(responses)) == {(200, None): 1, (422, "INSUFFICIENT_FUNDS"): 3}
    assert (await balances(api, tokens, acct["id"]))["ledger"] == 40_00
    expect(
        await api.post(
            "/deposits",
            json={"account_id": acct["id"], "amount": "200.00", "currency": "NGN"},
            headers=await h(tokens, "teller", key=True),
        ),
        201,
    )
    for jid, response in zip(ids, responses, strict=True):
        if response.status_code != 200:  # leave nothing approved behind
            expect(await api.post(f"/journals/{jid}/post", headers=await h(tokens, "officer")), 200)


@pytest.fixture(scope="module")
def core_server(database_ready) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """A real core process on the suite's database: two workers when Redis is configured."""
    workers = "2" if os.environ.get("REDIS_URL") else "1"
    server = LiveServer(env={"WEB_CONCURRENCY": workers}, command="core").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def live(core_server) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=core_server.api_url, timeout=60, limits=limits) as client:
        yield client


async def test_racing_transitions_over_a_live_server(live, api, tokens, core_app, staff):
    # Fresh sessions signed in on the live server, beside the module's own.
    mine = await sessions(live, ("manager2",), per_user=2)
    checkers = of(staff, CHECKERS) + of(mine, CHECKERS)
    reversers = of(staff, REVERSERS) + of(mine, REVERSERS)
    await one_journal_through_its_life(live, api, tokens, core_app, checkers, reversers)
