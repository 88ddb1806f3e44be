"""Helpers for the ledger API tests: staff, customers, accounts and money moves.

The database is shared by the whole run, so every test makes its own customers and
accounts (unique names, phones and e-mails) and compares balances before and after.
"""

import itertools
import uuid
from decimal import Decimal
from typing import Any

import httpx

from tests.support import SANDBOX_PASSWORD, TENANT, TokenCache, headers, new_key

# Sandbox staff beyond tests.support.ROLE_USERS (branch 002 and a second manager).
STAFF = {
    "viewer": "viewer@demo.bank",
    "teller": "teller@demo.bank",  # branch 001
    "teller2": "teller2@demo.bank",  # branch 002
    "officer": "officer@demo.bank",  # branch 001
    "manager": "manager@demo.bank",  # branch 001, acts tenant-wide
    "manager2": "manager2@demo.bank",  # branch 002
    "admin": "admin@demo.bank",
}
APPROVAL_LIMIT = "1000000.00"  # demo_bank's teller_approval_limit
_TOKENS: dict[tuple[int, str], str] = {}


async def token(tokens: TokenCache, who: str) -> str:
    if who in ("viewer", "teller", "officer", "manager", "admin", "other_tenant"):
        return await tokens.for_role(who)
    cache_key = (id(tokens), who)
    if cache_key not in _TOKENS:
        body = await tokens.login(STAFF[who], TENANT, SANDBOX_PASSWORD)
        _TOKENS[cache_key] = body["access_token"]
    return _TOKENS[cache_key]


async def h(tokens: TokenCache, who: str, *, key: bool | str = False) -> dict[str, str]:
    """Headers for ``who``; ``key=True`` adds a fresh Idempotency-Key (or pass one)."""
    extra = {}
    if key:
        extra["Idempotency-Key"] = key if isinstance(key, str) else new_key()
    tenant = "fmfb" if who == "other_tenant" else TENANT
    return headers(await token(tokens, who), tenant, **extra)


def minor(text: str | None) -> int:
    """A contract amount string as minor units (2 digits), exactly."""
    assert text is not None
    return int(Decimal(text).scaleb(2))


def money(value: int) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"


def expect(response: httpx.Response, status: int, code: str | None = None) -> Any:
    assert response.status_code == status, (status, response.status_code, response.text)
    body = response.json()
    if code is not None:
        assert body["code"] == code, body
    return body


def unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def luhn_valid(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


async def make_customer(
    api: httpx.AsyncClient, tokens: TokenCache, who: str = "officer", **fields: Any
) -> dict[str, Any]:
    tag = unique()
    body: dict[str, Any] = {
        "customer_type": "INDIVIDUAL",
        "first_name": "Ledger",
        "last_name": f"Tester{tag}",
        "email": f"{tag}@ledger.test",
        "phone": f"+234{int(tag, 16) % 10**10:010d}",
    }
    body.update(fields)
    result: dict[str, Any] = expect(
        await api.post("/customers", json=body, headers=await h(tokens, who)), 201
    )
    return result


async def open_account(
    api: httpx.AsyncClient,
    tokens: TokenCache,
    branch: str = "001",
    product: str = "CUR001",
    currency: str = "NGN",
    initial_deposit: str | None = None,
    *,
    customer_id: str | None = None,
    who: str | None = None,
) -> dict[str, Any]:
    """Open an account (by the branch-001 officer, or a manager elsewhere)."""
    if customer_id is None:
        customer_id = (await make_customer(api, tokens))["id"]
    account_type = {
        "SAV001": "SAVINGS",
        "CUR001": "CURRENT",
        "FXD001": "FIXED_DEPOSIT",
        "DOM001": "DOMICILIARY",
        "CRP001": "CORPORATE",
    }[product]
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "account_type": account_type,
        "currency": currency,
        "product_code": product,
        "branch_code": branch,
        "alias": unique("acct-"),
    }
    if initial_deposit is not None:
        body["initial_deposit"] = initial_deposit
    who = who or ("officer" if branch == "001" else "manager")
    result: dict[str, Any] = expect(
        await api.post("/accounts", json=body, headers=await h(tokens, who)), 201
    )
    return result


