"""P6 (the reports part) of quality.md: the trial balance at scale, with GL roll-ups.

One run, on the PostgreSQL server of ``BENCH_PG`` (default
``postgresql://postgres@127.0.0.1:5432``) and the Redis db of ``BENCH_REDIS``:

1. creates its own database ``bd_bench_tb_<random>``, migrates and seeds it (the sandbox);
2. inserts ``BENCH_POSTINGS`` (default 10,000,000) postings for ``demo_bank`` straight in
   SQL (``INSERT … SELECT generate_series``, with the postings' secondary indexes dropped
   and built again afterwards, and foreign-key triggers off for the load: the rows point
   at one posted journal and the sandbox's GL leaves) — balanced pairs on the general GL
   leaves at two branches, dated from 1 January to today in ID order, as a ledger grows —
   then ``VACUUM ANALYZE``; each step's time is recorded;
3. the references, in the same run: the plain SQL a trial balance needs without
   roll-ups (``SELECT … sum(…) FROM postings … GROUP BY``), and the trial balance through
   the whole core (middleware chain, JWT, tenant, the report; in this process over
   ``httpx.ASGITransport``) before any roll-up has run — every posting summed;
4. runs the worker's roll-up job (``GLRollupJob``, ``BENCH_ROLLUP_STEP`` postings per run,
   the worker's default) until it has caught up, recording the time per run;
5. times the trial balance (and the balance sheet, income statement, GL tree and the
   first entries page of a busy GL account) with the roll-ups: ``BENCH_REPEAT`` (10)
   requests after one warm-up each;
6. adds ``BENCH_TAIL`` (50,000) postings the job has not seen yet (the worker trails the
   ledger by one interval) and times the trial balance again: roll-ups + that tail;
7. closes every month before this one (each close stores its snapshot) and times the
   trial balance once more: the snapshot + this month's roll-ups;
8. writes ``bench/results/<UTC>-trial-balance.json`` and ``.md`` and drops the database
   (``BENCH_KEEP_DB=1`` keeps it).

Not a test of correctness (tests/integration/api/test_gl_rollups.py is), but the run
checks that the trial balance with roll-ups has exactly the lines of the one without.
The synthetic postings do not keep the control accounts equal to customer accounts, so
the ledger check is not run here.
"""

import asyncio
import json
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.seeding import insert_postings, percentiles, psql, seed_postings, timed, timed_psql
from bench.transfers import RESULTS, admin_sql, machine, prepare_environment

