"""P6 (statements and lookups) of quality.md: 1,000,000 accounts, 10,000,000 postings.

One run, on the PostgreSQL server of ``BENCH_PG`` (default
``postgresql://postgres@127.0.0.1:5432``) and the Redis db of ``BENCH_REDIS``:

1. creates its own database ``<BENCH_DB_PREFIX>_<random>`` (default prefix
   ``bd_bench_scale``), migrates and seeds it (the sandbox);
2. loads ``BENCH_ACCOUNTS`` (1,000,000) customer accounts, two per customer, and
   ``BENCH_POSTINGS`` (10,000,000) postings straight in SQL (``bench/seeding.py``: set-based
   ``INSERT … SELECT generate_series`` with the secondary indexes dropped and built again
   after, each step timed) — cash deposits, Dr teller cash, Cr the account with its running
   balance; ``BENCH_BUSY_ACCOUNTS`` (3) accounts get about ``BENCH_BUSY_POSTINGS`` (60,000)
   postings each, spread over the whole table, so that page 1,000 of their statement
   exists; the other accounts share the rest;
3. starts a real core (``python -m app core``, one process) and, over HTTP with one
   keep-alive client, one request at a time, ``BENCH_REPEAT`` (200) times each after a
   warm-up:

   - the references: ``GET /health`` (the HTTP floor: no auth, no database),
     ``GET /tenant`` (the whole middleware chain and one small read) and, in SQL only
     over one asyncpg connection, the indexed queries the two targets need;
   - ``GET /accounts/by-number/{number}`` of random accounts (a different one each time);
   - the statement ``GET /accounts/{id}/transactions`` of a busy account: page 1, then
     following ``next_cursor`` page by page (each page timed) to page ``BENCH_PAGE``
     (1,000) and that page again ``BENCH_REPEAT`` times; page 1 of random ordinary
     accounts; and, for the record, the search ``GET /accounts?q=`` the teller's
     "Account" box sends for a name (a term few holders match, and one all do);
4. writes ``bench/results/<UTC>-scale.json`` and ``.md``, stops the core and drops the
   database (``BENCH_KEEP_DB=1`` keeps it).

p95 over ``BENCH_REPEAT`` sequential requests, measured by the client (so it includes
loopback HTTP). A quick smoke run: ``BENCH_ACCOUNTS=10000 BENCH_POSTINGS=200000
BENCH_BUSY_POSTINGS=2000 BENCH_PAGE=20 python -m bench scale``.
"""

