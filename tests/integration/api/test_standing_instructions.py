"""Standing instructions and the daily job (ledger.md "Standing instructions", api.md).

Job runs happen in banks of the tests' own (``make_tenant``) so that the counts a run
reports are exactly the instructions the test made. Where a test needs an instruction
older than today (three failures on three business dates, a catch-up run), it moves
the instruction's start date back in the database — the state of an instruction made
days ago — because the API, rightly, refuses a start date in the past.
"""

import asyncio
import uuid
from datetime import date, timedelta

import sqlalchemy as sa

from tests.integration.api.ledger_helpers import expect, minor
from tests.integration.api.private_tenant import PrivateTenant, make_tenant

SYSTEM_EMAIL = "standing-instructions@system.branchdesk"
SYSTEM_ID = "00000000-0000-4000-8000-5714d1a90001"


async def _bank(core_app, api, tokens, **kw) -> tuple[PrivateTenant, date]:
    bank = await make_tenant(
        core_app, api, tokens, extra_staff=(("manager2", "manager", "002"),), **kw
    )
    today = date.fromisoformat(
        expect(await api.get("/tenant", headers=bank.h("viewer")), 200)["business_date"]
    )
    for year in {today.year, (today - timedelta(days=7)).year}:
        expect(await api.post(f"/fiscal-periods/year/{year}", headers=bank.h("admin")), 201)
    return bank, today


def _body(source, target, amount="100.00", frequency="DAILY", start=None, **extra):
    return {
        "source_account_id": source["id"],
        "destination_account_id": target["id"],
        "amount": amount,
        "currency": "NGN",
        "frequency": frequency,
        "start_date": (start or date.today()).isoformat(),
        "narration": "rent",
        **extra,
    }


async def _active(bank: PrivateTenant, body: dict, maker: str = "officer") -> dict:
    made = expect(
        await bank.api.post("/standing-instructions", json=body, headers=bank.h(maker)), 201
    )
    approved = expect(
        await bank.api.post(
            f"/standing-instructions/{made['id']}/approve", headers=bank.h("manager")
        ),
        200,
    )
    assert approved["status"] == "ACTIVE"
    return approved


async def _trigger(bank: PrivateTenant, on: date | None = None):
    body = {"business_date": on.isoformat()} if on else {}
    return await bank.api.post(
        "/jobs/standing-instructions/trigger", json=body, headers=bank.h("admin")
    )


async def _executions(bank: PrivateTenant, instruction_id: str) -> list[dict]:
    body = expect(
        await bank.api.get(
            f"/standing-instructions/{instruction_id}/executions", headers=bank.h("viewer")
        ),
        200,
    )
    return body["executions"]


async def _balance(bank: PrivateTenant, account_id: str) -> int:
    body = expect(await bank.api.get(f"/accounts/{account_id}", headers=bank.h("viewer")), 200)
    return minor(body["ledger_balance"])


async def _move_start_back(core_app, instruction_id: str, start: date) -> None:
    from app.core.standing.models import StandingInstruction

    db = core_app.state.services.db
    async with db.writer(), db.session() as session:
        await session.execute(
            sa.update(StandingInstruction)
            .where(StandingInstruction.id == uuid.UUID(instruction_id))  # type: ignore[arg-type]
            .values(start_date=start)
        )
        await session.commit()


