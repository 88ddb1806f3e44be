"""A tenant of a test's own, for rules that must not touch the shared sandbox.

Closing periods is irreversible, and the sandbox's current-year periods must stay open
for every other test of the run. There is no API to create a bank (tenants are made by
operations, like the seed does), so this helper does what the seed does — a tenant row,
its branches with their GL accounts (the same ``on_branch_created`` the branch API
uses), its staff — and everything after that goes through the API: the fiscal years,
customers, accounts, money, closes. Each tenant gets a fresh code, so tests never share
one.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support import SANDBOX_PASSWORD, TokenCache, headers, new_key

ROLES = ("viewer", "teller", "officer", "manager", "admin")
_PASSWORD_HASH: list[str] = []


@dataclass
class PrivateTenant:
    code: str
    id: str
    api: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # who -> user id

    def h(self, who: str, *, key: bool | str = False) -> dict[str, str]:
        extra = {}
        if key:
            extra["Idempotency-Key"] = key if isinstance(key, str) else new_key()
        return headers(self.tokens[who], self.code, **extra)

    async def open_account(
        self, branch: str = "001", product: str = "CUR001", currency: str = "NGN"
    ) -> dict[str, Any]:
        tag = uuid.uuid4().hex[:10]
        customer = await self.api.post(
            "/customers",
            json={
                "customer_type": "INDIVIDUAL",
                "first_name": "Private",
                "last_name": f"Tenant{tag}",
                "email": f"{tag}@private.test",
                "phone": f"+234{int(tag, 16) % 10**10:010d}",
            },
            headers=self.h("manager"),
        )
        assert customer.status_code == 201, customer.text
        account_type = {"CUR001": "CURRENT", "SAV001": "SAVINGS", "DOM001": "DOMICILIARY"}
        opened = await self.api.post(
            "/accounts",
            json={
                "customer_id": customer.json()["id"],
                "account_type": account_type[product],
                "currency": currency,
                "product_code": product,
                "branch_code": branch,
                "alias": f"acct-{tag}",
            },
            headers=self.h("manager"),
        )
        assert opened.status_code == 201, opened.text
        body: dict[str, Any] = opened.json()
        return body

    async def deposit(
        self, account_id: str, amount: str, *, who: str = "teller", currency: str = "NGN"
    ) -> httpx.Response:
        return await self.api.post(
            "/deposits",
            json={"account_id": account_id, "amount": amount, "currency": currency},
            headers=self.h(who, key=True),
        )


async def make_tenant(
    core_app: Any,
    api: httpx.AsyncClient,
    tokens: TokenCache,
    *,
    teller_approval_limit: int = 1_000_000_00,
    branches: tuple[str, ...] = ("001", "002"),
    extra_staff: tuple[tuple[str, str, str], ...] = (),
    sign_in: tuple[str, ...] | None = None,
) -> PrivateTenant:
    """A new bank with the standard chart, two branches and one user per role.

    ``extra_staff``: more users as (who, role, branch), e.g. a second manager.
    ``sign_in``: who to sign in (all by default; each sign-in costs an Argon2 check).
    """
    from app.core.auth.models import StaffUser
    from app.core.auth.passwords import hash_password
    from app.core.tenants.models import Branch, Tenant
    from app.core.tenants.service import on_branch_created

    if not _PASSWORD_HASH:
        _PASSWORD_HASH.append(hash_password(SANDBOX_PASSWORD))
    code = f"t_{uuid.uuid4().hex[:10]}"
    db = core_app.state.services.db
    staff = [(role, role, "001") for role in ROLES] + list(extra_staff)
    async with db.writer(), db.session() as session:
        tenant = Tenant(
            code=code,
            name=f"Private test bank {code}",
            base_currency="NGN",
            timezone="Africa/Lagos",
            teller_approval_limit=teller_approval_limit,
            # Like the sandbox, staff sign in with the password alone: these tenants test
            # banking rules, not the second factor (tests/integration/api/test_mfa*.py).
            mfa_required_role="none",
        )
        session.add(tenant)
        await session.flush()
        for branch_code in branches:
            branch = Branch(tenant_id=tenant.id, code=branch_code, name=f"Branch {branch_code}")
            session.add(branch)
            await session.flush()
            await on_branch_created(session, tenant.id, branch)
        for who, role, branch_code in staff:
            session.add(
                StaffUser(
                    tenant_id=tenant.id,
                    email=f"{who}@{code}.test",
                    name=f"{who.title()} of {code}",
                    password_hash=_PASSWORD_HASH[0],
                    roles=[role],
                    branch_code=branch_code,
                )
            )
        await session.commit()
        tenant_id = str(tenant.id)
    private = PrivateTenant(code=code, id=tenant_id, api=api)
    for who, _role, _branch in staff:
        if sign_in is not None and who not in sign_in:
            continue
        body = await tokens.login(f"{who}@{code}.test", code, SANDBOX_PASSWORD)
        private.tokens[who] = body["access_token"]
        private.users[who] = body["user"]["id"]
    return private
