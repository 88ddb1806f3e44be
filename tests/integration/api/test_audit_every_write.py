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
from tests.integration.api.journal_helpers import (
    act,
    business_day,
    draft,
    gl,
    journal_body,
    line,
    new_gl_account,
)
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


# -- GL accounts and journals ---------------------------------------------------------------


async def journal_entries(w: Write, amount: str = "25.00") -> list[dict[str, Any]]:
    chart = await gl(w.api, w.tokens)
    return [
        line(chart["5200"]["id"], amount, "debit"),
        line(chart["4200"]["id"], amount, "credit"),
    ]


async def pending_journal(w: Write) -> dict[str, Any]:
    return expect(await draft(w.api, w.tokens, await journal_entries(w)), 201)


async def approved_journal(w: Write) -> dict[str, Any]:
    made = await pending_journal(w)
    return expect(await act(w.api, w.tokens, made["id"], "approve", "officer"), 200)


@recipe("POST", "/gl/accounts", "gl_account.created")
async def _gl_create(w: Write) -> httpx.Response:
    parent = (await gl(w.api, w.tokens))["5000"]
    body = {
        "code": unique("59-"),
        "name": "Audit coverage expense",
        "category": "EXPENSE",
        "parent_id": parent["id"],
    }
    return await w.send("POST", "/gl/accounts", "officer", body)


@recipe("PATCH", "/gl/accounts/{gl_account_id:str}", "gl_account.updated")
async def _gl_update(w: Write) -> httpx.Response:
    account = await new_gl_account(w.api, w.tokens)
    return await w.send(
        "PATCH", f"/gl/accounts/{account['id']}", "officer", {"name": "Audit coverage, renamed"}
    )


@recipe("POST", "/journals", "journal.created")
async def _journal_create(w: Write) -> httpx.Response:
    body = await journal_body(w.api, w.tokens, await journal_entries(w))
    return await w.send("POST", "/journals", "teller", body, key=True)


@recipe("POST", "/journals/{journal_id:str}/approve", "journal.approved")
async def _journal_approve(w: Write) -> httpx.Response:
    made = await pending_journal(w)
    return await w.send("POST", f"/journals/{made['id']}/approve", "officer")


@recipe("POST", "/journals/{journal_id:str}/reject", "journal.rejected")
async def _journal_reject(w: Write) -> httpx.Response:
    made = await pending_journal(w)
    return await w.send(
        "POST", f"/journals/{made['id']}/reject", "officer", {"reason": "audit coverage"}
    )


@recipe("POST", "/journals/{journal_id:str}/post", "journal.posted")
async def _journal_post(w: Write) -> httpx.Response:
    approved = await approved_journal(w)
    return await w.send("POST", f"/journals/{approved['id']}/post", "officer")


@recipe("POST", "/journals/{journal_id:str}/reverse", "journal.reversed")
async def _journal_reverse(w: Write) -> httpx.Response:
    approved = await approved_journal(w)
    expect(await act(w.api, w.tokens, approved["id"], "post", "officer"), 200)
    return await w.send(
        "POST",
        f"/journals/{approved['id']}/reverse",
        "manager",
        {"reason": "audit coverage"},
        key=True,
    )


# -- fiscal periods, standing instructions, jobs ---------------------------------------------
# Periods of far-future years of the sandbox bank: closing one there touches nothing any
# other test relies on (the current year's periods stay open).


def far_year() -> int:
    return 2100 + uuid.uuid4().int % 700


async def new_year(w: Write) -> tuple[int, list[dict[str, Any]]]:
    for _ in range(5):
        year = far_year()
        made = await w.api.post(f"/fiscal-periods/year/{year}", headers=await h(w.tokens, "admin"))
        if made.status_code == 201:
            return year, made.json()["fiscal_periods"]
    raise AssertionError("no free far-future year")


@recipe("POST", "/fiscal-periods", "period.created")
async def _period_create(w: Write) -> httpx.Response:
    year = far_year()
    body = {
        "period_number": 1,
        "period_name": f"January {year}",
        "fiscal_year": year,
        "start_date": f"{year}-01-01",
        "end_date": f"{year}-01-31",
    }
    return await w.send("POST", "/fiscal-periods", "admin", body)


@recipe("POST", "/fiscal-periods/year/{year:str}", "period.year_created")
async def _period_year(w: Write) -> httpx.Response:
    return await w.send("POST", f"/fiscal-periods/year/{far_year()}", "admin")


@recipe("POST", "/fiscal-periods/{period_id:str}/close", "period.closed")
async def _period_close(w: Write) -> httpx.Response:
    _year, periods = await new_year(w)
    first = next(p for p in periods if p["period_number"] == 1)
    return await w.send("POST", f"/fiscal-periods/{first['id']}/close", "admin")


