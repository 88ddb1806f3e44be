"""Fiscal periods: reading, creating a year or a period, and every refusal (api.md, ledger.md).

Writes happen in private tenants (tests.integration.api.private_tenant): the sandbox's
current-year periods stay as they are for the rest of the run.
"""

import uuid
from datetime import date

from tests.integration.api.ledger_helpers import expect, h
from tests.integration.api.private_tenant import make_tenant

ADMIN_VIEWER = ("admin", "viewer")


async def _all(api, headers, **params):
    found, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = expect(await api.get("/fiscal-periods", params=query, headers=headers), 200)
        found += body["fiscal_periods"]
        if not body["has_more"]:
            return found
        cursor = body["next_cursor"]


async def _business_date(api, headers) -> date:
    return date.fromisoformat(
        expect(await api.get("/tenant", headers=headers), 200)["business_date"]
    )


async def test_sandbox_has_this_years_periods_open_and_a_current_one(api, tokens):
    viewer = await h(tokens, "viewer")
    today = await _business_date(api, viewer)
    periods = await _all(api, viewer, fiscal_year=str(today.year))
    assert sorted(p["period_number"] for p in periods) == list(range(1, 14))
    assert {p["status"] for p in periods} == {"open"}
    current = expect(await api.get("/fiscal-periods/current", headers=viewer), 200)
    assert current["period_number"] == today.month
    assert current["start_date"] <= today.isoformat() <= current["end_date"]
    assert current["status"] == "open"
    one = expect(await api.get(f"/fiscal-periods/{current['id']}", headers=viewer), 200)
    assert one["trial_balance_snapshot"] is None  # open: nothing stored yet
    assert {k: v for k, v in one.items() if k != "trial_balance_snapshot"} == current


async def test_create_year_makes_thirteen_periods_and_refuses_it_twice(api, tokens, core_app):
    bank = await make_tenant(core_app, api, tokens, sign_in=ADMIN_VIEWER)
    created = expect(await api.post("/fiscal-periods/year/2019", headers=bank.h("admin")), 201)
    periods = created["fiscal_periods"]
    assert created["fiscal_year"] == 2019
    assert [p["period_number"] for p in periods] == list(range(1, 14))
    assert periods[0]["start_date"] == "2019-01-01" and periods[0]["end_date"] == "2019-01-31"
    assert periods[1]["end_date"] == "2019-02-28"
    assert periods[11]["start_date"] == "2019-12-01" and periods[11]["end_date"] == "2019-12-31"
    assert periods[12]["start_date"] == periods[12]["end_date"] == "2019-12-31"
    assert {p["status"] for p in periods} == {"open"}
    again = expect(
        await api.post("/fiscal-periods/year/2019", headers=bank.h("admin")),
        409,
        "DUPLICATE_RESOURCE",
    )
    assert again["details"][0]["field"] == "fiscal_year"
    listed = await _all(api, bank.h("viewer"), fiscal_year="2019")
    assert len(listed) == 13
    # newest first: within the year the highest period number first
    assert [p["period_number"] for p in listed] == list(range(13, 0, -1))


