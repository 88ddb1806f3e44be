"""POST /gl/accounts and PATCH /gl/accounts/{id}: the chart's rules, audited."""

import uuid

import pytest

from tests.integration.api.journal_helpers import (
    act,
    audit_actions,
    draft,
    gl,
    ledger_counts,
    line,
    new_gl_account,
    posted,
)
from tests.integration.api.ledger_helpers import expect, gl_nodes, h, unique

pytestmark = pytest.mark.usefixtures("ledger_checked")


def find(tree: list[dict], gl_id: str, parent: dict | None = None):
    """(node, its parent node) in the tree."""
    for node in tree:
        if node["id"] == gl_id:
            return node, parent
        found = find(node["children"], gl_id, node)
        if found[0] is not None:
            return found
    return None, None


async def tree(api, tokens) -> list[dict]:
    body = expect(await api.get("/gl/accounts", headers=await h(tokens, "viewer")), 200)
    return body["gl_accounts"]


async def patch(api, tokens, gl_id, who="officer", **body):
    return await api.patch(f"/gl/accounts/{gl_id}", json=body, headers=await h(tokens, who))


async def test_create_a_leaf_and_a_header_and_see_them_in_the_tree(api, tokens, core_app):
    chart = await gl(api, tokens)
    header = await new_gl_account(api, tokens, "5000", "EXPENSE", is_header=True)
    assert (header["is_header"], header["allow_manual_entries"]) == (True, False)
    assert (header["currency_code"], header["balance"], header["role"]) == (
        "NGN",
        "0.00",
        "general",
    )
    assert header["parent_id"] == chart["5000"]["id"] and header["is_active"] is True
    leaf_body = {
        "code": unique("5X-"),
        "name": "  Staff training  ",
        "category": "EXPENSE",
        "parent_id": header["id"],
    }
    leaf = expect(
        await api.post("/gl/accounts", json=leaf_body, headers=await h(tokens, "officer")), 201
    )
    assert (leaf["name"], leaf["is_header"], leaf["allow_manual_entries"]) == (
        "Staff training",
        False,
        True,
    )
    node, parent = find(await tree(api, tokens), leaf["id"])
    assert node is not None and parent["id"] == header["id"]
    _header_node, grand = find(await tree(api, tokens), header["id"])
    assert grand["code"] == "5000"
    assert (
        expect(await api.get(f"/gl/accounts/{leaf['id']}", headers=await h(tokens, "viewer")), 200)
        == leaf
    )
    # Postings to the new leaf show in its balance and roll up into its headers.
    await posted(
        api,
        tokens,
        [line(leaf["id"], "75.00", "debit"), line(chart["2200"]["id"], "75.00", "credit")],
    )
    nodes = await gl_nodes(api, tokens)
    assert nodes[leaf["code"]]["balance"] == "75.00"
    assert nodes[header["code"]]["balance"] == "75.00"
    audit = await audit_actions(core_app, leaf["id"])
    assert [a for a, _b, _c in audit] == ["gl_account.created"]
    assert audit[0][2]["code"] == leaf_body["code"] and audit[0][1] is None
    # A root account of its own (no parent) is allowed too.
    root = expect(
        await api.post(
            "/gl/accounts",
            json={
                "code": unique("9R-"),
                "name": "Memorandum",
                "category": "ASSET",
                "is_header": True,
            },
            headers=await h(tokens, "officer"),
        ),
        201,
    )
    assert root["parent_id"] is None
    assert root["id"] in {n["id"] for n in await tree(api, tokens)}


