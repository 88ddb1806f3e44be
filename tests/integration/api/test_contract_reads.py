"""The reads that let a client stop recomputing the core's rules (issue 12):
``GET /fiscal-periods/{id}/close-blockers`` (the very facts the close refuses on),
``GET /users/summary`` and ``staff_count`` on ``GET /branches``."""

import uuid
from datetime import date

from tests.integration.api.ledger_helpers import expect
from tests.integration.api.private_tenant import PrivateTenant, make_tenant


async def _blockers(bank: PrivateTenant, period_id: str, who: str = "viewer") -> dict:
    return expect(
        await bank.api.get(f"/fiscal-periods/{period_id}/close-blockers", headers=bank.h(who)),
        200,
    )


async def _close(bank: PrivateTenant, period_id: str):
    return await bank.api.post(f"/fiscal-periods/{period_id}/close", headers=bank.h("admin"))


async def _journal(bank: PrivateTenant, on: date) -> dict:
    chart = expect(await bank.api.get("/gl/accounts", headers=bank.h("viewer")), 200)
    codes: dict[str, str] = {}

    def walk(nodes: list[dict]) -> None:
        for node in nodes:
            codes[node["code"]] = node["id"]
            walk(node["children"])

    walk(chart["gl_accounts"])
    line = {"currency_code": "NGN", "amount": "7.50"}
    return expect(
        await bank.api.post(
            "/journals",
            json={
                "journal_type": "ACCRUAL",
                "description": "Accrued fee",
                "transaction_date": on.isoformat(),
                "effective_date": on.isoformat(),
                "entries": [
                    {**line, "account_id": codes["1400"], "entry_type": "debit"},
                    {**line, "account_id": codes["4200"], "entry_type": "credit"},
                ],
            },
            headers=bank.h("teller", key=True),
        ),
        201,
    )


async def test_close_blockers_list_exactly_what_the_close_refuses_on(api, tokens, core_app):
    bank = await make_tenant(core_app, api, tokens, teller_approval_limit=100_00)
    today = date.fromisoformat(
        expect(await api.get("/tenant", headers=bank.h("viewer")), 200)["business_date"]
    )
    year = expect(
        await api.post(f"/fiscal-periods/year/{today.year}", headers=bank.h("admin")), 201
    )
    periods = {p["period_number"]: p for p in year["fiscal_periods"]}
    month = periods[today.month]
    account = await bank.open_account()
    pending = expect(await bank.deposit(account["id"], "250.00"), 201)
    assert pending["status"] == "PENDING_APPROVAL"
    journal = await _journal(bank, today)

    read = await _blockers(bank, month["id"])
    refused = expect(await _close(bank, month["id"]), 422, "PERIOD_CLOSE_BLOCKED")
    # One rule: the read lists the refusal's items, kind for kind and id for id.
    assert [(b["kind"], b["id"]) for b in read["close_blockers"]] == [
        (d["field"], d["value"]) for d in refused["details"]
    ]
    assert read["blocker_count"] == refused["blocker_count"] == len(read["close_blockers"])
    assert read["period_id"] == month["id"] and read["can_close"] is False
    by_kind = {b["kind"]: b for b in read["close_blockers"] if b["kind"] != "earlier_period"}
    assert by_kind["journal"] == {
        "kind": "journal",
        "id": journal["id"],
        "reference": journal["journal_number"],
        "status": "PENDING",
        "description": "Accrued fee",
        "amount": "7.50",
        "currency": "NGN",
        "date": today.isoformat(),
    }
    assert by_kind["teller_transaction"] == {
        "kind": "teller_transaction",
        "id": pending["id"],
        "reference": pending["transaction_ref"],
        "status": "PENDING_APPROVAL",
        "description": None,
        "amount": "250.00",
        "currency": "NGN",
        "date": today.isoformat(),
    }
    earlier = [b for b in read["close_blockers"] if b["kind"] == "earlier_period"]
    assert [b["id"] for b in earlier] == [periods[n]["id"] for n in range(1, today.month)]
    assert {d["code"] for d in refused["details"]} <= {
        "earlier_period_open",
        "journal_pending",
        "teller_transaction_pending",
    }

    # Settle everything: the read says the close will go through, and it does.
    for number in range(1, today.month):
        expect(await _close(bank, periods[number]["id"]), 200)
    expect(
        await api.post(
            f"/transactions/{pending['id']}/reject",
            json={"reason": "customer left"},
            headers=bank.h("officer"),
        ),
        200,
    )
    expect(
        await api.post(
            f"/journals/{journal['id']}/reject",
            json={"reason": "duplicate"},
            headers=bank.h("officer"),
        ),
        200,
    )
    assert await _blockers(bank, month["id"]) == {
        "period_id": month["id"],
        "can_close": True,
        "blocker_count": 0,
        "close_blockers": [],
    }
    expect(await _close(bank, month["id"]), 200)
    closed = await _blockers(bank, month["id"])
    assert closed["can_close"] is False and closed["close_blockers"] == []