@recipe("POST", "/fiscal-periods/year/{year:str}/close", "period.year_closed")
async def _period_year_close(w: Write) -> httpx.Response:
    year, periods = await new_year(w)
    admin = await h(w.tokens, "admin")
    for period in sorted(periods, key=lambda p: p["period_number"]):
        if period["period_number"] <= 12:
            expect(await w.api.post(f"/fiscal-periods/{period['id']}/close", headers=admin), 200)
    return await w.send("POST", f"/fiscal-periods/year/{year}/close", "admin")


async def instruction_body(w: Write) -> dict[str, Any]:
    source, target = await funded_account(w), await funded_account(w)
    return {
        "source_account_id": source["id"],
        "destination_account_id": target["id"],
        "amount": "10.00",
        "currency": "NGN",
        "frequency": "MONTHLY",
        "start_date": (await business_day(w.api, w.tokens)).isoformat(),
        "narration": "audit coverage",
    }


async def new_instruction(w: Write) -> dict[str, Any]:
    officer = await h(w.tokens, "officer")
    body = await instruction_body(w)
    return expect(await w.api.post("/standing-instructions", json=body, headers=officer), 201)


def cancel_later(w: Write, instruction: dict[str, Any]) -> None:
    """An approved instruction would run every day of the rest of the test run: cancel it."""

    async def cancel() -> None:
        await w.api.post(
            f"/standing-instructions/{instruction['id']}/cancel",
            json={"reason": "audit coverage done"},
            headers=await h(w.tokens, "officer"),
        )

    w.cleanups.append(cancel)


@recipe("POST", "/standing-instructions", "standing_instruction.created")
async def _standing_create(w: Write) -> httpx.Response:
    return await w.send("POST", "/standing-instructions", "officer", await instruction_body(w))


@recipe(
    "POST", "/standing-instructions/{instruction_id:str}/approve", "standing_instruction.approved"
)
async def _standing_approve(w: Write) -> httpx.Response:
    made = await new_instruction(w)
    cancel_later(w, made)
    return await w.send("POST", f"/standing-instructions/{made['id']}/approve", "manager")


@recipe(
    "POST", "/standing-instructions/{instruction_id:str}/cancel", "standing_instruction.cancelled"
)
async def _standing_cancel(w: Write) -> httpx.Response:
    made = await new_instruction(w)
    return await w.send(
        "POST", f"/standing-instructions/{made['id']}/cancel", "officer", {"reason": "no longer"}
    )


@recipe("POST", "/jobs/standing-instructions/trigger", "job.standing_instructions_run")
async def _job_trigger(w: Write) -> httpx.Response:
    return await w.send("POST", "/jobs/standing-instructions/trigger", "admin")


# -- staff identity (issue 14) -------------------------------------------------------------
# The second factor's steps are set up in the database (a factor, a challenge, a waiting
# reset) so the sandbox bank's setting never changes under the rest of the run.


async def identity_user(w: Write, *, factor: bool, purpose: str | None = None) -> dict[str, Any]:
    """A new staff user of the sandbox bank; with a confirmed TOTP factor, and a sign-in
    challenge of ``purpose``, when asked."""
    from app.core.auth import sealing, totp
    from app.core.auth.identity_models import SecondFactor
    from app.core.auth.mfa import SEED_PURPOSE, SecondFactors
    from app.db import utcnow
    from app.settings import get_settings

    user = await new_user(w)
    tenant = (await w.api.get("/tenant", headers=await h(w.tokens, "admin"))).json()
    identity = get_settings().identity
    seed = totp.new_secret()
    user_id = uuid.UUID(user["id"])
    async with w.db.writer(), w.db.session() as session:
        if factor:
            session.add(
                SecondFactor(
                    user_id=user_id,
                    tenant_id=uuid.UUID(tenant["id"]),
                    secret=sealing.seal(seed, identity.secrets_key, SEED_PURPOSE, user_id),
                    confirmed_at=utcnow(),
                )
            )
        challenge = None
        if purpose is not None:
            challenge = await SecondFactors(session, identity).issue_challenge(
                uuid.UUID(tenant["id"]), user_id, purpose
            )
        await session.commit()
    return {**user, "seed": seed, "challenge": challenge, "tenant_id": tenant["id"]}


@recipe("POST", "/auth/mfa/verify", "auth.login")
async def _mfa_verify(w: Write) -> httpx.Response:
    import time

    from app.core.auth import totp

    user = await identity_user(w, factor=True, purpose="verify")
    body = {"challenge": user["challenge"], "code": totp.code_at(user["seed"], time.time())}
    return await w.send("POST", "/auth/mfa/verify", None, body)


@recipe("POST", "/auth/mfa/enrol", "auth.mfa_enrolment_started")
async def _mfa_enrol(w: Write) -> httpx.Response:
    user = await identity_user(w, factor=False, purpose="enrol")
    return await w.send("POST", "/auth/mfa/enrol", None, {"challenge": user["challenge"]})