async def test_create_refusals_change_nothing(api, tokens, core_app):
    chart = await gl(api, tokens)
    officer = await h(tokens, "officer")
    other_tree = expect(await api.get("/gl/accounts", headers=await h(tokens, "other_tenant")), 200)
    their_header = other_tree["gl_accounts"][0]["id"]
    good = {
        "code": unique("5Y-"),
        "name": "Good",
        "category": "EXPENSE",
        "parent_id": chart["5000"]["id"],
    }
    before = await ledger_counts(core_app)
    cases = [
        ({"code": "5200"}, 409, "DUPLICATE_RESOURCE"),
        ({"code": "1101-001"}, 409, "DUPLICATE_RESOURCE"),
        ({"parent_id": chart["5200"]["id"]}, 400, "VALIDATION_ERROR"),  # not a header
        ({"parent_id": chart["4000"]["id"]}, 400, "VALIDATION_ERROR"),  # another category
        ({"parent_id": str(uuid.uuid4())}, 404, "GL_ACCOUNT_NOT_FOUND"),
        ({"parent_id": "5000"}, 404, "GL_ACCOUNT_NOT_FOUND"),  # a code is not an ID
        ({"parent_id": their_header}, 404, "GL_ACCOUNT_NOT_FOUND"),
        ({"is_header": True, "allow_manual_entries": True}, 422, "HEADER_ACCOUNT_NOT_POSTABLE"),
        ({"currency_code": "XYZ"}, 400, "VALIDATION_ERROR"),
        ({"currency_code": "NAIRA"}, 400, "VALIDATION_ERROR"),
        ({"code": "has space"}, 400, "VALIDATION_ERROR"),
        ({"code": "-5"}, 400, "VALIDATION_ERROR"),
        ({"code": ""}, 400, "VALIDATION_ERROR"),
        ({"code": 5210}, 400, "VALIDATION_ERROR"),
        ({"code": "x" * 31}, 400, "VALIDATION_ERROR"),
        ({"name": "  "}, 400, "VALIDATION_ERROR"),
        ({"category": "ASSETS"}, 400, "VALIDATION_ERROR"),
        ({"category": "expense"}, 400, "VALIDATION_ERROR"),
        ({"is_header": "yes"}, 400, "VALIDATION_ERROR"),
        ({"allow_manual_entries": 1}, 400, "VALIDATION_ERROR"),
        ({"role": "control"}, 400, "VALIDATION_ERROR"),  # the system's, never the caller's
        ({"balance": "100.00"}, 400, "VALIDATION_ERROR"),
    ]
    for change, status, code in cases:
        expect(
            await api.post("/gl/accounts", json={**good, **change}, headers=officer), status, code
        )
    for missing in ("code", "name", "category"):
        body = {k: v for k, v in good.items() if k != missing}
        expect(await api.post("/gl/accounts", json=body, headers=officer), 400, "MISSING_FIELD")
    # Codes are compared without regard to case.
    lower = expect(
        await api.post(
            "/gl/accounts", json={**good, "code": good["code"].lower()}, headers=officer
        ),
        201,
    )
    before = await ledger_counts(core_app)
    expect(
        await api.post(
            "/gl/accounts", json={**good, "code": lower["code"].upper()}, headers=officer
        ),
        409,
        "DUPLICATE_RESOURCE",
    )
    teller = await api.post("/gl/accounts", json=good, headers=await h(tokens, "teller"))
    expect(teller, 403, "INSUFFICIENT_ROLE")
    assert await ledger_counts(core_app) == before


async def test_patch_renames_and_audits_before_and_after(api, tokens, core_app):
    account = await new_gl_account(api, tokens)
    renamed = expect(await patch(api, tokens, account["id"], name="Printing and stationery"), 200)
    assert renamed["name"] == "Printing and stationery" and renamed["code"] == account["code"]
    last = (await audit_actions(core_app, account["id"]))[-1]
    assert last[0] == "gl_account.updated"
    assert last[1]["name"] == account["name"] and last[2]["name"] == "Printing and stationery"
    # Sending the same values again changes nothing and records nothing.
    before = await ledger_counts(core_app)
    expect(
        await patch(
            api, tokens, account["id"], name="Printing and stationery", code=account["code"]
        ),
        200,
    )
    assert await ledger_counts(core_app) == before