async def test_list_filters_and_pages_by_keyset(api, tokens, core_app):
    bank = await make_tenant(core_app, api, tokens, sign_in=ADMIN_VIEWER)
    for year in ("2017", "2018"):
        expect(await api.post(f"/fiscal-periods/year/{year}", headers=bank.h("admin")), 201)
    viewer = bank.h("viewer")
    first = expect(await api.get("/fiscal-periods", params={"limit": 5}, headers=viewer), 200)
    assert first["has_more"] and len(first["fiscal_periods"]) == 5
    assert [(p["fiscal_year"], p["period_number"]) for p in first["fiscal_periods"]] == [
        (2018, n) for n in (13, 12, 11, 10, 9)
    ]
    walked = await _all(api, viewer, limit="7")
    assert [(p["fiscal_year"], p["period_number"]) for p in walked] == [
        (y, n) for y in (2018, 2017) for n in range(13, 0, -1)
    ]
    assert len(await _all(api, viewer, status="open")) == 26
    assert await _all(api, viewer, status="closed") == []
    assert len(await _all(api, viewer, fiscal_year="2017")) == 13
    for params, field in (
        ({"status": "half-open"}, "status"),
        ({"fiscal_year": "17"}, "fiscal_year"),
        ({"fiscal_year": "abcd"}, "fiscal_year"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
    ):
        body = expect(
            await api.get("/fiscal-periods", params=params, headers=viewer), 400, "VALIDATION_ERROR"
        )
        assert body["details"][0]["field"] == field, body
    expect(
        await api.get("/fiscal-periods", params={"cursor": "not-ours"}, headers=viewer),
        400,
        "INVALID_FORMAT",
    )


async def test_one_period_is_404_when_missing_malformed_or_another_tenants(api, tokens, core_app):
    bank = await make_tenant(core_app, api, tokens, sign_in=ADMIN_VIEWER)
    created = expect(await api.post("/fiscal-periods/year/2016", headers=bank.h("admin")), 201)
    theirs = created["fiscal_periods"][0]["id"]
    ours = await h(tokens, "viewer")
    for period_id in (theirs, str(uuid.uuid4()), "not-a-uuid"):
        expect(await api.get(f"/fiscal-periods/{period_id}", headers=ours), 404, "PERIOD_NOT_FOUND")
    admin = await h(tokens, "admin")
    expect(
        await api.post(f"/fiscal-periods/{theirs}/close", headers=admin), 404, "PERIOD_NOT_FOUND"
    )
    got = expect(await api.get(f"/fiscal-periods/{theirs}", headers=bank.h("viewer")), 200)
    assert got["status"] == "open"


async def test_no_current_period_and_no_posting_without_periods(api, tokens, core_app):
    bank = await make_tenant(core_app, api, tokens, sign_in=("viewer", "teller", "manager"))
    expect(
        await api.get("/fiscal-periods/current", headers=bank.h("viewer")), 404, "PERIOD_NOT_FOUND"
    )
    account = await bank.open_account()
    refused = expect(await bank.deposit(account["id"], "10.00"), 422, "NO_OPEN_PERIOD")
    assert refused["details"][0]["field"] == "effective_date"


def _period(number: int, year: int, start: str, end: str, name: str | None = None) -> dict:
    return {
        "period_number": number,
        "period_name": name or f"P{number} {year}",
        "fiscal_year": year,
        "start_date": start,
        "end_date": end,
    }


async def test_create_one_period_and_overlap_and_duplicates_refused(api, tokens, core_app):
    bank = await make_tenant(core_app, api, tokens, sign_in=ADMIN_VIEWER)
    admin = bank.h("admin")
    made = expect(
        await api.post(
            "/fiscal-periods",
            json=_period(4, 2021, "2021-04-01", "2021-04-30", "April 2021"),
            headers=admin,
        ),
        201,
    )
    assert made["period_name"] == "April 2021" and made["status"] == "open"
    # a 1-12 period sharing a day with another 1-12 period, of any year, is refused
    overlap = expect(
        await api.post(
            "/fiscal-periods", json=_period(1, 2022, "2021-04-30", "2021-05-29"), headers=admin
        ),
        409,
        "DUPLICATE_RESOURCE",
    )
    assert overlap["details"][0]["value"] == "April 2021"
    assert overlap["details"][0]["period_id"] == made["id"]
    # the same number in the same year again
    expect(
        await api.post(
            "/fiscal-periods", json=_period(4, 2021, "2021-06-01", "2021-06-30"), headers=admin
        ),
        409,
        "DUPLICATE_RESOURCE",
    )
    # period 13 overlaps by design
    expect(
        await api.post(
            "/fiscal-periods", json=_period(13, 2021, "2021-04-30", "2021-04-30"), headers=admin
        ),
        201,
    )
    # a whole year over a period of that year is refused as an overlap
    expect(await api.post("/fiscal-periods/year/2021", headers=admin), 409, "DUPLICATE_RESOURCE")
    listed = await _all(api, bank.h("viewer"))
    assert sorted((p["fiscal_year"], p["period_number"]) for p in listed) == [
        (2021, 4),
        (2021, 13),
    ]


BAD_BODIES = [
    ({"period_number": 0}, "period_number"),
    ({"period_number": 14}, "period_number"),
    ({"period_number": "three"}, "period_number"),
    ({"period_name": ""}, "period_name"),
    ({"period_name": "x" * 41}, "period_name"),
    ({"fiscal_year": 1899}, "fiscal_year"),
    ({"start_date": "2023-02-30"}, "start_date"),
    ({"end_date": "01/03/2023"}, "end_date"),
    ({"end_date": "2023-02-28"}, "end_date"),  # before the start
    ({"end_date": "2024-06-30"}, "end_date"),  # longer than a year
    ({"start_date": "2030-01-01", "end_date": "2030-01-31"}, "start_date"),  # far from 2023
    ({"surprise": 1}, "surprise"),
    ({"period_number": None}, "period_number"),
]


async def test_bad_period_bodies_are_400_and_create_nothing(api, tokens, core_app):
    bank = await make_tenant(core_app, api, tokens, sign_in=ADMIN_VIEWER)
    for change, field in BAD_BODIES:
        body = {**_period(3, 2023, "2023-03-01", "2023-03-31"), **change}
        refused = expect(
            await api.post("/fiscal-periods", json=body, headers=bank.h("admin")),
            400,
            "VALIDATION_ERROR",
        )
        assert any(field in d["field"] for d in refused["details"]), (change, refused)
    assert await _all(api, bank.h("viewer")) == []


async def test_missing_fields_and_bad_years_in_paths(api, tokens, core_app):
    bank = await make_tenant(core_app, api, tokens, sign_in=ADMIN_VIEWER)
    admin = bank.h("admin")
    missing = await api.post("/fiscal-periods", json={}, headers=admin)
    assert missing.status_code == 400, missing.text
    fields = {d["field"] for d in missing.json()["details"]}
    assert {"period_number", "period_name", "fiscal_year", "start_date", "end_date"} <= {
        f.split(".")[-1] for f in fields
    }
    for year in ("19", "20190", "abcd", "1899", str(uuid.uuid4())):
        for path in (f"/fiscal-periods/year/{year}", f"/fiscal-periods/year/{year}/close"):
            body = expect(await api.post(path, headers=admin), 400, "VALIDATION_ERROR")
            assert body["details"][0]["field"] == "fiscal_year"
    expect(
        await api.post("/fiscal-periods/year/2015/close", headers=admin), 404, "PERIOD_NOT_FOUND"
    )
    assert await _all(api, bank.h("viewer")) == []