async def test_create_approve_and_cancel(api, tokens, core_app):
    bank, today = await _bank(core_app, api, tokens)
    a, b = await bank.open_account(), await bank.open_account()
    made = expect(
        await api.post(
            "/standing-instructions",
            json=_body(
                a, b, "250.50", "MONTHLY", today, end_date=(today + timedelta(days=90)).isoformat()
            ),
            headers=bank.h("officer"),
        ),
        201,
    )
    assert made["status"] == "PENDING_APPROVAL"
    assert made["reference"].startswith("SI")
    assert (made["amount"], made["currency"], made["frequency"]) == ("250.50", "NGN", "MONTHLY")
    assert made["next_execution_date"] == today.isoformat()
    assert made["created_by"] == bank.users["officer"]
    # the maker cannot approve (a manager who made it neither), an officer cannot at all
    expect(
        await api.post(f"/standing-instructions/{made['id']}/approve", headers=bank.h("officer")),
        403,
        "INSUFFICIENT_ROLE",
    )
    own = expect(
        await api.post(
            "/standing-instructions", json=_body(b, a, start=today), headers=bank.h("manager")
        ),
        201,
    )
    expect(
        await api.post(f"/standing-instructions/{own['id']}/approve", headers=bank.h("manager")),
        403,
        "SELF_APPROVAL_FORBIDDEN",
    )
    approved = expect(
        await api.post(f"/standing-instructions/{made['id']}/approve", headers=bank.h("manager")),
        200,
    )
    assert approved["status"] == "ACTIVE"
    assert approved["approved_by_email"] == f"manager@{bank.code}.test"
    expect(
        await api.post(f"/standing-instructions/{made['id']}/approve", headers=bank.h("manager2")),
        409,
        "INVALID_STATE",
    )
    # the tenant may allow the same maker and checker
    expect(
        await api.put(
            "/tenant/settings", json={"allow_same_maker_checker": True}, headers=bank.h("admin")
        ),
        200,
    )
    expect(
        await api.post(f"/standing-instructions/{own['id']}/approve", headers=bank.h("manager")),
        200,
    )
    cancelled = expect(
        await api.post(
            f"/standing-instructions/{made['id']}/cancel",
            json={"reason": "lease ended"},
            headers=bank.h("officer"),
        ),
        200,
    )
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("CANCELLED", "lease ended")
    assert cancelled["next_execution_date"] is None
    expect(
        await api.post(f"/standing-instructions/{made['id']}/cancel", headers=bank.h("officer")),
        409,
        "INVALID_STATE",
    )
    got = expect(
        await api.get(f"/standing-instructions/{made['id']}", headers=bank.h("viewer")), 200
    )
    assert got == cancelled
    # nothing of a cancelled one runs
    job = expect(await _trigger(bank), 200)
    assert await _executions(bank, made["id"]) == []
    # only `own` ran (and failed: its source account is empty)
    assert (job["instructions_executed"], job["instructions_failed"]) == (0, 1)
    from app.core.audit.models import AuditLog

    db = core_app.state.services.db
    async with db.session() as session:
        actions = (
            (
                await session.execute(
                    sa.select(AuditLog.action).where(AuditLog.entity_id == made["id"])  # type: ignore[arg-type]
                )
            )
            .scalars()
            .all()
        )
    assert set(actions) >= {
        "standing_instruction.created",
        "standing_instruction.approved",
        "standing_instruction.cancelled",
    }


