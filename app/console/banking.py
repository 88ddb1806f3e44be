"""Calls to the core on behalf of the signed-in staff member, from one console request.

Every call carries the session's access token (refreshed single-flight when it nears
expiry), the session's tenant, the console request's ID (so the core's audit trail and the
console action log join) and the staff member's IP as ``X-Forwarded-For``.
"""

import time
from collections.abc import Mapping
from typing import Any, TypeVar, overload

import msgspec
from litestar import Request

from app.client import (
    BankingAPIAuthError,
    BankingAPIValidationError,
    Branch,
    Me,
    Page,
    Tenant,
    TokenSet,
)
from app.console.auth.session import (
    CoreSessionEnded,
    SessionTokenHolder,
    SignedIn,
    current_session,
    end_session,
)
from app.console.security import client_ip, request_id
from app.console.state import REFRESH_MARGIN_SECONDS, ConsoleState, console_state

# The tenant's business date and settings change rarely; a short per-process cache saves a
# core call on every page without letting a new day go unnoticed for long.
TENANT_CACHE_SECONDS = 60.0
# The bank's branches change when an admin opens one (which forgets this process's copy);
# every list filter, form and Home show them, so they are kept as briefly as the tenant.
BRANCH_CACHE_SECONDS = 60.0
# A session's access token, once read from the token store, is reused by this process for
# up to a minute (never once it is inside the refresh margin: then the refresher reads the
# store again under the session's lock, so a refresh token is never spent twice). A token
# refreshed by another process meanwhile leaves ours valid until it expires (a refresh
# does not revoke the old access token); a revoked session is refused by the core at once
# whatever token we send. This saves a store read on every call to the core.
TOKEN_CACHE_SECONDS = 60.0
# ``GET /auth/me`` per session: the core revokes a session when the user's roles, branch or
# active flag change, so its answer holds for the session's life; kept a few minutes.
ME_CACHE_SECONDS = 600.0
SESSION_CACHE_LIMIT = 10_000

_T = TypeVar("_T")


class BranchList(msgspec.Struct, kw_only=True, frozen=True):
    """``GET /branches``: the bank's branches (the list the core answers in one page)."""

    branches: list[Branch]


class _RememberingHolder(SessionTokenHolder):
    """The session's token store, remembering the tokens it last read or wrote."""

    last: TokenSet | None = None

    async def load(self) -> TokenSet | None:
        self.last = await super().load()
        return self.last

    async def save(self, tokens: TokenSet) -> None:
        await super().save(tokens)
        self.last = tokens


def _remember(cache: dict[str, tuple[float, Any]], key: str, value: Any, now: float) -> None:
    if len(cache) >= SESSION_CACHE_LIMIT:
        cache.clear()
    cache[key] = (now, value)


# A value of a core list's query string (None: the parameter is left out).
QueryValue = str | int | float | bool | list[str] | None


