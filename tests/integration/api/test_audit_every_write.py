"""S10: every write of the role matrix leaves an audit record, found by its request ID.

``RECIPES`` maps each write route of ``role_matrix.API_MATRIX`` (POST, PUT, PATCH,
DELETE) to a recipe that performs it successfully and the audit action it must leave.
A write route in the matrix without a recipe fails ``test_every_write_route_has_a_recipe``
(and a recipe whose route is gone fails it too).

Adding one: write ``async def _(w: Write) -> httpx.Response``, do any set-up with the
ordinary helpers (their records carry other request IDs), make the one call under test
through ``w.send(...)`` (it carries the tracked ``X-Request-ID``), and decorate it with
``@recipe(METHOD, "/path/{as:str}/in/the/matrix", "expected.action")``.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.core.webhooks.delivery import WebhookDispatcher
from app.db import Database
from tests.integration.api.ledger_helpers import (
    APPROVAL_LIMIT,
    deposit,
    expect,
    h,
    make_customer,
    open_account,
    unique,
)
from tests.integration.api.role_matrix import API_MATRIX
from tests.support import SANDBOX_PASSWORD, TENANT, TokenCache, headers

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
QUIET_URL = "http://127.0.0.1:9/hooks"  # nothing listens: deliveries fail fast


@dataclass
class Write:
    """What a recipe gets: the API, sign-ins, the database, and the tracked request ID."""

    api: httpx.AsyncClient
    tokens: TokenCache
    db: Database
    request_id: str = field(default_factory=lambda: f"s10-{uuid.uuid4().hex}")
    cleanups: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    async def send(
        self,
        method: str,
        path: str,
        who: str | None = "admin",
        json: Any = None,
        *,
        key: bool = False,
        token: str | None = None,
    ) -> httpx.Response:
        """The call under test, under the tracked request ID."""
        if token is not None or who is None:
            sent = headers(token, TENANT)
        else:
            sent = await h(self.tokens, who, key=key)
        sent["X-Request-ID"] = self.request_id
        if method in {"POST", "PUT", "PATCH"}:
            return await self.api.request(method, path, json=json or {}, headers=sent)
        return await self.api.request(method, path, headers=sent)

    async def login(self, email: str = "viewer@demo.bank") -> dict[str, Any]:
        return await self.tokens.login(email, TENANT, SANDBOX_PASSWORD)


Recipe = Callable[[Write], Awaitable[httpx.Response]]
RECIPES: dict[tuple[str, str], tuple[str, Recipe]] = {}


def recipe(method: str, path: str, action: str) -> Callable[[Recipe], Recipe]:
    def register(run: Recipe) -> Recipe:
        assert (method, path) not in RECIPES, f"two recipes for {method} {path}"
        RECIPES[(method, path)] = (action, run)
        return run

    return register


# -- set-up helpers -----------------------------------------------------------------------


async def new_user(w: Write) -> dict[str, Any]:
    body = {
        "email": f"s10-{unique()}@demo.bank",
        "name": "Audit Coverage",
        "password": "Correct-Horse-42",
        "roles": ["viewer"],
        "branch_id": "001",
    }
    return expect(await w.api.post("/users", json=body, headers=await h(w.tokens, "admin")), 201)


async def new_api_key(w: Write) -> dict[str, Any]:
    body = {"name": f"s10-{unique()}", "role": "viewer"}
    return expect(await w.api.post("/api-keys", json=body, headers=await h(w.tokens, "admin")), 201)


async def funded_account(w: Write, branch: str = "001") -> dict[str, Any]:
    return await open_account(w.api, w.tokens, branch=branch, initial_deposit="5000.00")


async def pending_deposit(w: Write) -> dict[str, Any]:
    account = await open_account(w.api, w.tokens)
    above = f"{int(APPROVAL_LIMIT.split('.')[0]) + 1}.00"
    made = expect(await deposit(w.api, w.tokens, account["id"], above), 201)
    assert made["status"] == "PENDING_APPROVAL"
    return made


def transfer_body(source: str, destination: str, amount: str = "10.00") -> dict[str, Any]:
    return {
        "source_account_id": source,
        "destination_account_id": destination,
        "amount": amount,
        "currency": "NGN",
        "narration": "audit coverage",
    }


async def new_webhook(w: Write, events: list[str] | None = None) -> dict[str, Any]:
    body = {"name": f"s10-{unique()}", "url": QUIET_URL, "events": events or ["account.opened"]}
    return expect(await w.api.post("/webhooks", json=body, headers=await h(w.tokens, "admin")), 201)


# -- auth -------------------------------------------------------------------------------


@recipe("POST", "/auth/login", "auth.login")
async def _login(w: Write) -> httpx.Response:
    return await w.send(
        "POST", "/auth/login", None, {"email": "viewer@demo.bank", "password": SANDBOX_PASSWORD}
    )


@recipe("POST", "/auth/token", "auth.api_key_token")
async def _api_key_token(w: Write) -> httpx.Response:
    key = await new_api_key(w)
    return await w.send("POST", "/auth/token", None, {"api_key": key["api_key"]})


@recipe("POST", "/auth/refresh", "auth.refreshed")
async def _refresh(w: Write) -> httpx.Response:
    pair = await w.login()
    return await w.send("POST", "/auth/refresh", None, {"refresh_token": pair["refresh_token"]})


@recipe("POST", "/auth/logout", "auth.logout")
async def _logout(w: Write) -> httpx.Response:
    pair = await w.login()
    return await w.send("POST", "/auth/logout", token=pair["access_token"])


# -- tenant, branches, staff, API keys ------------------------------------------------------


@recipe("PUT", "/tenant/settings", "tenant.settings_updated")
async def _tenant_settings(w: Write) -> httpx.Response:
    admin = await h(w.tokens, "admin")
    current = (await w.api.get("/tenant", headers=admin)).json()["settings"]
    flipped = not current["allow_same_maker_checker"]

    async def restore() -> None:
        restored = {"allow_same_maker_checker": current["allow_same_maker_checker"]}
        expect(await w.api.put("/tenant/settings", json=restored, headers=admin), 200)

    w.cleanups.append(restore)
    return await w.send("PUT", "/tenant/settings", "admin", {"allow_same_maker_checker": flipped})


@recipe("POST", "/branches", "branch.created")
async def _branch(w: Write) -> httpx.Response:
    code = "S" + uuid.uuid4().hex[:7].upper()
    return await w.send("POST", "/branches", "admin", {"code": code, "name": f"Branch {code}"})


@recipe("POST", "/users", "user.created")
async def _user(w: Write) -> httpx.Response:
    body = {
        "email": f"s10-{unique()}@demo.bank",
        "name": "Audit Coverage",
        "password": "Correct-Horse-42",
        "roles": ["viewer"],
        "branch_id": "001",
    }
    return await w.send("POST", "/users", "admin", body)


@recipe("PATCH", "/users/{user_id:str}", "user.updated")
async def _user_update(w: Write) -> httpx.Response:
    user = await new_user(w)
    return await w.send("PATCH", f"/users/{user['id']}", "admin", {"name": "Renamed Person"})


@recipe("POST", "/users/{user_id:str}/unlock", "user.unlocked")
async def _user_unlock(w: Write) -> httpx.Response:
    user = await new_user(w)
    return await w.send("POST", f"/users/{user['id']}/unlock", "admin")


@recipe("POST", "/users/{user_id:str}/revoke-sessions", "user.sessions_revoked")
async def _user_revoke(w: Write) -> httpx.Response:
    user = await new_user(w)
    return await w.send("POST", f"/users/{user['id']}/revoke-sessions", "admin")


@recipe("POST", "/api-keys", "api_key.created")
async def _api_key(w: Write) -> httpx.Response:
    return await w.send("POST", "/api-keys", "admin", {"name": f"s10-{unique()}", "role": "viewer"})


@recipe("DELETE", "/api-keys/{key_id:str}", "api_key.revoked")
async def _api_key_revoke(w: Write) -> httpx.Response:
    key = await new_api_key(w)
    return await w.send("DELETE", f"/api-keys/{key['id']}", "admin")


# -- customers and accounts -------------------------------------------------------------------


@recipe("POST", "/customers", "customer.created")
async def _customer(w: Write) -> httpx.Response:
    tag = unique()
    body = {
        "customer_type": "INDIVIDUAL",
        "first_name": "Audit",
        "last_name": f"Coverage{tag}",
        "email": f"{tag}@s10.test",
        "phone": f"+234{int(tag, 16) % 10**10:010d}",
    }
    return await w.send("POST", "/customers", "officer", body)


@recipe("POST", "/accounts", "account.opened")
async def _account(w: Write) -> httpx.Response:
    customer = await make_customer(w.api, w.tokens)
    body = {
        "customer_id": customer["id"],
        "account_type": "SAVINGS",
        "currency": "NGN",
        "product_code": "SAV001",
        "branch_code": "001",
    }
    return await w.send("POST", "/accounts", "officer", body)


@recipe("POST", "/accounts/{account_id:str}/freeze", "account.frozen")
async def _freeze(w: Write) -> httpx.Response:
    account = await open_account(w.api, w.tokens)
    return await w.send("POST", f"/accounts/{account['id']}/freeze", "officer", {"reason": "S10"})


@recipe("POST", "/accounts/{account_id:str}/unfreeze", "account.unfrozen")
async def _unfreeze(w: Write) -> httpx.Response:
    account = await open_account(w.api, w.tokens)
    officer = await h(w.tokens, "officer")
    frozen = await w.api.post(
        f"/accounts/{account['id']}/freeze", json={"reason": "S10"}, headers=officer
    )
    expect(frozen, 200)
    return await w.send("POST", f"/accounts/{account['id']}/unfreeze", "officer", {"reason": "S10"})


@recipe("POST", "/accounts/{account_id:str}/close", "account.closed")
async def _close(w: Write) -> httpx.Response:
    account = await open_account(w.api, w.tokens)
    return await w.send("POST", f"/accounts/{account['id']}/close", "officer", {"reason": "S10"})


@recipe("POST", "/accounts/{account_id:str}/holds", "account.hold_placed")
async def _hold(w: Write) -> httpx.Response:
    account = await funded_account(w)
    return await w.send(
        "POST",
        f"/accounts/{account['id']}/holds",
        "officer",
        {"amount": "1.00", "reason": "S10"},
    )


@recipe("DELETE", "/accounts/{account_id:str}/holds/{hold_id:str}", "account.hold_released")
async def _hold_release(w: Write) -> httpx.Response:
    account = await funded_account(w)
    hold = expect(
        await w.api.post(
            f"/accounts/{account['id']}/holds",
            json={"amount": "1.00", "reason": "S10"},
            headers=await h(w.tokens, "officer"),
        ),
        201,
    )
    return await w.send("DELETE", f"/accounts/{account['id']}/holds/{hold['id']}", "officer")


# -- cash, transfers, approvals -------------------------------------------------------------


@recipe("POST", "/deposits", "transaction.deposit_created")
async def _deposit(w: Write) -> httpx.Response:
    account = await open_account(w.api, w.tokens)
    body = {"account_id": account["id"], "amount": "25.00", "currency": "NGN"}
    return await w.send("POST", "/deposits", "teller", body, key=True)


@recipe("POST", "/withdrawals", "transaction.withdrawal_created")
async def _withdrawal(w: Write) -> httpx.Response:
    account = await funded_account(w)
    body = {"account_id": account["id"], "amount": "25.00", "currency": "NGN"}
    return await w.send("POST", "/withdrawals", "teller", body, key=True)


@recipe("POST", "/transfers/internal", "transaction.transfer_created")
async def _internal(w: Write) -> httpx.Response:
    source, destination = await funded_account(w), await open_account(w.api, w.tokens)
    body = transfer_body(source["id"], destination["id"])
    return await w.send("POST", "/transfers/internal", "officer", body, key=True)


@recipe("POST", "/transfers/inter-branch", "transaction.transfer_created")
async def _inter_branch(w: Write) -> httpx.Response:
    source = await funded_account(w)
    destination = await open_account(w.api, w.tokens, branch="002")
    body = transfer_body(source["id"], destination["id"])
    return await w.send("POST", "/transfers/inter-branch", "manager", body, key=True)


@recipe("POST", "/transfers/batch", "transaction.transfer_created")
async def _batch(w: Write) -> httpx.Response:
    source, destination = await funded_account(w), await open_account(w.api, w.tokens)
    body = {"mode": "independent", "transfers": [transfer_body(source["id"], destination["id"])]}
    return await w.send("POST", "/transfers/batch", "officer", body, key=True)


@recipe("POST", "/transactions/{transaction_id:str}/approve", "transaction.approved")
async def _approve(w: Write) -> httpx.Response:
    pending = await pending_deposit(w)
    return await w.send("POST", f"/transactions/{pending['id']}/approve", "officer")


@recipe("POST", "/transactions/{transaction_id:str}/reject", "transaction.rejected")
async def _reject(w: Write) -> httpx.Response:
    pending = await pending_deposit(w)
    return await w.send(
        "POST", f"/transactions/{pending['id']}/reject", "officer", {"reason": "S10"}
    )


# -- webhooks -------------------------------------------------------------------------------


@recipe("POST", "/webhooks", "webhook.created")
async def _webhook(w: Write) -> httpx.Response:
    body = {"name": f"s10-{unique()}", "url": QUIET_URL, "events": ["account.opened"]}
    return await w.send("POST", "/webhooks", "admin", body)


@recipe("PATCH", "/webhooks/{webhook_id:str}", "webhook.updated")
async def _webhook_update(w: Write) -> httpx.Response:
    hook = await new_webhook(w)
    return await w.send("PATCH", f"/webhooks/{hook['id']}", "admin", {"is_active": False})


@recipe("DELETE", "/webhooks/{webhook_id:str}", "webhook.deleted")
async def _webhook_delete(w: Write) -> httpx.Response:
    hook = await new_webhook(w)
    return await w.send("DELETE", f"/webhooks/{hook['id']}", "admin")


@recipe(
    "POST",
    "/webhooks/{webhook_id:str}/deliveries/{delivery_id:str}/retry",
    "webhook.delivery_retried",
)
async def _webhook_retry(w: Write) -> httpx.Response:
    hook = await new_webhook(w)
    await open_account(w.api, w.tokens)  # an account.opened event for the hook
    from app.settings import get_settings

    dispatcher = WebhookDispatcher(w.db, get_settings().webhooks)
    try:
        await dispatcher.fan_out()  # the delivery exists; no need to attempt it
    finally:
        await dispatcher.aclose()
    listed = expect(
        await w.api.get(f"/webhooks/{hook['id']}/deliveries", headers=await h(w.tokens, "admin")),
        200,
    )
    delivery = listed["deliveries"][0]
    return await w.send(
        "POST", f"/webhooks/{hook['id']}/deliveries/{delivery['id']}/retry", "admin"
    )


# -- the tests ------------------------------------------------------------------------------

WRITE_ROUTES = sorted(route for route in API_MATRIX if route[0] in WRITE_METHODS)


def test_every_write_route_has_a_recipe():
    missing = sorted(set(WRITE_ROUTES) - set(RECIPES))
    stale = sorted(set(RECIPES) - set(WRITE_ROUTES))
    assert not missing, f"write routes without an S10 recipe (add one in {__name__}): {missing}"
    assert not stale, f"recipes for routes the matrix no longer has: {stale}"


@pytest.mark.parametrize("route", sorted(RECIPES), ids=lambda r: f"{r[0]} {r[1]}")
async def test_the_write_leaves_an_audit_record(api, tokens, core_app, route):
    action, run = RECIPES[route]
    write = Write(api, tokens, core_app.state.services.db)
    try:
        response = await run(write)
        assert 200 <= response.status_code < 300, response.text
        assert response.headers["x-request-id"] == write.request_id
        found = await api.get(
            "/audit-logs",
            params={"request_id": write.request_id},
            headers=await h(tokens, "manager"),
        )
        assert found.status_code == 200, found.text
        records = found.json()["audit_logs"]
        assert action in [r["action"] for r in records], (
            f"{route[0]} {route[1]} left {[r['action'] for r in records]}, not {action}"
        )
        assert all(r["request_id"] == write.request_id for r in records)
    finally:
        for cleanup in write.cleanups:
            await cleanup()