async def test_bad_input_is_refused_and_creates_nothing(api, tokens, core_app):
    bank, today = await _bank(core_app, api, tokens)
    a, b = await bank.open_account(), await bank.open_account()
    usd = await bank.open_account(product="DOM001", currency="USD")
    elsewhere = await bank.open_account(branch="002")
    yesterday = (today - timedelta(days=1)).isoformat()
    cases = [
        ({"amount": "1,000.00"}, 400, "amount"),
        ({"amount": "-5"}, 400, "amount"),
        ({"amount": "1.001"}, 400, "amount"),
        ({"amount": "0"}, 400, "amount"),
        ({"amount": 1e20}, 400, "amount"),
        ({"currency": "NG"}, 400, "currency"),
        ({"currency": "XYZ"}, 400, "currency"),
        ({"frequency": "HOURLY"}, 400, "frequency"),
        ({"start_date": yesterday}, 400, "start_date"),
        ({"start_date": "tomorrow"}, 400, "start_date"),
        ({"end_date": yesterday}, 400, "end_date"),
        ({"narration": ""}, 400, "narration"),
        ({"narration": "   "}, 400, "narration"),
        ({"surprise": True}, 400, "surprise"),
        ({"destination_account_id": a["id"]}, 422, "destination_account_id"),  # SAME_ACCOUNT
        ({"destination_account_id": str(uuid.uuid4())}, 404, "destination_account_id"),
        ({"source_account_id": "nope"}, 404, None),
        ({"destination_account_id": usd["id"]}, 422, "destination_account_id"),  # currency
    ]
    for change, status, field in cases:
        response = await api.post(
            "/standing-instructions",
            json={**_body(a, b, start=today), **change},
            headers=bank.h("officer"),
        )
        assert response.status_code == status, (change, response.text)
        if field:
            assert any(field in d["field"] for d in response.json()["details"]), (
                change,
                response.text,
            )
    missing = await api.post("/standing-instructions", json={}, headers=bank.h("officer"))
    assert missing.status_code == 400
    # an officer of branch 001 does not set up payments out of branch 002's accounts
    expect(
        await api.post(
            "/standing-instructions",
            json=_body(elsewhere, a, start=today),
            headers=bank.h("officer"),
        ),
        403,
        "BRANCH_SCOPE",
    )
    # another bank's account is not found
    other, _ = await _bank(core_app, api, tokens, sign_in=("manager", "viewer", "admin"))
    theirs = await other.open_account()
    expect(
        await api.post(
            "/standing-instructions", json=_body(a, theirs, start=today), headers=bank.h("officer")
        ),
        404,
        "ACCOUNT_NOT_FOUND",
    )
    listed = expect(await api.get("/standing-instructions", headers=bank.h("viewer")), 200)
    assert listed["standing_instructions"] == []
    for path in ("/standing-instructions/nope", f"/standing-instructions/{uuid.uuid4()}"):
        expect(await api.get(path, headers=bank.h("viewer")), 404, "RESOURCE_NOT_FOUND")
        expect(await api.get(f"{path}/executions", headers=bank.h("viewer")), 404)
        expect(await api.post(f"{path}/approve", headers=bank.h("manager")), 404)
        expect(await api.post(f"{path}/cancel", headers=bank.h("officer")), 404)
    for params in ({"status": "PAUSED"}, {"frequency": "YEARLY"}, {"cursor": "x"}, {"limit": "0"}):
        response = await api.get("/standing-instructions", params=params, headers=bank.h("viewer"))
        assert response.status_code == 400, (params, response.text)
    for body in (
        {"business_date": (today + timedelta(days=1)).isoformat()},
        {"business_date": "yesterday"},
        {"when": "now"},
    ):
        response = await api.post(
            "/jobs/standing-instructions/trigger", json=body, headers=bank.h("admin")
        )
        assert response.status_code == 400, (body, response.text)