async def test_patch_refusals_change_nothing(api, tokens, core_app):
    chart = await gl(api, tokens)
    used = await new_gl_account(api, tokens)
    await posted(
        api,
        tokens,
        [line(used["id"], "20.00", "debit"), line(chart["2200"]["id"], "20.00", "credit")],
    )
    header = await new_gl_account(api, tokens, is_header=True)
    child = await new_gl_account(api, tokens, "5000", "EXPENSE")
    expect(await patch(api, tokens, child["id"], parent_id=header["id"]), 200)
    before = await ledger_counts(core_app)
    cases = [
        (used, {"code": "5999"}, 400, "VALIDATION_ERROR"),
        (used, {"is_header": True}, 409, "INVALID_STATE"),
        (used, {"currency_code": "USD"}, 409, "INVALID_STATE"),
        (used, {"category": "ASSET", "parent_id": chart["1000"]["id"]}, 409, "INVALID_STATE"),
        (used, {"category": "ASSET"}, 400, "VALIDATION_ERROR"),  # its parent is an expense header
        (used, {"is_active": False}, 409, "INVALID_STATE"),  # it carries a balance
        (used, {"parent_id": chart["5200"]["id"]}, 400, "VALIDATION_ERROR"),
        (used, {"parent_id": str(uuid.uuid4())}, 404, "GL_ACCOUNT_NOT_FOUND"),
        (used, {"name": None}, 400, "VALIDATION_ERROR"),
        (used, {"is_active": "no"}, 400, "VALIDATION_ERROR"),
        (used, {"currency_code": "XYZ"}, 400, "VALIDATION_ERROR"),
        (header, {"is_header": False}, 409, "INVALID_STATE"),  # it has a sub-account
        (header, {"category": "ASSET", "parent_id": chart["1000"]["id"]}, 409, "INVALID_STATE"),
        (header, {"is_active": False}, 409, "INVALID_STATE"),  # an active sub-account
        (header, {"allow_manual_entries": True}, 422, "HEADER_ACCOUNT_NOT_POSTABLE"),
        (header, {"parent_id": header["id"]}, 400, "VALIDATION_ERROR"),  # itself
        (chart["2101"], {"allow_manual_entries": True}, 422, "MANUAL_ENTRY_NOT_ALLOWED"),
        (chart["1301-001"], {"allow_manual_entries": True}, 422, "MANUAL_ENTRY_NOT_ALLOWED"),
        (chart["2101"], {"is_active": False}, 409, "INVALID_STATE"),
        (chart["1101-001"], {"parent_id": chart["1300"]["id"]}, 409, "INVALID_STATE"),
        (
            chart["3200"],
            {"category": "LIABILITY", "parent_id": chart["2000"]["id"]},
            409,
            "INVALID_STATE",
        ),
        (chart["2100"], {"is_header": False}, 409, "INVALID_STATE"),
    ]
    for account, change, status, code in cases:
        response = await patch(api, tokens, account["id"], **change)
        assert (response.status_code, response.json().get("code")) == (status, code), (
            account["code"],
            change,
            response.text,
        )
    # A header cannot move under its own sub-tree.
    sub_header = await new_gl_account(api, tokens, "5000", "EXPENSE", is_header=True)
    expect(await patch(api, tokens, sub_header["id"], parent_id=header["id"]), 200)
    before = await ledger_counts(core_app)
    expect(
        await patch(api, tokens, header["id"], parent_id=sub_header["id"]), 400, "VALIDATION_ERROR"
    )
    for stranger in (str(uuid.uuid4()), "not-an-id"):
        expect(await patch(api, tokens, stranger, name="x"), 404, "GL_ACCOUNT_NOT_FOUND")
    expect(
        await patch(api, tokens, used["id"], who="other_tenant", name="x"),
        404,
        "GL_ACCOUNT_NOT_FOUND",
    )
    expect(await patch(api, tokens, used["id"], who="teller", name="x"), 403, "INSUFFICIENT_ROLE")
    assert await ledger_counts(core_app) == before
    node = expect(
        await api.get(f"/gl/accounts/{used['id']}", headers=await h(tokens, "viewer")), 200
    )
    assert (node["is_header"], node["currency_code"], node["category"], node["is_active"]) == (
        False,
        "NGN",
        "EXPENSE",
        True,
    )