class CoreSession:
    """The core, as the signed-in staff member of ``request`` sees it."""

    def __init__(self, request: Request[Any, Any, Any]) -> None:
        signed_in = current_session(request)
        if signed_in is None:
            raise CoreSessionEnded("no staff session")
        self.signed_in: SignedIn = signed_in
        self.console: ConsoleState = console_state(request.app)
        self.request_id = request_id(request.scope)
        self.forwarded_for = client_ip(request.scope)
        self._request = request
        self._holder = _RememberingHolder(self.console, signed_in.session_id)

    async def _session_ended(self, exc: BankingAPIAuthError) -> CoreSessionEnded:
        # The core revoked or expired the session: forget it here too, then sign in again.
        self.console.token_cache.pop(self.signed_in.session_id, None)
        self.console.me_cache.pop(self.signed_in.session_id, None)
        await end_session(self._request, revoke=False, request_id=self.request_id)
        return CoreSessionEnded(f"core refused the session ({exc.code})")

    async def _token(self) -> str:
        session_id = self.signed_in.session_id
        cache = self.console.token_cache
        now = time.monotonic()
        hit = cache.get(session_id)
        if (
            hit is not None
            and now - hit[0] < TOKEN_CACHE_SECONDS
            and not hit[1].expires_within(REFRESH_MARGIN_SECONDS)
        ):
            return hit[1].access_token
        token = await self.console.refresher.access_token(
            self._holder,
            self.signed_in.tenant.code,
            request_id=self.request_id,
            forwarded_for=self.forwarded_for,
        )
        last = self._holder.last
        if last is not None and last.access_token == token:
            _remember(cache, session_id, last, now)
        return token

    @overload
    async def get(self, path: str, *, model: type[_T], **kwargs: Any) -> _T: ...
    @overload
    async def get(self, path: str, *, model: None = None, **kwargs: Any) -> Any: ...
    async def get(self, path: str, *, model: type[Any] | None = None, **kwargs: Any) -> Any:
        """``GET`` ``path`` from the core as this staff member; ``model`` types the answer
        (one of the client's resources).

        Raises:
            CoreSessionEnded: The core no longer accepts the session (sign in again).
            BankingAPIError: Any other refusal or outage, for the error handlers.
        """
        try:
            token = await self._token()
            return await self.console.client.get(
                path,
                token=token,
                tenant=self.signed_in.tenant.code,
                request_id=self.request_id,
                forwarded_for=self.forwarded_for,
                model=model,
                **kwargs,
            )
        except BankingAPIAuthError as exc:
            raise await self._session_ended(exc) from exc

    async def get_page(
        self, path: str, model: type[_T], *, params: Mapping[str, Any] | None = None
    ) -> Page[_T]:
        """One page of a core list as ``model``s (its key is the model's ``plural``); a
        cursor the core does not accept (an old link) restarts the list.

        Raises:
            CoreSessionEnded: The core no longer accepts the session (sign in again).
            BankingAPIError: Any other refusal or outage, for the error handlers.
        """
        query = {name: value for name, value in (params or {}).items() if value is not None}
        try:
            return await self._page(path, model, query)
        except BankingAPIValidationError as exc:
            if exc.code != "INVALID_FORMAT" or "cursor" not in query:
                raise
            query.pop("cursor")
            return await self._page(path, model, query)

    async def _page(self, path: str, model: type[_T], query: Mapping[str, QueryValue]) -> Page[_T]:
        try:
            token = await self._token()
            return await self.console.client.get_page(
                path,
                model=model,
                token=token,
                tenant=self.signed_in.tenant.code,
                params=query,
                request_id=self.request_id,
                forwarded_for=self.forwarded_for,
            )
        except BankingAPIAuthError as exc:
            raise await self._session_ended(exc) from exc

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """A write (``POST``/``PUT``/``PATCH``/``DELETE``) to the core as this staff member.

        ``idempotency_key`` is the key minted when the form was rendered, so a resubmitted
        form or a retry after a timeout is answered from the core's record, never run twice.

        Raises:
            CoreSessionEnded: The core no longer accepts the session (sign in again).
            BankingAPIError: Any other refusal or outage (callers show it next to the form).
        """
        try:
            token = await self._token()
            return await self.console.client.request(
                method,
                path,
                token=token,
                tenant=self.signed_in.tenant.code,
                json=json,
                idempotency_key=idempotency_key,
                request_id=self.request_id,
                forwarded_for=self.forwarded_for,
                **kwargs,
            )
        except BankingAPIAuthError as exc:
            raise await self._session_ended(exc) from exc

    @overload
    async def post(
        self, path: str, json: Any = None, *, idempotency_key: str | None = None, model: type[_T]
    ) -> _T: ...
    @overload
    async def post(
        self, path: str, json: Any = None, *, idempotency_key: str | None = None, model: None = None
    ) -> Any: ...
    async def post(
        self,
        path: str,
        json: Any = None,
        *,
        idempotency_key: str | None = None,
        model: type[Any] | None = None,
    ) -> Any:
        """``POST`` ``json`` to ``path`` (the answer as ``model`` when given); see
        :meth:`send`."""
        return await self.send(
            "POST", path, json=json, idempotency_key=idempotency_key, model=model
        )

    async def delete(self, path: str, *, idempotency_key: str | None = None) -> Any:
        """``DELETE`` ``path``; see :meth:`send`."""
        return await self.send("DELETE", path, idempotency_key=idempotency_key)

    async def me(self) -> Me:
        """``GET /auth/me``: roles, scopes and branch as the core sees them (once per session
        and process, for a few minutes: they cannot change while the session lives)."""
        session_id = self.signed_in.session_id
        now = time.monotonic()
        hit = self.console.me_cache.get(session_id)
        if hit is not None and now - hit[0] < ME_CACHE_SECONDS:
            return hit[1]
        try:
            token = await self._token()
            me = await self.console.client.me(
                token,
                tenant=self.signed_in.tenant.code,
                request_id=self.request_id,
                forwarded_for=self.forwarded_for,
            )
        except BankingAPIAuthError as exc:
            raise await self._session_ended(exc) from exc
        _remember(self.console.me_cache, session_id, me, now)
        return me

    async def tenant(self) -> Tenant:
        """``GET /tenant`` (business date, base currency, settings), cached briefly."""
        return await self._briefly_cached(
            "/tenant", Tenant, self.console.tenant_cache, TENANT_CACHE_SECONDS
        )

    async def branches(self) -> list[Branch]:
        """``GET /branches``, cached briefly (every branch of a bank fits one page)."""
        page = await self._briefly_cached(
            "/branches", BranchList, self.console.branch_cache, BRANCH_CACHE_SECONDS
        )
        return page.branches

    async def branch_choices(self) -> list[tuple[str, str]]:
        """``(code, "code — name")`` for every branch of the bank, for a form's select."""
        return [(b.code, f"{b.code} — {b.name}") for b in await self.branches()]

    async def _briefly_cached(
        self, path: str, model: type[_T], cache: dict[str, tuple[float, Any]], seconds: float
    ) -> _T:
        """A per-process, per-tenant copy of ``GET path`` (as ``model``) kept for ``seconds``."""
        code = self.signed_in.tenant.code
        cached = cache.get(code)
        if cached is not None and time.monotonic() - cached[0] < seconds:
            found: _T = cached[1]
            return found

        async def load() -> _T:
            started = time.monotonic()
            body = await self.get(path, model=model)
            cache[code] = (started, body)
            return body

        return await self.console.flights.run((path, code), load)