async def test_the_job_runs_each_due_instruction_once_and_records_failures(
    api, tokens, core_app, ledger_checked
):
    bank, today = await _bank(core_app, api, tokens)
    a, b = await bank.open_account(), await bank.open_account()
    c = await bank.open_account(branch="002")
    empty, frozen = await bank.open_account(), await bank.open_account()
    expect(await bank.deposit(a["id"], "1000.00"), 201)
    expect(await bank.deposit(frozen["id"], "1000.00"), 201)
    expect(
        await api.post(
            f"/accounts/{frozen['id']}/freeze",
            json={"reason": "court order"},
            headers=bank.h("officer"),
        ),
        200,
    )
    internal = await _active(bank, _body(a, b, "100.00", "DAILY", today))
    inter = await _active(bank, _body(a, c, "50.00", "MONTHLY", today))
    broke = await _active(bank, _body(empty, b, "10.00", "WEEKLY", today))
    blocked = await _active(bank, _body(frozen, b, "10.00", "DAILY", today))
    later = await _active(bank, _body(a, b, "1.00", "DAILY", today + timedelta(days=1)))
    pending = expect(
        await api.post(
            "/standing-instructions",
            json=_body(a, b, "7.00", start=today),
            headers=bank.h("officer"),
        ),
        201,
    )
    before = {x["id"]: await _balance(bank, x["id"]) for x in (a, b, c, empty, frozen)}

    job = expect(await _trigger(bank), 200)
    assert job["job_type"] == "STANDING_INSTRUCTIONS" and job["status"] == "COMPLETED"
    assert (job["instructions_executed"], job["instructions_failed"]) == (2, 2)
    assert job["business_date"] == today.isoformat()
    assert job["started_at"] and job["completed_at"] and job["job_id"]
    assert await _balance(bank, a["id"]) == before[a["id"]] - 150_00
    assert await _balance(bank, b["id"]) == before[b["id"]] + 100_00
    assert await _balance(bank, c["id"]) == before[c["id"]] + 50_00
    assert await _balance(bank, frozen["id"]) == before[frozen["id"]]

    (done,) = await _executions(bank, internal["id"])
    assert (done["status"], done["business_date"], done["amount"]) == (
        "COMPLETED",
        today.isoformat(),
        "100.00",
    )
    assert done["job_id"] == job["job_id"]
    made = expect(
        await api.get(f"/transactions/{done['transaction_id']}", headers=bank.h("viewer")), 200
    )
    assert (made["type"], made["status"], made["amount"]) == ("TRANSFER", "COMPLETED", "100.00")
    assert (made["created_by"], made["created_by_email"]) == (SYSTEM_ID, SYSTEM_EMAIL)
    assert internal["reference"] in made["narration"]
    (crossed,) = await _executions(bank, inter["id"])
    across = expect(
        await api.get(f"/transactions/{crossed['transaction_id']}", headers=bank.h("viewer")), 200
    )
    assert across["type"] == "INTER_BRANCH_TRANSFER"
    (failed,) = await _executions(bank, broke["id"])
    assert (failed["status"], failed["failure_code"], failed["transaction_id"]) == (
        "FAILED",
        "INSUFFICIENT_FUNDS",
        None,
    )
    (refused,) = await _executions(bank, blocked["id"])
    assert refused["failure_code"] == "ACCOUNT_FROZEN"
    assert await _executions(bank, later["id"]) == []
    assert await _executions(bank, pending["id"]) == []
    state = expect(
        await api.get(f"/standing-instructions/{broke['id']}", headers=bank.h("viewer")), 200
    )
    assert (state["status"], state["consecutive_failures"]) == ("ACTIVE", 1)
    state = expect(
        await api.get(f"/standing-instructions/{internal['id']}", headers=bank.h("viewer")), 200
    )
    assert state["last_executed_on"] == today.isoformat()
    assert state["next_execution_date"] == (today + timedelta(days=1)).isoformat()

    # the same date again: nothing runs twice, failures included
    again = expect(await _trigger(bank, today), 200)
    assert (
        again["instructions_executed"],
        again["instructions_failed"],
        again["instructions_skipped"],
    ) == (0, 0, 4)
    assert again["job_id"] != job["job_id"]
    assert await _balance(bank, a["id"]) == before[a["id"]] - 150_00
    for instruction in (internal, inter, broke, blocked):
        assert len(await _executions(bank, instruction["id"])) == 1
    statement = expect(
        await api.get(f"/accounts/{a['id']}/transactions", headers=bank.h("viewer")), 200
    )
    debits = [t for t in statement["transactions"] if t["entry_type"] == "debit"]
    assert sorted(t["amount"] for t in debits) == ["100.00", "50.00"]

    from app.core.webhooks.models import OutboxEvent

    db = core_app.state.services.db
    async with db.session() as session:
        events = (
            (
                await session.execute(
                    sa.select(OutboxEvent).where(OutboxEvent.tenant_id == uuid.UUID(bank.id))
                )
            )
            .scalars()
            .all()
        )  # type: ignore[arg-type]
    types = [e.type for e in events]
    assert types.count("standing_instruction.executed") == 2
    assert types.count("standing_instruction.failed") == 2
    assert types.count("standing_instruction.approved") == 5
    assert types.count("transfer.completed") == 2