async def test_patch_changes_an_unused_account_freely(api, tokens):
    chart = await gl(api, tokens)
    account = await new_gl_account(api, tokens)
    moved = expect(
        await patch(
            api,
            tokens,
            account["id"],
            category="REVENUE",
            parent_id=chart["4000"]["id"],
            currency_code="usd",
        ),
        200,
    )
    assert (moved["category"], moved["parent_id"], moved["currency_code"]) == (
        "REVENUE",
        chart["4000"]["id"],
        "USD",
    )
    made_header = expect(await patch(api, tokens, account["id"], is_header=True), 200)
    assert (made_header["is_header"], made_header["allow_manual_entries"]) == (True, False)
    back = expect(
        await patch(api, tokens, account["id"], is_header=False, allow_manual_entries=True), 200
    )
    assert (back["is_header"], back["allow_manual_entries"]) == (False, True)
    # To the root and back under a header.
    root = expect(await patch(api, tokens, account["id"], parent_id=None), 200)
    assert root["parent_id"] is None
    expect(await patch(api, tokens, account["id"], parent_id=chart["4000"]["id"]), 200)
    # Teller cash may be opened to manual journals (a cash count difference), then closed again.
    cash = chart["1101-001"]
    try:
        expect(await patch(api, tokens, cash["id"], allow_manual_entries=True), 200)
        expect(await patch(api, tokens, cash["id"], name=cash["name"]), 200)
    finally:
        expect(await patch(api, tokens, cash["id"], allow_manual_entries=False), 200)


async def test_deactivation_needs_a_zero_balance_and_no_journal_in_progress(api, tokens):
    chart = await gl(api, tokens)
    account = await new_gl_account(api, tokens)
    original = await posted(
        api,
        tokens,
        [line(account["id"], "8.00", "debit"), line(chart["2200"]["id"], "8.00", "credit")],
    )
    expect(await patch(api, tokens, account["id"], is_active=False), 409, "INVALID_STATE")
    expect(await act(api, tokens, original["id"], "reverse", "manager", reason="clear it"), 200)
    waiting = expect(
        await draft(
            api,
            tokens,
            [line(account["id"], "1.00", "debit"), line(chart["2200"]["id"], "1.00", "credit")],
        ),
        201,
    )
    expect(await patch(api, tokens, account["id"], is_active=False), 409, "INVALID_STATE")
    expect(await patch(api, tokens, account["id"], is_header=True), 409, "INVALID_STATE")
    expect(await act(api, tokens, waiting["id"], "reject", reason="tidy"), 200)
    inactive = expect(await patch(api, tokens, account["id"], is_active=False), 200)
    assert inactive["is_active"] is False and inactive["balance"] == "0.00"
    expect(
        await draft(
            api,
            tokens,
            [line(account["id"], "1.00", "debit"), line(chart["2200"]["id"], "1.00", "credit")],
        ),
        422,
        "ACCOUNT_NOT_ACTIVE",
    )
    # An inactive header takes no new sub-accounts.
    header = await new_gl_account(api, tokens, is_header=True)
    expect(await patch(api, tokens, header["id"], is_active=False), 200)
    refused = await api.post(
        "/gl/accounts",
        json={"code": unique("5Z-"), "name": "x", "category": "EXPENSE", "parent_id": header["id"]},
        headers=await h(tokens, "officer"),
    )
    expect(refused, 400, "VALIDATION_ERROR")
    expect(await patch(api, tokens, account["id"], is_active=True), 200)