API = "/api/v1/cba"
POSTINGS = int(os.environ.get("BENCH_POSTINGS", "10000000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "10"))
REFERENCE_REPEAT = int(os.environ.get("BENCH_REFERENCE_REPEAT", "3"))
ROLLUP_STEP = int(os.environ.get("BENCH_ROLLUP_STEP", "50000"))
TAIL = int(os.environ.get("BENCH_TAIL", "50000"))
TARGET_MS = 500.0
PASSWORD = "Sandbox#2026"

REFERENCE_SQL = """
SELECT gl_account_id, currency, branch_code,
       sum(CASE WHEN side = 'D' THEN amount ELSE -amount END)
FROM postings
WHERE tenant_id = (SELECT id FROM tenants WHERE code = 'demo_bank') AND effective_date <= :day
GROUP BY gl_account_id, currency, branch_code
"""

# What GET /gl/accounts/{id}/entries computed before the roll-ups: the running balance
# of the account's every posting, kept for the page's rows.
ENTRIES_REFERENCE_SQL = """
SELECT r.id, r.running FROM (
  SELECT id, sum(CASE WHEN side = 'D' THEN amount ELSE -amount END) OVER (ORDER BY id) AS running
  FROM postings WHERE gl_account_id = :gl
) r
WHERE r.id IN (SELECT id FROM postings WHERE gl_account_id = :gl ORDER BY id DESC LIMIT 50)
"""


def add_tail(database: str, journal: str, today: date) -> float:
    """``TAIL`` more postings dated today, through the table's indexes as they stand."""
    return timed_psql(
        database,
        insert_postings(uuid.UUID(journal), POSTINGS, TAIL - TAIL % 2, today, 1),
    )


async def measure(database: str, seed: dict[str, Any]) -> dict[str, Any]:
    import sqlalchemy as sa

    from app.core.app import create_app
    from app.core.ledger.rollups import GLRollupJob
    from app.settings import get_settings

    app = create_app(get_settings())
    db = app.state.services.db
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    scenarios: dict[str, Any] = {}
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://bench{API}", timeout=600
    ) as client:

        async def sign_in(email: str) -> dict[str, str]:
            response = await client.post(
                "/auth/login",
                json={"email": email, "password": PASSWORD},
                headers={"X-Tenant-ID": "demo_bank"},
            )
            response.raise_for_status()
            token = response.json()["access_token"]
            return {"Authorization": f"Bearer {token}", "X-Tenant-ID": "demo_bank"}

        viewer, admin = await sign_in("viewer@demo.bank"), await sign_in("admin@demo.bank")
        today = date.fromisoformat(
            (await client.get("/tenant", headers=viewer)).json()["business_date"]
        )

        def get(path: str, **params: Any) -> Callable[[], Awaitable[Any]]:
            async def call() -> Any:
                response = await client.get(path, params=params, headers=viewer)
                assert response.status_code == 200, response.text
                return response.json()

            return call

        def sql(statement: str, **params: Any) -> Callable[[], Awaitable[Any]]:
            async def call() -> Any:
                async with db.session() as session:
                    return (await session.execute(sa.text(statement), params)).all()

            return call

        async with db.session() as session:
            busy = (
                await session.execute(
                    sa.text("SELECT gl_account_id FROM postings ORDER BY id DESC LIMIT 1")
                )
            ).scalar_one()
            busy_postings = (
                await session.execute(
                    sa.text("SELECT count(*) FROM postings WHERE gl_account_id = :gl"),
                    {"gl": busy},
                )
            ).scalar_one()

        # the references: no roll-up has run yet
        scenarios["reference_sql"], _rows = await timed(
            sql(REFERENCE_SQL, day=today), REFERENCE_REPEAT
        )
        scenarios["no_rollups"], plain = await timed(
            get("/reports/trial-balance"), REFERENCE_REPEAT
        )
        scenarios["entries_reference_sql"], _rows = await timed(
            sql(ENTRIES_REFERENCE_SQL, gl=busy), REFERENCE_REPEAT
        )

        # the worker catches up
        job = GLRollupJob(db, postings_per_run=ROLLUP_STEP)
        run_ms: list[float] = []
        began = time.perf_counter()
        while True:
            started = time.perf_counter()
            covered = await job.run_once()
            if not covered:
                break
            run_ms.append((time.perf_counter() - started) * 1000)
        catch_up_s = time.perf_counter() - began
        async with db.session() as session:
            rollup_rows = (
                await session.execute(sa.text("SELECT count(*) FROM gl_rollups"))
            ).scalar_one()
        # What autovacuum would do after the catch-up (upserts leave dead row versions).
        vacuum_s = timed_psql(database, "VACUUM ANALYZE gl_rollups")
        rollup = {
            "step": ROLLUP_STEP,
            "runs": len(run_ms),
            "catch_up_s": round(catch_up_s, 1),
            "postings_per_s": round(POSTINGS / catch_up_s) if catch_up_s else None,
            "run_ms": percentiles(run_ms) if run_ms else None,
            "rows": int(rollup_rows),
            "vacuum_analyze_s": vacuum_s,
        }

        scenarios["rollups"], rolled = await timed(get("/reports/trial-balance"), REPEAT)
        identical = {k: v for k, v in rolled.items() if k != "from_snapshot_of"} == {
            k: v for k, v in plain.items() if k != "from_snapshot_of"
        }
        scenarios["balance_sheet"], _body = await timed(get("/reports/balance-sheet"), REPEAT)
        scenarios["income_statement"], _body = await timed(get("/reports/income-statement"), REPEAT)
        scenarios["gl_tree"], _body = await timed(get("/gl/accounts"), REPEAT)
        scenarios["entries"], _body = await timed(
            get(f"/gl/accounts/{busy}/entries", limit=50), REPEAT
        )

        tail_s = add_tail(database, seed["journal"], today)
        psql(database, "ANALYZE postings")
        scenarios["rollups_and_tail"], tailed = await timed(get("/reports/trial-balance"), REPEAT)
        started = time.perf_counter()
        while await job.run_once():
            pass
        tail_rollup_ms = round((time.perf_counter() - started) * 1000, 1)

        listed = (
            await client.get(
                "/fiscal-periods",
                params={"fiscal_year": str(today.year), "limit": 20},
                headers=viewer,
            )
        ).json()["fiscal_periods"]
        closes = []
        for period in sorted(listed, key=lambda p: p["period_number"]):
            if period["period_number"] >= today.month:
                continue
            began = time.perf_counter()
            response = await client.post(f"/fiscal-periods/{period['id']}/close", headers=admin)
            assert response.status_code == 200, response.text
            closes.append(round((time.perf_counter() - began) * 1000, 1))
        if closes:
            scenarios["snapshot_and_rollups"], snapshot = await timed(
                get("/reports/trial-balance"), REPEAT
            )
            scenarios["snapshot_and_rollups"]["from_snapshot_of"] = snapshot["from_snapshot_of"]
        await app.state.services.close()
    reference = scenarios["reference_sql"]["p50_ms"]
    for name, figures in scenarios.items():
        if not name.startswith("entries"):
            figures["ratio_vs_reference_sql"] = round(figures["p50_ms"] / reference, 4)
    scenarios["entries"]["ratio_vs_reference"] = round(
        scenarios["entries"]["p50_ms"] / scenarios["entries_reference_sql"]["p50_ms"], 4
    )
    for name in ("no_rollups", "rollups", "rollups_and_tail", "snapshot_and_rollups"):
        if name in scenarios:
            scenarios[name]["pass"] = scenarios[name]["p95_ms"] <= TARGET_MS
    return {
        "business_date": today.isoformat(),
        "scenarios": scenarios,
        "rollup": rollup,
        "identical_with_and_without_rollups": identical,
        "balanced": rolled["balanced"] and tailed["balanced"],
        "tail": {"postings": TAIL, "insert_s": tail_s, "rolled_up_ms": tail_rollup_ms},
        "months_closed": len(closes),
        "close_ms": closes,
        "entries_account_postings": int(busy_postings),
    }


ROWS = (
    ("reference: plain `SELECT … sum() … GROUP BY` over the postings (SQL only)", "reference_sql"),
    ("trial balance, no roll-up yet: every posting summed", "no_rollups"),
    ("**trial balance with roll-ups** (all periods open)", "rollups"),
    ("trial balance with roll-ups + {tail:,} postings not rolled up yet", "rollups_and_tail"),
    ("trial balance, months closed: snapshot + this month's roll-ups", "snapshot_and_rollups"),
    ("balance sheet with roll-ups", "balance_sheet"),
    ("income statement (year to date) with roll-ups", "income_statement"),
    ("GL tree with balances, with roll-ups", "gl_tree"),
)


def markdown(report: dict[str, Any]) -> str:
    scenarios = report["scenarios"]
    rows = [
        "| scenario | n | p50 ms | p95 ms | max ms | × reference | target | pass |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, key in ROWS:
        r = scenarios.get(key)
        if not r:
            continue
        verdict = ("PASS" if r["pass"] else "FAIL") if "pass" in r else "–"
        rows.append(
            f"| {label.format(tail=report['tail']['postings'])} | {r['n']} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['max_ms']} | {r['ratio_vs_reference_sql']} | "
            f"{'≤ 500 ms' if 'pass' in r else '–'} | {verdict} |"
        )
    entries, old = scenarios["entries"], scenarios["entries_reference_sql"]
    rollup = report["rollup"]
    seed = report["seed"]
    return "\n".join(
        [
            f"# Trial balance at {report['postings']:,} postings ({report['at']})",
            "",
            f"Machine: {report['machine']['cpus']} × {report['machine']['cpu_model']}, "
            f"PostgreSQL {report['machine']['postgresql']}. Business date "
            f"{report['business_date']}. Seeding took {seed['total_s']:.0f} s "
            f"(insert {seed['insert_s']:.0f} s, indexes "
            f"{sum(seed['indexes_s'].values()):.0f} s, vacuum {seed['vacuum_analyze_s']:.0f} s;"
            f" postings table {seed['size']}).",
            "",
            *rows,
            "",
            f"Same trial balance with and without roll-ups: "
            f"{'yes' if report['identical_with_and_without_rollups'] else 'NO'}; balanced: "
            f"{'yes' if report['balanced'] else 'NO'}.",
            "",
            f"Roll-up catch-up from nothing: {rollup['runs']} runs of {rollup['step']:,} "
            f"postings in {rollup['catch_up_s']} s ({rollup['postings_per_s']:,} postings/s; "
            f"per run p50 {rollup['run_ms']['p50_ms']} ms, max {rollup['run_ms']['max_ms']} ms)"
            f", {rollup['rows']:,} roll-up rows. Rolling up the {report['tail']['postings']:,}"
            f" new postings: {report['tail']['rolled_up_ms']} ms.",
            "",
            f"GL entries, first page (50) of an account with "
            f"{report['entries_account_postings']:,} postings: p50 {entries['p50_ms']} ms, "
            f"p95 {entries['p95_ms']} ms through the API with roll-ups; the running-balance "
            f"query it replaced (SQL only) p50 {old['p50_ms']} ms.",
            "",
            f"Closing {report['months_closed']} months (each stores its snapshot): "
            + (
                f"{min(report['close_ms'])}–{max(report['close_ms'])} ms each."
                if report["close_ms"]
                else "none to close."
            ),
            "",
        ]
    )


def main() -> int:
    database = f"{os.environ.get('BENCH_DB_PREFIX', 'bd_bench_tb')}_{uuid.uuid4().hex[:8]}"
    admin_sql(f"CREATE DATABASE {database}")
    try:
        prepare_environment(database, Path(tempfile.mkdtemp(prefix="bd-bench-tb-")))
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
        seed = seed_postings(database, today, POSTINGS)
        result = asyncio.run(measure(database, seed))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        report = {
            "at": stamp,
            "postings": POSTINGS,
            "seed": seed,
            "machine": machine(),
            **result,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{stamp}-trial-balance.json").write_text(json.dumps(report, indent=2) + "\n")
        (RESULTS / f"{stamp}-trial-balance.md").write_text(markdown(report))
        print(markdown(report))
        return 0
    finally:
        if not os.environ.get("BENCH_KEEP_DB"):
            admin_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    raise SystemExit(main())
