"""Where a request's CPU goes: the core's request path taken apart, in one process.

The transfers benchmark (P1) measures the whole server under load; this one says where
its CPU per transfer goes. It runs the real core app in this process (httpx's ASGI
transport: no sockets, no HTTP parsing, so the figures are the app's own), against its own
PostgreSQL database and Redis db 12, and times with ``time.process_time`` requests that
stop at successive points of the path, each back to back:

1. ``GET /health`` — an open path: the chain's first stages and Litestar's routing;
2. ``GET /auth/me`` — the whole chain (one Redis round trip, a remembered token, the
   tenant) and a handler that reads nothing;
3. ``POST /transfers/internal`` with a body refused by validation, without a key — 2 and
   Litestar's body decoding and error answer;
4. the same with an ``Idempotency-Key`` — 3 and the claim, then its release (two
   statements on the request's raw connection);
5. a real transfer — 4's claim and the movement: its read (one statement), its write
   (one statement), the claim's completion and COMMIT.

The differences between rows are the stages' costs. The client's own CPU (httpx building
and parsing) is measured alone against a trivial ASGI app and reported beside them.
``BENCH_ROUNDS`` (5) rounds of ``BENCH_REQUESTS`` (400) each; the minimum of the rounds is
reported (the least disturbed by the machine's other load). Results go to
``bench/results/<UTC>-request-path.json`` and ``.md``.
"""

import asyncio
import json
import logging
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import transfers as tb

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))
ACCOUNTS = int(os.environ.get("BENCH_PATH_ACCOUNTS", "2000"))


async def _trivial_app(scope: Any, receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def timed(request: Callable[[], Awaitable[None]]) -> float:
    """The least CPU per request over the rounds, in milliseconds."""
    for _ in range(50):
        await request()
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(REQUESTS):
            await request()
        best = min(best, (time.process_time() - started) / REQUESTS * 1000)
    return round(best, 3)


async def measure(settings: Any, accounts: list[str]) -> list[dict[str, Any]]:
    from app.core.app import create_app

    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    rows: list[dict[str, Any]] = []
    try:
        async with httpx.AsyncClient(transport=transport, base_url=f"http://t{tb.API}") as c:
            signed = await c.post(
                "/auth/login",
                json={"email": "officer@demo.bank", "password": tb.PASSWORD},
                headers={"X-Tenant-ID": tb.TENANT},
            )
            signed.raise_for_status()
            auth = {"Authorization": f"Bearer {signed.json()['access_token']}"}
            auth["X-Tenant-ID"] = tb.TENANT
            refused = {"source_account_id": accounts[0], "destination_account_id": accounts[1]}
            refused |= {"amount": "1.001", "currency": "NGN"}

            async def health() -> None:
                await c.get("/health")

            async def me() -> None:
                await c.get("/auth/me", headers=auth)

            async def refused_body() -> None:
                await c.post("/transfers/internal", json=refused, headers=auth)

            async def refused_with_key() -> None:
                keyed = {**auth, "Idempotency-Key": uuid.uuid4().hex}
                await c.post("/transfers/internal", json=refused, headers=keyed)

            async def transfer() -> None:
                source, destination = random.sample(accounts, 2)
                body = {"source_account_id": source, "destination_account_id": destination}
                body |= {"amount": "1.00", "currency": "NGN", "narration": "path"}
                keyed = {**auth, "Idempotency-Key": uuid.uuid4().hex}
                answer = await c.post("/transfers/internal", json=body, headers=keyed)
                assert answer.status_code == 201, answer.text

            steps = [
                ("GET /health (open path)", health),
                ("GET /auth/me (the whole chain)", me),
                ("POST refused by its body, no key", refused_body),
                ("POST refused by its body, with a key (claim + release)", refused_with_key),
                ("POST /transfers/internal (a transfer)", transfer),
            ]
            previous = None
            for name, request in steps:
                cpu = await timed(request)
                rows.append(
                    {
                        "request": name,
                        "cpu_ms": cpu,
                        "more_than_the_row_above_ms": (
                            round(cpu - previous, 3) if previous is not None else None
                        ),
                    }
                )
                previous = cpu
        bare = httpx.ASGITransport(app=_trivial_app)
        async with httpx.AsyncClient(transport=bare, base_url="http://t") as client_only:
            body = {"source_account_id": accounts[0], "destination_account_id": accounts[1]}

            async def client_alone() -> None:
                await client_only.post("/x", json=body, headers=auth)

            rows.append(
                {
                    "request": "the client alone (httpx, trivial app)",
                    "cpu_ms": await timed(client_alone),
                }
            )
    finally:
        await app.state.services.close()
    return rows


def main() -> int:
    started_at = datetime.now(UTC)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    database = f"bd_pbench_{uuid.uuid4().hex[:8]}"
    var_dir = Path(tempfile.mkdtemp(prefix="branchdesk-path-"))
    tb.admin_sql(f'CREATE DATABASE "{database}"')
    try:
        tb.prepare_environment(database, var_dir)
        settings = tb.migrate_and_seed()
        tb.PASSWORD = settings.sandbox_password
        accounts, _hot = asyncio.run(tb.open_accounts(settings, ACCOUNTS))
        load = os.getloadavg()
        rows = asyncio.run(measure(settings, accounts))
        report = {
            "benchmark": "request-path",
            "started_at": started_at.isoformat(timespec="seconds"),
            "machine": tb.machine(),
            "load_average_before": [round(x, 2) for x in load],
            "config": {"rounds": ROUNDS, "requests_per_round": REQUESTS, "accounts": ACCOUNTS},
            "rows": rows,
        }
        tb.RESULTS.mkdir(parents=True, exist_ok=True)
        (tb.RESULTS / f"{stamp}-request-path.json").write_text(json.dumps(report, indent=2) + "\n")
        lines = [
            f"# The core's request path, {report['started_at']}",
            "",
            f"In one process (ASGI, no sockets); CPU per request, the least of {ROUNDS} rounds "
            f"of {REQUESTS}; load average before: {report['load_average_before']}.",
            "",
            "| request | CPU ms | more than the row above |",
            "|---|---|---|",
            *[
                f"| {r['request']} | {r['cpu_ms']} | {r.get('more_than_the_row_above_ms') or '–'} |"
                for r in rows
            ],
            "",
        ]
        (tb.RESULTS / f"{stamp}-request-path.md").write_text("\n".join(lines))
        print("\n".join(lines))
        return 0
    finally:
        tb.admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