async def test_three_failures_in_a_row_suspend_and_a_success_resets(
    api, tokens, core_app, ledger_checked
):
    bank, today = await _bank(core_app, api, tokens)
    a, b = await bank.open_account(), await bank.open_account()
    daily = await _active(bank, _body(a, b, "40.00", "DAILY", today))
    await _move_start_back(core_app, daily["id"], today - timedelta(days=4))
    days = [today - timedelta(days=n) for n in (4, 3, 2, 1)]
    # day 1 fails, a deposit makes day 2 succeed, then days 3 and 4 and today fail
    assert expect(await _trigger(bank, days[0]), 200)["instructions_failed"] == 1
    expect(await bank.deposit(a["id"], "40.00"), 201)
    assert expect(await _trigger(bank, days[1]), 200)["instructions_executed"] == 1
    state = expect(
        await api.get(f"/standing-instructions/{daily['id']}", headers=bank.h("viewer")), 200
    )
    assert state["consecutive_failures"] == 0
    for day in (days[2], days[3]):
        assert expect(await _trigger(bank, day), 200)["instructions_failed"] == 1
    state = expect(
        await api.get(f"/standing-instructions/{daily['id']}", headers=bank.h("viewer")), 200
    )
    assert (state["status"], state["consecutive_failures"]) == ("ACTIVE", 2)
    assert expect(await _trigger(bank, today), 200)["instructions_failed"] == 1
    state = expect(
        await api.get(f"/standing-instructions/{daily['id']}", headers=bank.h("viewer")), 200
    )
    assert (state["status"], state["consecutive_failures"]) == ("SUSPENDED", 3)
    assert state["suspended_at"] is not None
    runs = await _executions(bank, daily["id"])
    assert [r["status"] for r in runs] == ["FAILED", "FAILED", "FAILED", "COMPLETED", "FAILED"]
    assert [r["business_date"] for r in runs] == [
        d.isoformat() for d in (today, days[3], days[2], days[1], days[0])
    ]
    # the catch-up transfer was dated on its own business date
    done = runs[3]
    made = expect(
        await api.get(f"/transactions/{done['transaction_id']}", headers=bank.h("viewer")), 200
    )
    assert made["business_date"] == days[1].isoformat()
    # suspended: the job leaves it alone, a cancel still stops it
    expect(await bank.deposit(a["id"], "100.00"), 201)
    listed = expect(
        await api.get(
            "/standing-instructions", params={"status": "SUSPENDED"}, headers=bank.h("viewer")
        ),
        200,
    )
    assert [s["id"] for s in listed["standing_instructions"]] == [daily["id"]]
    expect(
        await api.post(f"/standing-instructions/{daily['id']}/cancel", headers=bank.h("officer")),
        200,
    )


async def test_an_instruction_completes_after_its_end_date(api, tokens, core_app, ledger_checked):
    bank, today = await _bank(core_app, api, tokens)
    a, b = await bank.open_account(), await bank.open_account()
    expect(await bank.deposit(a["id"], "500.00"), 201)
    last_day = await _active(bank, _body(a, b, "5.00", "DAILY", today, end_date=today.isoformat()))
    ended = await _active(
        bank, _body(a, b, "5.00", "WEEKLY", today, end_date=(today + timedelta(days=3)).isoformat())
    )
    await _move_start_back(core_app, ended["id"], today - timedelta(days=10))
    from app.core.standing.models import StandingInstruction

    db = core_app.state.services.db
    async with db.writer(), db.session() as session:  # made ten days ago, ended yesterday
        await session.execute(
            sa.update(StandingInstruction)
            .where(StandingInstruction.id == uuid.UUID(ended["id"]))  # type: ignore[arg-type]
            .values(end_date=today - timedelta(days=1))
        )
        await session.commit()
    job = expect(await _trigger(bank), 200)
    assert job["instructions_executed"] == 1
    for instruction in (last_day, ended):
        state = expect(
            await api.get(f"/standing-instructions/{instruction['id']}", headers=bank.h("viewer")),
            200,
        )
        assert state["status"] == "COMPLETED" and state["completed_at"], state
    assert len(await _executions(bank, last_day["id"])) == 1
    assert await _executions(bank, ended["id"]) == []


async def test_concurrent_triggers_and_the_worker_execute_nothing_twice(
    api, tokens, core_app, ledger_checked
):
    from app.core.jobs.models import JobRun
    from app.core.jobs.standing import SYSTEM_USER_ID, run_for_tenant
    from app.core.tenants.models import Tenant

    bank, today = await _bank(core_app, api, tokens)
    sources = [await bank.open_account() for _ in range(4)]
    target = await bank.open_account()
    for source in sources:
        expect(await bank.deposit(source["id"], "100.00"), 201)
        await _active(bank, _body(source, target, "30.00", "DAILY", today))
    jobs = await asyncio.gather(*[_trigger(bank) for _ in range(3)])
    bodies = [expect(j, 200) for j in jobs]
    assert sum(b["instructions_executed"] for b in bodies) == 4
    assert sum(b["instructions_skipped"] for b in bodies) == 8
    assert await _balance(bank, target["id"]) == 4 * 30_00
    # the worker's schedule: it ran today already for this bank (the triggers did not
    # count: it keeps its own once-per-date record), and a second cycle does nothing
    db = core_app.state.services.db
    async with db.session() as session:
        tenant = await session.get(Tenant, uuid.UUID(bank.id))
    assert await run_for_tenant(db, tenant, today) is True
    assert await run_for_tenant(db, tenant, today) is False
    async with db.session() as session:
        runs = (
            (await session.execute(sa.select(JobRun).where(JobRun.tenant_id == uuid.UUID(bank.id))))
            .scalars()
            .all()
        )  # type: ignore[arg-type]
    by_system = [r for r in runs if r.triggered_by == SYSTEM_USER_ID]
    assert len(runs) == 4 and len(by_system) == 1
    assert (by_system[0].instructions_executed, by_system[0].instructions_skipped) == (0, 4)
    assert await _balance(bank, target["id"]) == 4 * 30_00


