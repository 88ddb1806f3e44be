"""Set-based bulk loads for the scale benchmarks (trial balance, statements, lookups).

The rows go straight into PostgreSQL with ``INSERT … SELECT generate_series`` while the
tables' secondary indexes are dropped (and built again afterwards) and foreign-key
triggers are off (``session_replication_role = replica``); each step is timed. The
synthetic rows point at one posted journal and the sandbox's GL leaves.
"""

import statistics
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

from bench.transfers import psql_url

# Posting k of a run: pair k / 2, its debit (k even) then its credit, dated so that IDs
# grow with the date (as a ledger grows day by day). Both legs land on the general GL
# leaves at two branches (the trial-balance load).
POSTINGS_SQL = """
WITH gl AS (
  SELECT array_agg(g.id ORDER BY g.code) AS ids, count(*) AS n
  FROM gl_accounts g JOIN tenants t ON t.id = g.tenant_id
  WHERE t.code = 'demo_bank' AND NOT g.is_header AND g.role IN ('general', 'retained_earnings')
)
INSERT INTO postings (tenant_id, journal_id, gl_account_id, branch_code, side, amount,
                      currency, effective_date, description, posted_at)
SELECT j.tenant_id, j.id,
       CASE WHEN k % 2 = 0 THEN gl.ids[1 + ((k / 2) * 7) % gl.n]
            ELSE gl.ids[1 + ((k / 2) * 13 + 1) % gl.n] END,
       CASE WHEN (k / 2) % 3 = 0 THEN '002' ELSE '001' END,
       CASE WHEN k % 2 = 0 THEN 'D' ELSE 'C' END,
       100 + ((k / 2) % 100000) * 37, 'NGN',
       DATE '{start}' + least((((k - {first}) * {days}) / {count})::int, {days} - 1),
       NULL, now()
FROM journals j, gl, generate_series({first}::bigint, {first} + {count} - 1) AS k
WHERE j.id = '{journal}'::uuid;
"""

JOURNAL_SQL = """
INSERT INTO journals (id, tenant_id, journal_number, journal_type, status, description,
                      transaction_date, effective_date, created_by, created_by_email,
                      created_at, posted_at)
SELECT '{journal}'::uuid, t.id, 'JVBENCH{stamp}', 'GENERAL', 'POSTED',
       'P6 benchmark postings', CURRENT_DATE, CURRENT_DATE, '{journal}'::uuid,
       'bench@system', now(), now()
FROM tenants t WHERE t.code = 'demo_bank';
"""


