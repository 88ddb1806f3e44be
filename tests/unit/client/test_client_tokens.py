"""Single-flight refresh: one refresh per session however many requests notice expiry."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from client_fakes import json_response

from app.client import (
    BankingAPIAuthError,
    InMemoryTokenHolder,
    InProcessLocks,
    TokenHolder,
    TokenRefresher,
    TokenSet,
)


def tokens(access: str, refresh: str, expires_in: float) -> TokenSet:
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
    )


def refresh_handler(calls: list[httpx.Request]):
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/auth/refresh")
        calls.append(request)
        return json_response(
            200,
            {
                "access_token": f"access-{len(calls)}",
                "refresh_token": f"refresh-{len(calls)}",
                "token_type": "Bearer",
                "expires_in": 86400,
            },
        )

    return handler


async def test_fresh_token_is_returned_without_refresh(make_client):
    calls: list[httpx.Request] = []
    refresher = TokenRefresher(make_client(refresh_handler(calls)))
    holder = InMemoryTokenHolder(tokens("access-0", "refresh-0", 3600))
    assert await refresher.access_token(holder, "demo_bank") == "access-0"
    assert calls == []


async def test_twenty_concurrent_callers_cause_exactly_one_refresh(make_client):
    calls: list[httpx.Request] = []
    refresher = TokenRefresher(make_client(refresh_handler(calls)), refresh_margin_seconds=300)
    holder = InMemoryTokenHolder(tokens("access-0", "refresh-0", 60))  # inside the margin

    results = await asyncio.gather(
        *(refresher.access_token(holder, "demo_bank") for _ in range(20))
    )

    assert len(calls) == 1
    assert calls[0].content == b'{"refresh_token":"refresh-0"}'
    assert calls[0].headers["X-Tenant-ID"] == "demo_bank"
    assert set(results) == {"access-1"}
    assert holder.tokens is not None
    assert holder.tokens.refresh_token == "refresh-1"
    assert holder.tokens.expires_at > datetime.now(UTC) + timedelta(hours=23)


class SharedStoreHolder:
    """Two 'processes' sharing one store and lock, like a Redis-backed session."""

    def __init__(self, store: dict, locks: InProcessLocks) -> None:
        self.store = store
        self.locks = locks

    async def load(self) -> TokenSet | None:
        return self.store.get("tokens")

    async def save(self, tokens: TokenSet) -> None:
        self.store["tokens"] = tokens

    def lock(self):
        return self.locks.lock("session-1")


async def test_holder_refreshed_by_someone_else_is_reloaded_not_refreshed(make_client):
    calls: list[httpx.Request] = []
    refresher = TokenRefresher(make_client(refresh_handler(calls)))
    store = {"tokens": tokens("stale", "refresh-0", 10)}
    locks = InProcessLocks()
    holder = SharedStoreHolder(store, locks)
    assert isinstance(holder, TokenHolder)

    async with locks.lock("session-1"):
        waiting = asyncio.create_task(refresher.access_token(holder, "demo_bank"))
        await asyncio.sleep(0.01)  # it saw a stale token and now waits for the lock
        store["tokens"] = tokens("refreshed-elsewhere", "refresh-x", 86400)

    assert await waiting == "refreshed-elsewhere"
    assert calls == []


async def test_refused_refresh_raises_auth_error(make_client):
    client = make_client(
        lambda r: json_response(401, {"code": "INVALID_REFRESH_TOKEN", "message": "spent"})
    )
    holder = InMemoryTokenHolder(tokens("a", "r", 5))
    with pytest.raises(BankingAPIAuthError) as caught:
        await TokenRefresher(client).access_token(holder)
    assert caught.value.code == "INVALID_REFRESH_TOKEN"


async def test_unavailable_refresh_keeps_still_valid_token(make_client):
    client = make_client(lambda r: json_response(503, {"code": "SERVICE_UNAVAILABLE"}))
    holder = InMemoryTokenHolder(tokens("still-good", "r", 120))
    assert await TokenRefresher(client).access_token(holder) == "still-good"


async def test_no_session_tokens_is_auth_error(make_client):
    refresher = TokenRefresher(make_client(lambda r: json_response(200, {})))
    with pytest.raises(BankingAPIAuthError):
        await refresher.access_token(InMemoryTokenHolder())