async def test_no_run_into_a_closed_period(api, tokens, core_app, ledger_checked):
    bank, today = await _bank(core_app, api, tokens)
    a, b = await bank.open_account(), await bank.open_account()
    expect(await bank.deposit(a["id"], "100.00"), 201)
    daily = await _active(bank, _body(a, b, "10.00", "DAILY", today))
    listed = expect(
        await api.get(
            "/fiscal-periods",
            params={"fiscal_year": str(today.year), "limit": 20},
            headers=bank.h("viewer"),
        ),
        200,
    )
    for period in sorted(listed["fiscal_periods"], key=lambda p: p["period_number"]):
        if period["period_number"] <= today.month:
            expect(
                await api.post(f"/fiscal-periods/{period['id']}/close", headers=bank.h("admin")),
                200,
            )
    refused = expect(await _trigger(bank), 422, "PERIOD_CLOSED")
    assert refused["details"][0]["value"] == today.isoformat()
    assert await _executions(bank, daily["id"]) == []
    assert await _balance(bank, a["id"]) == 100_00


async def test_list_filters_and_pages(api, tokens, core_app):
    bank, today = await _bank(
        core_app, api, tokens, sign_in=("officer", "manager", "viewer", "admin")
    )
    a, b, c = [await bank.open_account() for _ in range(3)]
    made = []
    for source, target, frequency in (
        (a, b, "DAILY"),
        (b, c, "WEEKLY"),
        (c, a, "MONTHLY"),
        (a, c, "DAILY"),
    ):
        made.append(
            expect(
                await api.post(
                    "/standing-instructions",
                    json=_body(source, target, "1.00", frequency, today),
                    headers=bank.h("officer"),
                ),
                201,
            )
        )
    expect(
        await api.post(
            f"/standing-instructions/{made[0]['id']}/approve", headers=bank.h("manager")
        ),
        200,
    )
    viewer = bank.h("viewer")

    async def ids(**params) -> list[str]:
        found, cursor = [], None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            body = expect(
                await api.get("/standing-instructions", params=query, headers=viewer), 200
            )
            found += [s["id"] for s in body["standing_instructions"]]
            if not body["has_more"]:
                return found
            cursor = body["next_cursor"]

    newest_first = [m["id"] for m in reversed(made)]
    assert await ids() == newest_first
    assert await ids(limit="1") == newest_first
    assert await ids(status="active") == [made[0]["id"]]
    assert await ids(status="PENDING_APPROVAL") == newest_first[:3]
    assert await ids(frequency="daily") == [made[3]["id"], made[0]["id"]]
    assert await ids(account_id=c["id"]) == [made[3]["id"], made[2]["id"], made[1]["id"]]
    assert await ids(created_by=bank.users["officer"]) == newest_first
    assert await ids(created_by=bank.users["manager"]) == []
    expect(
        await api.get(
            f"/standing-instructions/{made[0]['id']}/executions",
            params={"status": "LATE"},
            headers=viewer,
        ),
        400,
        "VALIDATION_ERROR",
    )
    for body in ({"reason": 5}, {"reason": "x" * 501}, {"why": "no"}):
        response = await api.post(
            f"/standing-instructions/{made[1]['id']}/cancel", json=body, headers=bank.h("officer")
        )
        assert response.status_code == 400, (body, response.text)
    state = expect(await api.get(f"/standing-instructions/{made[1]['id']}", headers=viewer), 200)
    assert state["status"] == "PENDING_APPROVAL"
