"""The bank test (quality.md R1, CI size): concurrent transfers against the real core over HTTP.

A real ``python -m app core`` process (``conftest.core_server``) serves the suite's own
database. Setup opens 50 accounts in branch 001 through the API (``POST /customers``,
``POST /accounts``, then ``POST /deposits`` below the teller approval limit, so nothing
waits for approval, each deposit's ``balance_after`` checked against the opening amount;
``POST /accounts``' own ``initial_deposit`` posts the same cash deposit and leaves the
same stored balance — ``tests/integration/api/test_ledger_accounts.py`` checks it — so
the separate deposit is a choice, not a workaround); one of them is "hot" and takes part
in about 40 % of the transfers.
Then 32 async clients, each signed in as the officer or the manager of branch 001, post
``BANK_TEST_TRANSFERS`` random internal transfers, each with its own Idempotency-Key
(retried with the same key on ``409 IDEMPOTENCY_IN_PROGRESS``, ``503`` or a transport
error). About 5 % ask for more money than the whole bank holds and must fail with
``422 INSUFFICIENT_FUNDS``; others fail the same way when their source runs dry.

Throughout, a snapshot reader lists the accounts (one ``GET /accounts`` page = one
statement = one consistent snapshot) and checks that no balance is negative and that the
50 balances still sum to the opening total. At the end: money is conserved; every account
holds exactly its opening deposit plus what the acknowledged (201) transfers moved;
every 201 transfer is readable once by its reference and no other transfer exists;
successes + ``INSUFFICIENT_FUNDS`` = the number sent; no 5xx; stored responses replay
byte for byte; and ``app.core.ledger.verify.verify_ledger`` (and ``branchdesk ledger
verify``) report a clean ledger.

Size: ``BANK_TEST_TRANSFERS`` (default 2,000 on PostgreSQL, 600 on SQLite, where every
write is serialized in one process and a run of 2,000 takes well over a minute), clients
``BANK_TEST_CLIENTS`` (default 32), random seed ``BANK_TEST_SEED`` (printed on failure).
"""

import asyncio
import os
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.live_server import ROOT
from tests.load.server import CoreServer
from tests.support import API, SANDBOX_PASSWORD, TENANT

ACCOUNTS = 50
BRANCH = "001"
CURRENCY = "NGN"
HOT_SHARE = 0.40  # of the transfers touch the hot account
DOOMED_SHARE = 0.05  # of the transfers ask for more than the bank holds
HOT_OPENING = 300_000_00  # minor units; every amount stays below the 1,000,000.00 limit
OTHER_OPENING = (2_000_00, 12_000_00)
DOOMED_AMOUNT = 950_000_00  # > the sum of all openings (<= 888,000.00), < the approval limit
MAX_TRIES = 30
RETRY_STATUSES = {409, 503}


def _default_transfers(settings: Any) -> int:
    return 600 if settings.database.is_sqlite else 2000


def money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def minor(text: str) -> int:
    whole, _, cents = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int((cents or "0").ljust(2, "0")[:2]))


@dataclass
class Job:
    index: int
    key: str
    source: str
    destination: str
    amount: int
    doomed: bool

    def body(self) -> dict[str, Any]:
        return {
            "source_account_id": self.source,
            "destination_account_id": self.destination,
            "amount": money(self.amount),
            "currency": CURRENCY,
            "narration": f"load {self.index}",
        }


@dataclass
class Outcome:
    job: Job
    status: int
    body: dict[str, Any]
    raw: bytes
    tries: int
    token: str


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)  # every response, retries too
    codes: Counter[str] = field(default_factory=Counter)
    transport_errors: int = 0
    snapshots: int = 0
    snapshot_problems: list[str] = field(default_factory=list)


def auth(token: str, key: str | None = None) -> dict[str, str]:
    result = {"Authorization": f"Bearer {token}", "X-Tenant-ID": TENANT}
    if key:
        result["Idempotency-Key"] = key
    return result