@recipe("POST", "/auth/mfa/enrol/confirm", "auth.mfa_enrolled")
async def _mfa_enrol_confirm(w: Write) -> httpx.Response:
    import time

    from app.core.auth import totp

    user = await identity_user(w, factor=False, purpose="enrol")
    started = await w.api.post(
        "/auth/mfa/enrol", json={"challenge": user["challenge"]}, headers=headers(None, TENANT)
    )
    seed = expect(started, 200)["secret"]
    body = {"challenge": user["challenge"], "code": totp.code_at(seed, time.time())}
    return await w.send("POST", "/auth/mfa/enrol/confirm", None, body)


def _provider_settings(issuer: str) -> dict[str, Any]:
    from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET

    return {
        "display_name": "Audit IdP",
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "group_mappings": [{"group": "bd-viewers", "role": "viewer"}],
    }


def _remove_provider(w: Write) -> None:
    async def remove() -> None:
        gone = await w.api.delete("/tenant/identity-provider", headers=await h(w.tokens, "admin"))
        assert gone.status_code == 204, gone.text

    w.cleanups.append(remove)


@recipe("PUT", "/tenant/identity-provider", "tenant.identity_provider_updated")
async def _idp_put(w: Write) -> httpx.Response:
    _remove_provider(w)
    return await w.send(
        "PUT", "/tenant/identity-provider", "admin", _provider_settings("https://idp.example")
    )


@recipe("DELETE", "/tenant/identity-provider", "tenant.identity_provider_removed")
async def _idp_delete(w: Write) -> httpx.Response:
    admin = await h(w.tokens, "admin")
    body = _provider_settings("https://idp.example")
    expect(await w.api.put("/tenant/identity-provider", json=body, headers=admin), 200)
    return await w.send("DELETE", "/tenant/identity-provider", "admin")


@recipe("POST", "/auth/oidc/token", "auth.login")
async def _oidc_token(w: Write) -> httpx.Response:
    import base64
    import hashlib
    import secrets

    from tests.oidc_provider import Account, IdentityProvider, new_nonce

    user = await new_user(w)
    redirect = "http://127.0.0.1:9/login/sso/callback"
    person = Account(id=f"s10-{user['id']}", email=user["email"], name="S10", groups=["bd-viewers"])
    provider = IdentityProvider(redirect_uris=[redirect], accounts=[person]).start()

    async def stop() -> None:
        provider.stop()

    w.cleanups.append(stop)
    admin = await h(w.tokens, "admin")
    settings = _provider_settings(provider.issuer)
    expect(await w.api.put("/tenant/identity-provider", json=settings, headers=admin), 200)
    _remove_provider(w)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    nonce = new_nonce()
    answer = provider.authorize(
        person.id,
        redirect_uri=redirect,
        state="s10-state-" + uuid.uuid4().hex,
        nonce=nonce,
        code_challenge=challenge.decode().rstrip("="),
    )
    body = {
        "code": answer["code"],
        "code_verifier": verifier,
        "redirect_uri": redirect,
        "nonce": nonce,
    }
    return await w.send("POST", "/auth/oidc/token", None, body)


async def waiting_reset(w: Write) -> dict[str, Any]:
    """A user with a factor whose reset another person asked for (production's first half)."""
    from app.core.auth.identity_models import FactorReset

    user = await identity_user(w, factor=True)
    other = await new_user(w)
    async with w.db.writer(), w.db.session() as session:
        session.add(
            FactorReset(
                tenant_id=uuid.UUID(user["tenant_id"]),
                user_id=uuid.UUID(user["id"]),
                reason="new phone",
                status="PENDING_APPROVAL",
                requested_by=uuid.UUID(other["id"]),
            )
        )
        await session.commit()
    return user


@recipe("POST", "/users/{user_id:str}/second-factor/reset", "user.second_factor_reset_requested")
async def _factor_reset(w: Write) -> httpx.Response:
    user = await identity_user(w, factor=True)
    body = {"reason": "lost phone"}
    return await w.send("POST", f"/users/{user['id']}/second-factor/reset", "admin", body)


@recipe("POST", "/users/{user_id:str}/second-factor/reset/approve", "user.second_factor_reset")
async def _factor_reset_approve(w: Write) -> httpx.Response:
    user = await waiting_reset(w)
    return await w.send("POST", f"/users/{user['id']}/second-factor/reset/approve", "admin")


@recipe(
    "POST", "/users/{user_id:str}/second-factor/reset/cancel", "user.second_factor_reset_cancelled"
)
async def _factor_reset_cancel(w: Write) -> httpx.Response:
    user = await waiting_reset(w)
    return await w.send("POST", f"/users/{user['id']}/second-factor/reset/cancel", "admin")


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