def psql(database: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", psql_url(database), "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def timed_psql(database: str, sql: str) -> float:
    began = time.perf_counter()
    psql(database, sql)
    return round(time.perf_counter() - began, 1)


def insert_postings(journal: uuid.UUID, first: int, count: int, start: date, days: int) -> str:
    """Postings ``first`` … ``first + count - 1`` (an even count: whole pairs)."""
    return POSTINGS_SQL.format(
        journal=journal, first=first, count=count, start=start.isoformat(), days=days
    )


def insert_journal(database: str) -> uuid.UUID:
    """The one posted journal every synthetic posting belongs to."""
    journal = uuid.uuid4()
    psql(database, JOURNAL_SQL.format(journal=journal, stamp=uuid.uuid4().hex[:8].upper()))
    return journal


def bulk_load(database: str, tables: Sequence[str], loads: dict[str, str]) -> dict[str, Any]:
    """Run each of ``loads`` (name → SQL) with the tables' plain secondary indexes dropped.

    Indexes that back a constraint (primary keys, unique constraints) stay. Returns the
    seconds of each load, of each index build and of ``VACUUM ANALYZE``.
    """
    steps: dict[str, Any] = {}
    names = ", ".join(f"'{t}'" for t in tables)
    indexes = psql(
        database,
        "SELECT i.indexname || '|' || i.indexdef FROM pg_indexes i "
        f"WHERE i.tablename IN ({names}) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conname = i.indexname) ORDER BY i.tablename, i.indexname",
    ).splitlines()
    for line in indexes:
        psql(database, f"DROP INDEX {line.split('|', 1)[0]}")
    for name, sql in loads.items():
        steps[f"{name}_s"] = timed_psql(database, "SET session_replication_role = replica; " + sql)
    steps["indexes_s"] = {}
    for line in indexes:
        name, definition = line.split("|", 1)
        steps["indexes_s"][name] = timed_psql(
            database, f"SET maintenance_work_mem = '1GB'; {definition}"
        )
    steps["vacuum_analyze_s"] = timed_psql(database, "VACUUM ANALYZE " + ", ".join(tables))
    return steps


def seed_postings(database: str, today: date, postings: int) -> dict[str, Any]:
    """The trial-balance load: ``postings`` GL postings from 1 January to ``today``."""
    start = date(today.year, 1, 1)
    days = max((today - start).days + 1, 1)
    began = time.perf_counter()
    journal = insert_journal(database)
    steps = bulk_load(
        database,
        ["postings"],
        {"insert": insert_postings(journal, 0, postings - postings % 2, start, days)},
    )
    steps["total_s"] = round(time.perf_counter() - began, 1)
    steps["journal"] = str(journal)
    steps["size"] = psql(database, "SELECT pg_size_pretty(pg_total_relation_size('postings'))")
    return steps


def percentiles(times: list[float]) -> dict[str, Any]:
    times = sorted(times)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {
        "n": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(times[-1], 1),
    }


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> tuple[dict[str, Any], Any]:
    """One warm-up call, then ``repeat`` timed ones; the percentiles and the last result."""
    result = await call()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = await call()
        times.append((time.perf_counter() - began) * 1000)
    return percentiles(times), result


# ---- customers, accounts and their postings (the statement and lookup load) -----------

# The account number's check digit, as app.core.ledger.numbers.luhn_check_digit computes it.
LUHN_SQL = """
CREATE OR REPLACE FUNCTION bench_luhn(base text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT base || ((10 - sum(CASE WHEN i % 2 = 0
                                 THEN (substr(r, i + 1, 1)::int * 2) % 10
                                      + (substr(r, i + 1, 1)::int * 2) / 10
                                 ELSE substr(r, i + 1, 1)::int END) % 10) % 10)::text
  FROM (SELECT reverse(base) AS r) x, generate_series(0, length(base) - 1) AS i
$$;
"""

SEQUENCE_SQL = """
SELECT coalesce((SELECT s.next_value FROM number_sequences s JOIN tenants t
                 ON t.id = s.tenant_id WHERE t.code = 'demo_bank' AND s.name = '{name}'), 1)
"""

RESERVE_SQL = """
INSERT INTO number_sequences (tenant_id, name, next_value)
SELECT id, '{name}', {next} FROM tenants WHERE code = 'demo_bank'
ON CONFLICT (tenant_id, name) DO UPDATE SET next_value = excluded.next_value;
"""

CUSTOMERS_SQL = """
INSERT INTO customers (id, tenant_id, customer_number, customer_type, first_name, last_name,
                       display_name, search_name, phone, branch_code, created_by, created_at)
SELECT md5('bench-customer-' || c)::uuid, t.id, 'CUS' || lpad(({first} + c)::text, 7, '0'),
       'INDIVIDUAL', 'Bench', 'Customer ' || c, 'Bench Customer ' || c,
       'bench customer ' || c, '+2347' || lpad(c::text, 9, '0'), '001', u.id, now()
FROM tenants t JOIN staff_users u ON u.tenant_id = t.id AND u.email = 'teller@demo.bank',
     generate_series(0, {count} - 1) AS c
WHERE t.code = 'demo_bank';
"""

# Account i: customer i / 2; the busy ones are 0 … busy - 1. Its balance is its postings'
# (each the same amount, see STATEMENT_POSTINGS_SQL), counted in closed form.
ACCOUNTS_SQL = """
INSERT INTO accounts (id, tenant_id, account_number, customer_id, product_code, account_type,
                      currency, branch_code, alias, status, control_gl_account_id,
                      ledger_balance, hold_amount, overdraft_limit, daily_withdrawal_limit,
                      opened_by, created_at, updated_at)
SELECT md5('bench-account-' || i)::uuid, t.id, bench_luhn(lpad(({first} + i)::text, 9, '0')),
       md5('bench-customer-' || (i / 2))::uuid, p.code, p.account_type, 'NGN', '001',
       CASE WHEN i < {busy} THEN 'busy ' || i END, 'ACTIVE', p.control_gl_account_id,
       (1000 + (i % 1000) * 100) * CASE
         WHEN i < {busy} THEN ({busy_pairs} - 1 - i) / {busy} + 1
         WHEN i - {busy} < {spread_pairs} THEN ({spread_pairs} - 1 - (i - {busy})) / {spread} + 1
         ELSE 0 END,
       0, 0, p.daily_withdrawal_limit, u.id, now(), now()
FROM tenants t JOIN products p ON p.tenant_id = t.id AND p.code = 'SAV001'
     JOIN staff_users u ON u.tenant_id = t.id AND u.email = 'teller@demo.bank',
     generate_series(0, {count} - 1) AS i
WHERE t.code = 'demo_bank';
"""

# Posting q: pair k = q / 2, a cash deposit: Dr teller cash 001 (q even), Cr the account
# (q odd, with its running balance). Every d-th pair goes to the busy accounts in turn,
# the others round-robin over the rest, so a busy account's postings are spread over the
# whole table as a real busy account's are; IDs grow with the date.
STATEMENT_POSTINGS_SQL = """
INSERT INTO postings (tenant_id, journal_id, gl_account_id, account_id, branch_code, side,
                      amount, currency, balance_after, effective_date, description, posted_at)
SELECT j.tenant_id, j.id,
       CASE WHEN q % 2 = 0 THEN cash.id ELSE p.control_gl_account_id END,
       CASE WHEN q % 2 = 1 THEN md5('bench-account-' || x.account)::uuid END,
       '001', CASE WHEN q % 2 = 0 THEN 'D' ELSE 'C' END,
       1000 + (x.account % 1000) * 100, 'NGN',
       CASE WHEN q % 2 = 1 THEN (1000 + (x.account % 1000) * 100) * (x.nth + 1) END,
       DATE '{start}' + least(((q * {days}) / {postings})::int, {days} - 1),
       'Cash deposit', now()
FROM journals j
     JOIN gl_accounts cash ON cash.tenant_id = j.tenant_id AND cash.code = '{cash_code}'
     JOIN products p ON p.tenant_id = j.tenant_id AND p.code = 'SAV001',
     generate_series(0::bigint, {postings} - 1) AS q,
     LATERAL (SELECT CASE WHEN (q / 2) % {d} = {d} - 1 THEN ((q / 2) / {d}) % {busy}
                          ELSE {busy} + ((q / 2) - (q / 2) / {d}) % {spread} END AS account,
                     CASE WHEN (q / 2) % {d} = {d} - 1 THEN ((q / 2) / {d}) / {busy}
                          ELSE ((q / 2) - (q / 2) / {d}) / {spread} END AS nth) AS x
WHERE j.id = '{journal}'::uuid;
"""


def account_number(first: int, i: int) -> str:
    """The number seeded for account ``i`` (``first`` is the sequence's value before)."""
    from app.core.ledger.numbers import luhn_check_digit

    base = f"{first + i:09d}"
    return base + luhn_check_digit(base)


def seed_accounts(
    database: str, today: date, *, accounts: int, postings: int, busy: int, busy_postings: int
) -> dict[str, Any]:
    """``accounts`` customer accounts (two per customer) and ``postings`` postings.

    Half the postings are the credits of cash deposits on the accounts, with their running
    balance; ``busy`` accounts get about ``busy_postings`` each, the others share the rest
    evenly. Returns the seconds of each step and what a reader needs to find the rows.
    """
    from app.core.ledger.chart import teller_cash_code

    assert accounts > busy >= 1, "at least one busy account and one other"
    pairs = postings // 2
    d = max(2, pairs // (busy * busy_postings))
    busy_pairs = pairs // d
    spread_pairs = pairs - busy_pairs
    start = date(today.year, 1, 1)
    days = max((today - start).days + 1, 1)
    customers = (accounts + 1) // 2
    began = time.perf_counter()
    journal = insert_journal(database)
    first_account = int(psql(database, SEQUENCE_SQL.format(name="account_number")))
    first_customer = int(psql(database, SEQUENCE_SQL.format(name="customer_number")))
    psql(database, RESERVE_SQL.format(name="account_number", next=first_account + accounts))
    psql(database, RESERVE_SQL.format(name="customer_number", next=first_customer + customers))
    psql(database, LUHN_SQL)
    shape = {"busy": busy, "spread": accounts - busy, "d": d}
    steps = bulk_load(
        database,
        ["customers", "accounts", "postings"],
        {
            "customers": CUSTOMERS_SQL.format(first=first_customer, count=customers),
            "accounts": ACCOUNTS_SQL.format(
                first=first_account,
                count=accounts,
                busy_pairs=busy_pairs,
                spread_pairs=spread_pairs,
                **shape,
            ),
            "postings": STATEMENT_POSTINGS_SQL.format(
                journal=journal,
                postings=2 * pairs,
                start=start.isoformat(),
                days=days,
                cash_code=teller_cash_code("001"),
                **shape,
            ),
        },
    )
    psql(database, "DROP FUNCTION bench_luhn(text)")
    steps["total_s"] = round(time.perf_counter() - began, 1)
    steps["sizes"] = {
        table: psql(database, f"SELECT pg_size_pretty(pg_total_relation_size('{table}'))")
        for table in ("customers", "accounts", "postings")
    }
    steps.update(
        journal=str(journal),
        first_account=first_account,
        customers=customers,
        every_nth_pair_busy=d,
        busy_account_postings=[(busy_pairs - 1 - b) // busy + 1 for b in range(busy)],
        other_account_postings=spread_pairs // (accounts - busy),
    )
    return steps