async def sign_in(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post(
        "/auth/login",
        json={"email": email, "password": SANDBOX_PASSWORD},
        headers={"X-Tenant-ID": TENANT},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def open_accounts(
    client: httpx.AsyncClient, token: str, rng: random.Random, count: int = ACCOUNTS
) -> tuple[list[str], dict[str, int]]:
    """``count`` customers (50), one funded savings account each, in branch 001; the first
    is hot."""
    semaphore = asyncio.Semaphore(8)

    async def one(i: int) -> tuple[str, int]:
        opening = HOT_OPENING if i == 0 else rng.randint(*OTHER_OPENING)
        async with semaphore:
            customer = await client.post(
                "/customers",
                json={
                    "customer_type": "INDIVIDUAL",
                    "first_name": f"Load{i}",
                    "last_name": "Tester",
                    "phone": f"+23480{70000000 + i}",
                },
                headers=auth(token, f"load-cust-{uuid.uuid4().hex}"),
            )
            assert customer.status_code == 201, customer.text
            account = await client.post(
                "/accounts",
                json={
                    "customer_id": customer.json()["id"],
                    "account_type": "SAVINGS",
                    "currency": CURRENCY,
                    "product_code": "SAV001",
                    "branch_code": BRANCH,
                    "alias": "hot" if i == 0 else f"load-{i}",
                },
                headers=auth(token, f"load-acct-{uuid.uuid4().hex}"),
            )
            assert account.status_code == 201, account.text
            account_id: str = account.json()["id"]
            # Funded by its own deposit, whose receipt is checked here (initial_deposit
            # would post the same deposit: see the module docstring).
            deposit = await client.post(
                "/deposits",
                json={
                    "account_id": account_id,
                    "amount": money(opening),
                    "currency": CURRENCY,
                    "narration": "load test opening",
                },
                headers=auth(token, f"load-dep-{uuid.uuid4().hex}"),
            )
            assert deposit.status_code == 201, deposit.text
            assert deposit.json()["status"] == "COMPLETED", deposit.text
            assert minor(deposit.json()["balance_after"]) == opening, deposit.text
            return account_id, opening

    opened = await asyncio.gather(*(one(i) for i in range(count)))
    ids = [account_id for account_id, _ in opened]
    return ids, dict(opened)


def plan(ids: list[str], count: int, rng: random.Random) -> list[Job]:
    hot, others = ids[0], ids[1:]
    jobs = []
    for index in range(count):
        if rng.random() < HOT_SHARE:
            other = rng.choice(others)
            source, destination = (hot, other) if rng.random() < 0.5 else (other, hot)
        else:
            source, destination = rng.sample(others, 2)
        doomed = rng.random() < DOOMED_SHARE
        amount = DOOMED_AMOUNT if doomed else rng.randint(1_00, 5_000_00)
        jobs.append(Job(index, f"load-{uuid.uuid4().hex}", source, destination, amount, doomed))
    return jobs


async def send(client: httpx.AsyncClient, token: str, job: Job, tally: Tally) -> Outcome:
    """POST one transfer; retry with the same key while it is in progress or unavailable."""
    for attempt in range(1, MAX_TRIES + 1):
        try:
            response = await client.post(
                "/transfers/internal", json=job.body(), headers=auth(token, job.key)
            )
        except httpx.TransportError:
            tally.transport_errors += 1
            await asyncio.sleep(0.05 * attempt)
            continue
        tally.statuses[response.status_code] += 1
        body = response.json() if response.content else {}
        if response.status_code >= 400:
            tally.codes[str(body.get("code"))] += 1
        retry = response.status_code in RETRY_STATUSES and (
            response.status_code == 503 or body.get("code") == "IDEMPOTENCY_IN_PROGRESS"
        )
        if retry and attempt < MAX_TRIES:
            await asyncio.sleep(min(1.0, 0.02 * attempt))
            continue
        return Outcome(job, response.status_code, body, response.content, attempt, token)
    raise AssertionError(f"transfer {job.index} never got an answer")


async def snapshot_reader(
    client: httpx.AsyncClient,
    token: str,
    ids: set[str],
    opening_total: int,
    stop: asyncio.Event,
    tally: Tally,
) -> None:
    """List the accounts in one statement, again and again, checking R1's invariants."""
    while not stop.is_set():
        response = await client.get(
            "/accounts", params={"limit": 200, "branch_code": BRANCH}, headers=auth(token)
        )
        tally.statuses[response.status_code] += 1
        if response.status_code != 200:
            tally.snapshot_problems.append(f"GET /accounts -> {response.status_code}")
            continue
        tally.snapshots += 1
        tally.snapshot_problems += snapshot_problems(response.json(), ids, opening_total)
        await asyncio.sleep(0.05)


def snapshot_problems(page: dict[str, Any], ids: set[str], opening_total: int) -> list[str]:
    """What one ``GET /accounts`` page (one statement, one snapshot) breaks of R1's
    invariants: a negative balance, or the accounts' sum moved off the opening total."""
    problems = []
    ours = [a for a in page["accounts"] if a["id"] in ids]
    for account in ours:
        if minor(account["ledger_balance"]) < 0 or minor(account["available_balance"]) < 0:
            problems.append(f"negative balance: {account}")
    if page["has_more"]:
        problems.append("accounts spread over pages: no single snapshot")
    elif len(ours) != len(ids):
        problems.append(f"snapshot shows {len(ours)} of {len(ids)} accounts")
    else:
        total = sum(minor(a["ledger_balance"]) for a in ours)
        if total != opening_total:
            problems.append(f"snapshot total {total} != {opening_total}")
    return problems


async def all_transfers(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"type": "TRANSFER", "limit": 200}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/transactions", params=params, headers=auth(token))
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["transactions"]
        cursor = page.get("next_cursor")
        if not page["has_more"] or not cursor:
            return found


async def run_verify_ledger(settings: Any) -> Any:
    """``app.core.ledger.verify.verify_ledger`` over every tenant: a ``LedgerReport``."""
    from app.core.ledger.verify import verify_ledger
    from app.db import Database

    db = Database(settings.database)
    try:
        async with db.session() as session:
            return await verify_ledger(session)
    finally:
        await db.dispose()


async def test_bank(core_server: CoreServer, settings: Any) -> None:
    count = int(os.environ.get("BANK_TEST_TRANSFERS") or _default_transfers(settings))
    clients = int(os.environ.get("BANK_TEST_CLIENTS") or 32)
    seed = int(os.environ.get("BANK_TEST_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    note = f"(seed {seed}, {count} transfers, {clients} clients, {settings.database.url[:20]})"
    limits = httpx.Limits(max_connections=clients + 8, max_keepalive_connections=clients + 8)
    async with httpx.AsyncClient(
        base_url=core_server.base_url + API, limits=limits, timeout=60.0
    ) as client:
        officer = await sign_in(client, "officer@demo.bank")
        manager = await sign_in(client, "manager@demo.bank")
        viewer = await sign_in(client, "viewer@demo.bank")

        ids, openings = await open_accounts(client, officer, rng)
        opening_total = sum(openings.values())
        assert opening_total < DOOMED_AMOUNT, note
        jobs = plan(ids, count, rng)

        tally = Tally()
        queue: asyncio.Queue[Job] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)
        outcomes: list[Outcome] = []

        async def worker(token: str) -> None:
            while True:
                try:
                    job = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                outcomes.append(await send(client, token, job, tally))

        stop = asyncio.Event()
        reader = asyncio.create_task(
            snapshot_reader(client, viewer, set(ids), opening_total, stop, tally)
        )
        started = time.monotonic()
        try:
            await asyncio.gather(*(worker((officer, manager)[i % 2]) for i in range(clients)))
        finally:
            stop.set()
            await reader
        elapsed = time.monotonic() - started
        print(
            f"\nbank test {note}: {len(outcomes)} transfers in {elapsed:.1f} s "
            f"({len(outcomes) / elapsed:.0f}/s), statuses {dict(tally.statuses)}, "
            f"codes {dict(tally.codes)}, snapshots {tally.snapshots}"
        )

        # Every transfer got a final, documented answer, and nothing failed on our side.
        assert len(outcomes) == count, note
        final = Counter((o.status, o.body.get("code")) for o in outcomes)
        succeeded = [o for o in outcomes if o.status == 201]
        refused = [o for o in outcomes if o.status == 422]
        assert {o.body.get("code") for o in refused} <= {"INSUFFICIENT_FUNDS"}, final
        assert len(succeeded) + len(refused) == count, final
        assert not [s for s in tally.statuses if s >= 500], (tally.statuses, note)
        assert tally.transport_errors == 0, note
        assert all(o.status == 422 for o in outcomes if o.job.doomed), note
        assert succeeded and refused, final

        # Snapshot reads throughout: never negative, money always conserved.
        assert tally.snapshots > 0, note
        assert not tally.snapshot_problems, (tally.snapshot_problems[:10], note)

        # Each 201 says what it did.
        for o in succeeded:
            body = o.body
            assert body["status"] == "COMPLETED", body
            assert body["type"] == "TRANSFER", body
            assert body["account_id"] == o.job.source, body
            assert body["counterparty_account_id"] == o.job.destination, body
            assert minor(body["amount"]) == o.job.amount, body
            assert minor(body["balance_after"]) >= 0, body

        # End state: conserved in total, and exactly what the acknowledged transfers moved.
        expected = dict(openings)
        for o in succeeded:
            expected[o.job.source] -= o.job.amount
            expected[o.job.destination] += o.job.amount
        response = await client.get(
            "/accounts", params={"limit": 200, "branch_code": BRANCH}, headers=auth(viewer)
        )
        assert response.status_code == 200, response.text
        final_balances = {
            a["id"]: minor(a["ledger_balance"])
            for a in response.json()["accounts"]
            if a["id"] in openings
        }
        assert sum(final_balances.values()) == opening_total, note
        assert final_balances == expected, note
        assert all(v >= 0 for v in final_balances.values()), note

        # Every 201 is stored exactly once; nothing else was executed.
        listed = await all_transfers(client, viewer)
        listed_refs = Counter(t["transaction_ref"] for t in listed)
        acknowledged = Counter(o.body["transaction_ref"] for o in succeeded)
        assert max(acknowledged.values()) == 1, note
        assert listed_refs == acknowledged, note
        semaphore = asyncio.Semaphore(16)

        async def read_back(o: Outcome) -> None:
            async with semaphore:
                ref = o.body["transaction_ref"]
                got = await client.get(f"/transactions/{ref}", headers=auth(viewer))
            assert got.status_code == 200, got.text
            assert got.json()["id"] == o.body["id"], (got.json(), o.body)

        await asyncio.gather(*(read_back(o) for o in succeeded))

        # Stored answers replay byte for byte and execute nothing (the 201s and the 422s).
        sample = rng.sample(succeeded, min(10, len(succeeded))) + refused[:5]
        for o in sample:
            replay = await client.post(
                "/transfers/internal", json=o.job.body(), headers=auth(o.token, o.job.key)
            )
            assert replay.status_code == o.status, (replay.text, note)
            assert replay.headers.get("idempotent-replayed") == "true", (replay.headers, note)
            assert replay.content == o.raw, note
        after = await client.get(
            "/accounts", params={"limit": 200, "branch_code": BRANCH}, headers=auth(viewer)
        )
        assert {
            a["id"]: minor(a["ledger_balance"])
            for a in after.json()["accounts"]
            if a["id"] in openings
        } == expected, note

    # The ledger's own consistency check, in-process and through the CLI.
    report = await run_verify_ledger(settings)
    assert report.ok, (report.text()[:4000], note)
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "ledger",
        "verify",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(cli.communicate(), timeout=300)
    assert cli.returncode == 0, output.decode(errors="replace")[-3000:]