async def account(api: httpx.AsyncClient, tokens: TokenCache, account_id: str) -> dict[str, Any]:
    result: dict[str, Any] = expect(
        await api.get(f"/accounts/{account_id}", headers=await h(tokens, "viewer")), 200
    )
    return result


async def balances(api: httpx.AsyncClient, tokens: TokenCache, account_id: str) -> dict[str, int]:
    """ledger, available and hold of an account, in minor units."""
    body = await account(api, tokens, account_id)
    return {
        "ledger": minor(body["ledger_balance"]),
        "available": minor(body["available_balance"]),
        "hold": minor(body["hold_amount"]),
    }


async def cash(
    api: httpx.AsyncClient,
    tokens: TokenCache,
    kind: str,
    account_id: str,
    amount: Any,
    currency: str = "NGN",
    who: str = "teller",
    **extra: Any,
) -> httpx.Response:
    path = "/deposits" if kind == "deposit" else "/withdrawals"
    body = {"account_id": account_id, "amount": amount, "currency": currency, **extra}
    return await api.post(path, json=body, headers=await h(tokens, who, key=True))


async def deposit(
    api: httpx.AsyncClient, tokens: TokenCache, account_id: str, amount: Any, **kw: Any
) -> httpx.Response:
    return await cash(api, tokens, "deposit", account_id, amount, **kw)


async def withdraw(
    api: httpx.AsyncClient, tokens: TokenCache, account_id: str, amount: Any, **kw: Any
) -> httpx.Response:
    return await cash(api, tokens, "withdrawal", account_id, amount, **kw)


async def transfer(
    api: httpx.AsyncClient,
    tokens: TokenCache,
    source: str,
    destination: str,
    amount: Any,
    *,
    kind: str = "internal",
    currency: str = "NGN",
    who: str = "officer",
    narration: str = "ledger test transfer",
) -> httpx.Response:
    body = {
        "source_account_id": source,
        "destination_account_id": destination,
        "amount": amount,
        "currency": currency,
        "narration": narration,
    }
    return await api.post(f"/transfers/{kind}", json=body, headers=await h(tokens, who, key=True))


async def gl_nodes(api: httpx.AsyncClient, tokens: TokenCache) -> dict[str, dict[str, Any]]:
    """Every GL account of the chart by code (the tree flattened)."""
    body = expect(await api.get("/gl/accounts", headers=await h(tokens, "viewer")), 200)
    found: dict[str, dict[str, Any]] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            found[node["code"]] = node
            walk(node.get("children", []))

    walk(body["gl_accounts"])
    return found


async def gl_balances(api: httpx.AsyncClient, tokens: TokenCache) -> dict[str, int]:
    return {code: minor(n["balance"]) for code, n in (await gl_nodes(api, tokens)).items()}


def clearing_total(gl: dict[str, int]) -> int:
    return sum(v for code, v in gl.items() if code.startswith("1301-"))


async def statement(
    api: httpx.AsyncClient, tokens: TokenCache, account_id: str, **params: Any
) -> list[dict[str, Any]]:
    """The whole statement, newest first, walking every page."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = expect(
            await api.get(
                f"/accounts/{account_id}/transactions",
                params=query,
                headers=await h(tokens, "viewer"),
            ),
            200,
        )
        entries += body["transactions"]
        if not body["has_more"]:
            return entries
        cursor = body["next_cursor"]


def assert_running_balances(entries: list[dict[str, Any]], *, credit_normal: bool = True) -> None:
    """Newest first: each balance_after = the previous (older) one + its signed amount."""
    for newer, older in itertools.pairwise(entries):
        amount = minor(newer["amount"])
        signed = amount if (newer["entry_type"] == "credit") == credit_normal else -amount
        assert minor(newer["balance_after"]) == minor(older["balance_after"]) + signed, (
            newer,
            older,
        )