import asyncio
import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.seeding import account_number, percentiles, seed_accounts, timed
from bench.transfers import (
    API,
    PASSWORD,
    RESULTS,
    Server,
    admin_sql,
    machine,
    prepare_environment,
    psql_url,
)

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "1000000"))
POSTINGS = int(os.environ.get("BENCH_POSTINGS", "10000000"))
BUSY_ACCOUNTS = int(os.environ.get("BENCH_BUSY_ACCOUNTS", "3"))
BUSY_POSTINGS = int(os.environ.get("BENCH_BUSY_POSTINGS", "60000"))
PAGE = int(os.environ.get("BENCH_PAGE", "1000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "200"))
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "bd_bench_scale")
STATEMENT_TARGET_MS = 50.0
LOOKUP_TARGET_MS = 10.0
TENANT = "demo_bank"

# The indexed SQL each target needs (uq_accounts_number, ix_postings_account_seq).
LOOKUP_SQL = "SELECT * FROM accounts WHERE tenant_id = $1 AND account_number = $2"
PAGE_SQL = "SELECT * FROM postings WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT 51"


async def timed_each(
    call: Callable[[int], Awaitable[Any]], repeat: int
) -> tuple[dict[str, Any], Any]:
    """Like ``timed`` but the call gets the run's index (a different argument each time)."""
    result = await call(-1)
    times = []
    for n in range(repeat):
        began = time.perf_counter()
        result = await call(n)
        times.append((time.perf_counter() - began) * 1000)
    return percentiles(times), result


async def measure(database: str, server: Server, seed: dict[str, Any]) -> dict[str, Any]:
    import asyncpg

    scenarios: dict[str, Any] = {}
    rng = random.Random(20261201)
    first = seed["first_account"]
    connection = await asyncpg.connect(psql_url(database))
    async with httpx.AsyncClient(base_url=f"{server.base_url}{API}", timeout=60) as client:
        response = await client.post(
            "/auth/login",
            json={"email": "viewer@demo.bank", "password": PASSWORD},
            headers={"X-Tenant-ID": TENANT},
        )
        response.raise_for_status()
        viewer = {
            "Authorization": f"Bearer {response.json()['access_token']}",
            "X-Tenant-ID": TENANT,
        }

        async def get(path: str, **params: Any) -> Any:
            response = await client.get(path, params=params, headers=viewer)
            assert response.status_code == 200, response.text
            return response.json()

        tenant_id = await connection.fetchval("SELECT id FROM tenants WHERE code = $1", TENANT)
        busy = await get(f"/accounts/by-number/{account_number(first, 0)}")
        busy_id = uuid.UUID(busy["id"])

        # the references
        scenarios["health"], _ = await timed(lambda: client.get("/health"), REPEAT)
        scenarios["tenant"], _ = await timed(lambda: get("/tenant"), REPEAT)

        def number_at(n: int) -> str:
            return account_number(first, BUSY_ACCOUNTS + rng.randrange(ACCOUNTS - BUSY_ACCOUNTS))

        scenarios["lookup_sql"], _ = await timed_each(
            lambda n: connection.fetch(LOOKUP_SQL, tenant_id, number_at(n)), REPEAT
        )
        scenarios["page1_sql"], _ = await timed(
            lambda: connection.fetch(PAGE_SQL, busy_id, 2**62), REPEAT
        )

        # the lookup
        scenarios["lookup"], found = await timed_each(
            lambda n: get(f"/accounts/by-number/{number_at(n)}"), REPEAT
        )

        # the busy account's statement, page 1, then page by page to PAGE
        scenarios["page1"], body = await timed(
            lambda: get(f"/accounts/{busy_id}/transactions"), REPEAT
        )
        page1_newest = body["transactions"][0]
        walk: list[float] = []
        cursor = body["next_cursor"]
        last_id = body["transactions"][-1]["id"]
        for _ in range(2, PAGE):
            began = time.perf_counter()
            body = await get(f"/accounts/{busy_id}/transactions", cursor=cursor)
            walk.append((time.perf_counter() - began) * 1000)
            assert body["has_more"], "the busy account has fewer pages than BENCH_PAGE"
            cursor = body["next_cursor"]
            last_id = body["transactions"][-1]["id"]
        scenarios["walk"] = percentiles(walk) if walk else None
        scenarios["page_n_sql"], _ = await timed(
            lambda: connection.fetch(PAGE_SQL, busy_id, last_id), REPEAT
        )
        scenarios["page_n"], page_n = await timed(
            lambda: get(f"/accounts/{busy_id}/transactions", cursor=cursor), REPEAT
        )
        page_n_first = page_n["transactions"][0]

        # page 1 of ordinary accounts (a different one each time, mostly not cached)
        async def ordinary_page1(n: int) -> Any:
            account = await connection.fetchval(
                "SELECT id FROM accounts WHERE tenant_id = $1 AND account_number = $2",
                tenant_id,
                number_at(n),
            )
            began = time.perf_counter()
            body = await get(f"/accounts/{account}/transactions")
            return body, (time.perf_counter() - began) * 1000

        ordinary: list[float] = []
        for n in range(REPEAT + 1):
            _body, ms = await ordinary_page1(n)
            if n:
                ordinary.append(ms)
        scenarios["ordinary_page1"] = percentiles(ordinary)

        # for the record: the search the teller's "Account" box sends for a name or phone
        # (substring), with a term few accounts match and one nearly all do
        scenarios["search_name"], _ = await timed_each(
            lambda n: get("/accounts", q=f"customer {rng.randrange(seed['customers'])}"),
            min(REPEAT, 50),
        )
        scenarios["search_common"], _ = await timed_each(
            lambda n: get("/accounts", q="bench customer"), min(REPEAT, 50)
        )
    await connection.close()

    for name in ("lookup", "tenant", "health"):
        scenarios[name]["ratio_vs_sql"] = round(
            scenarios[name]["p50_ms"] / scenarios["lookup_sql"]["p50_ms"], 1
        )
    for name, sql in (("page1", "page1_sql"), ("page_n", "page_n_sql")):
        scenarios[name]["ratio_vs_sql"] = round(
            scenarios[name]["p50_ms"] / scenarios[sql]["p50_ms"], 1
        )
    for name in (
        "lookup",
        "page1",
        "page_n",
        "ordinary_page1",
        "search_name",
        "search_common",
        "tenant",
    ):
        scenarios[name]["ratio_vs_health"] = round(
            scenarios[name]["p50_ms"] / scenarios["health"]["p50_ms"], 1
        )
    scenarios["lookup"]["pass"] = scenarios["lookup"]["p95_ms"] <= LOOKUP_TARGET_MS
    for name in ("page1", "page_n", "ordinary_page1"):
        scenarios[name]["pass"] = scenarios[name]["p95_ms"] <= STATEMENT_TARGET_MS
    return {
        "scenarios": scenarios,
        "busy_account": {
            "number": busy["account_number"],
            "ledger_balance": busy["ledger_balance"],
            "newest_balance_after": page1_newest["balance_after"],
        },
        "page_n_first_row": page_n_first,
        "looked_up_example": found["account_number"],
    }


ROWS = (
    ("reference: `GET /health` (HTTP floor, no auth, no database)", "health", "–"),
    ("reference: `GET /tenant` (middleware chain + one small read)", "tenant", "–"),
    ("reference: lookup by number, SQL only", "lookup_sql", "–"),
    ("reference: statement page 1, SQL only", "page1_sql", "–"),
    ("reference: statement page {page}, SQL only", "page_n_sql", "–"),
    ("**account lookup by number** (`GET /accounts/by-number/…`)", "lookup", "≤ 10 ms"),
    ("**statement page 1**, busy account", "page1", "≤ 50 ms"),
    ("statement pages 2 … {last}, busy account (one request each)", "walk", "–"),
    ("**statement page {page}**, busy account", "page_n", "≤ 50 ms"),
    ("statement page 1, random ordinary accounts", "ordinary_page1", "≤ 50 ms"),
    ("search `GET /accounts?q=customer N` (few match: a holder's name)", "search_name", "–"),
    ("search `GET /accounts?q=bench customer` (every holder matches)", "search_common", "–"),
)


def markdown(report: dict[str, Any]) -> str:
    scenarios = report["scenarios"]
    rows = [
        "| scenario | n | p50 ms | p95 ms | max ms | × SQL | × health | target | pass |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, key, target in ROWS:
        r = scenarios.get(key)
        if not r:
            continue
        verdict = ("PASS" if r["pass"] else "FAIL") if "pass" in r else "–"
        rows.append(
            f"| {label.format(page=report['page'], last=report['page'] - 1)} | {r['n']} | "
            f"{r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} | {r.get('ratio_vs_sql', '–')} | "
            f"{r.get('ratio_vs_health', '–')} | {target} | {verdict} |"
        )
    seed = report["seed"]
    return "\n".join(
        [
            f"# Statements and lookups at {report['accounts']:,} accounts, "
            f"{report['postings']:,} postings ({report['at']})",
            "",
            f"Machine: {report['machine']['cpus']} × {report['machine']['cpu_model']}, "
            f"PostgreSQL {report['machine']['postgresql']}; one core process over loopback "
            f"HTTP, one request at a time. Load average at the start: {report['load_average']}.",
            "",
            f"Seeding took {seed['total_s']:.0f} s: customers {seed['customers_s']:.0f} s, "
            f"accounts {seed['accounts_s']:.0f} s, postings {seed['postings_s']:.0f} s, "
            f"indexes {sum(seed['indexes_s'].values()):.0f} s, "
            f"vacuum {seed['vacuum_analyze_s']:.0f} s "
            f"(sizes: {', '.join(f'{k} {v}' for k, v in seed['sizes'].items())}). "
            f"{seed['customers']:,} customers; busy accounts have "
            f"{', '.join(f'{n:,}' for n in seed['busy_account_postings'])} postings, the "
            f"others ≈ {seed['other_account_postings']}. The busy account's balance "
            f"{report['busy_account']['ledger_balance']}, its statement's newest running "
            f"balance {report['busy_account']['newest_balance_after']}.",
            "",
            *rows,
            "",
        ]
    )


def main() -> int:
    database = f"{DB_PREFIX}_{uuid.uuid4().hex[:8]}"
    admin_sql(f"CREATE DATABASE {database}")
    server: Server | None = None
    try:
        prepare_environment(database, Path(tempfile.mkdtemp(prefix="bd-bench-scale-")))
        from app.core.tenants.models import Tenant
        from app.core.tenants.service import business_date
        from bench.transfers import migrate_and_seed

        migrate_and_seed()
        today = business_date(
            Tenant(
                code="x",
                name="x",
                base_currency="NGN",
                timezone="Africa/Lagos",
                teller_approval_limit=0,
            )
        )
        seed = seed_accounts(
            database,
            today,
            accounts=ACCOUNTS,
            postings=POSTINGS,
            busy=BUSY_ACCOUNTS,
            busy_postings=BUSY_POSTINGS,
        )
        print(f"seeded in {seed['total_s']} s", flush=True)
        load_average = " ".join(f"{x:.1f}" for x in os.getloadavg())
        server = Server()
        result = asyncio.run(measure(database, server, seed))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        report = {
            "at": stamp,
            "accounts": ACCOUNTS,
            "postings": POSTINGS,
            "page": PAGE,
            "repeat": REPEAT,
            "load_average": load_average,
            "seed": seed,
            "machine": machine(),
            **result,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{stamp}-scale.json").write_text(json.dumps(report, indent=2) + "\n")
        (RESULTS / f"{stamp}-scale.md").write_text(markdown(report))
        print(markdown(report))
        return 0
    finally:
        if server is not None:
            server.stop()
        if not os.environ.get("BENCH_KEEP_DB"):
            admin_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    raise SystemExit(main())