async def test_close_blockers_are_the_tenants_own(api, tokens, core_app):
    bank = await make_tenant(core_app, api, tokens, sign_in=("admin", "viewer"))
    other = await make_tenant(core_app, api, tokens, sign_in=("viewer",))
    periods = expect(await api.post("/fiscal-periods/year/2019", headers=bank.h("admin")), 201)
    third = next(p for p in periods["fiscal_periods"] if p["period_number"] == 3)
    assert (await _blockers(bank, third["id"]))["blocker_count"] == 2
    for period_id in (third["id"], str(uuid.uuid4()), "not-an-id"):
        response = await api.get(
            f"/fiscal-periods/{period_id}/close-blockers", headers=other.h("viewer")
        )
        expect(response, 404, "PERIOD_NOT_FOUND")
    anonymous = await api.get(
        f"/fiscal-periods/{third['id']}/close-blockers", headers={"X-Tenant-ID": bank.code}
    )
    assert anonymous.status_code == 401


async def test_users_summary_counts_the_tenants_staff(api, tokens, core_app):
    bank = await make_tenant(core_app, api, tokens)
    assert expect(await api.get("/users/summary", headers=bank.h("admin")), 200) == {
        "active": 5,
        "inactive": 0,
        "locked": 0,
        "total": 5,
    }
    expect(
        await api.patch(
            f"/users/{bank.users['viewer']}", json={"is_active": False}, headers=bank.h("admin")
        ),
        200,
    )
    from app.core.auth.models import StaffUser
    from app.db import utcnow

    async with core_app.state.services.db.session() as session:
        teller = await session.get(StaffUser, uuid.UUID(bank.users["teller"]))
        teller.locked_until = utcnow().replace(year=utcnow().year + 1)
        await session.commit()
    summary = expect(await api.get("/users/summary", headers=bank.h("admin")), 200)
    assert summary == {"active": 4, "inactive": 1, "locked": 1, "total": 5}
    listed = expect(await api.get("/users", headers=bank.h("admin")), 200)["users"]
    assert summary["total"] == len(listed)
    assert summary["active"] == sum(u["is_active"] for u in listed)
    for who in ("manager", "officer"):
        response = await api.get("/users/summary", headers=bank.h(who))
        expect(response, 403, "INSUFFICIENT_ROLE")


async def test_branches_carry_their_active_staff_count(api, tokens, core_app):
    bank = await make_tenant(core_app, api, tokens, extra_staff=(("teller2", "teller", "002"),))

    async def counts() -> dict[str, int]:
        body = expect(await api.get("/branches", headers=bank.h("teller")), 200)
        return {b["code"]: b["staff_count"] for b in body["branches"]}

    assert await counts() == {"001": 5, "002": 1}
    opened = expect(
        await api.post("/branches", json={"code": "003", "name": "Ikeja"}, headers=bank.h("admin")),
        201,
    )
    assert opened["staff_count"] == 0
    expect(
        await api.patch(
            f"/users/{bank.users['teller2']}", json={"branch_id": "003"}, headers=bank.h("admin")
        ),
        200,
    )
    expect(
        await api.patch(
            f"/users/{bank.users['viewer']}", json={"is_active": False}, headers=bank.h("admin")
        ),
        200,
    )
    assert await counts() == {"001": 4, "002": 0, "003": 1}
