"""The banking API client: one pooled connection per process, typed answers and errors."""

import asyncio
import json
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self, TypeVar, overload

import httpx
from pydantic import BaseModel, ValidationError

from ._errors import (
    BankingAPIError,
    decode_json,
    error_from_body,
    error_from_response,
    error_from_transport,
)
from ._models import AuthResult, Me, TokenPair
from ._ratelimit import RateLimitTracker
from ._transport import BankingTransport, RetryPolicy
from ._typed import invalid_response, typed_answer
from ._wire import KeepAliveTransport
from .resources._base import decoder_for, list_decoder_for
from .resources.page import Page

__all__ = ["BankingClient"]

_ModelT = TypeVar("_ModelT", bound=BaseModel)
_T = TypeVar("_T")

QueryParams = Mapping[str, str | int | float | bool | list[str] | None]

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


def _json_default(value: Any) -> Any:
    # Money goes out as decimal strings, exactly as the contract writes it.
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"Cannot send a {type(value).__name__} as JSON")


def _encode_json(body: Any) -> bytes:
    return json.dumps(body, default=_json_default, separators=(",", ":")).encode()


class BankingClient:
    """An async client for the core banking API (``/api/v1/cba``).

    Create one per process and share it: it holds a keep-alive connection pool. Every call
    takes the caller's access token and tenant, so one client serves every staff session.

    Args:
        base_url: The API root, e.g. ``http://127.0.0.1:8000/api/v1/cba``.
        tenant_id: The default ``X-Tenant-ID`` (a tenant code or UUID).
        timeout: Seconds for each attempt's connect/read/write/pool timeouts.
        transport: An httpx transport to send through instead of the network (tests:
            ``httpx.MockTransport``, contract tests: ``httpx.ASGITransport``).
        max_retries: Retries after the first attempt, for calls safe to repeat.
        retry_budget_seconds: Total time after which a call is no longer retried.
        limits: The connection pool's limits (ignored with a custom ``transport``).
        http2: Negotiate HTTP/2 (needs the ``h2`` package) through httpx's own transport;
            by default calls go over HTTP/1.1 keep-alive connections (``_wire``).
        sleep: Awaitable sleep used for backoff and pacing (tests inject a recorder).
        clock: Monotonic clock in seconds (tests inject a fake).
        rng: Source of backoff jitter.
        rate_limit_low_fraction: Pace a credential's calls once its remaining rate-limit
            budget falls below this fraction of the limit (at least 1 call).
        rate_limit_max_delay: The longest pause pacing may add before a call, in seconds.
    """

    def __init__(
        self,
        base_url: str,
        tenant_id: str | None = None,
        *,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 3,
        retry_budget_seconds: float = 10.0,
        limits: httpx.Limits = DEFAULT_LIMITS,
        http2: bool = False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        rate_limit_low_fraction: float = 0.02,
        rate_limit_max_delay: float = 2.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tenant_id = tenant_id
        inner = transport or (
            httpx.AsyncHTTPTransport(limits=limits, http2=True)
            if http2
            else KeepAliveTransport(limits=limits)
        )
        self.rate_limits = RateLimitTracker(
            clock, low_fraction=rate_limit_low_fraction, max_delay=rate_limit_max_delay
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            transport=BankingTransport(
                inner,
                policy=RetryPolicy(max_retries=max_retries, budget_seconds=retry_budget_seconds),
                tracker=self.rate_limits,
                sleep=sleep,
                clock=clock,
                rng=rng,
            ),
            headers={"Accept": "application/json", "User-Agent": "branchdesk-client"},
            follow_redirects=False,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- generic calls -------------------------------------------------------------------

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        model: type[_T],
        token: str | None = None,
        tenant: str | None = None,
        json: Any = None,
        params: QueryParams | None = None,
        idempotency_key: str | None = None,
        request_id: str | None = None,
        forwarded_for: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> _T: ...
    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        model: None = None,
        token: str | None = None,
        tenant: str | None = None,
        json: Any = None,
        params: QueryParams | None = None,
        idempotency_key: str | None = None,
        request_id: str | None = None,
        forwarded_for: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any: ...
    async def request(
        self,
        method: str,
        path: str,
        *,
        model: type[Any] | None = None,
        token: str | None = None,
        tenant: str | None = None,
        json: Any = None,
        params: QueryParams | None = None,
        idempotency_key: str | None = None,
        request_id: str | None = None,
        forwarded_for: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Call the API and return its JSON answer.

        Args:
            method: The HTTP method.
            path: The path below the base URL, e.g. ``/deposits``.
            model: Decode the answer into this type (a resource of ``app.client``, e.g.
                ``Account``) instead of returning plain JSON.
            token: The staff member's access token (``Authorization: Bearer``).
            tenant: ``X-Tenant-ID``; defaults to the client's ``tenant_id``.
            json: The request body (``Decimal`` amounts are sent as decimal strings).
            params: Query parameters; ``None`` values are left out.
            idempotency_key: ``Idempotency-Key``; makes a write safe to retry.
            request_id: ``X-Request-ID`` (the console request's own); generated if absent.
            forwarded_for: The staff member's IP, sent as ``X-Forwarded-For``.
            headers: Any extra headers.

        Returns:
            With ``model``: an instance of it. Without: the parsed JSON (the ``data`` of a
            Digital Banking envelope), ``None`` for an empty answer such as ``204``;
            non-integral numbers come back as ``Decimal``.

        Raises:
            BankingAPIInvalidResponse: With ``model``, the answer does not parse as it.
            BankingAPIError: A subclass matching the failure; see the error tree.
        """
        request_id = request_id or uuid.uuid4().hex
        response = await self._send(
            method,
            path,
            token=token,
            tenant=tenant,
            json=json,
            params=params,
            idempotency_key=idempotency_key,
            request_id=request_id,
            forwarded_for=forwarded_for,
            headers=headers,
        )
        if model is None:
            return self._answer(response, request_id)
        return typed_answer(response, request_id, decoder_for(model), model.__name__, self._answer)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        tenant: str | None,
        json: Any,
        params: QueryParams | None,
        idempotency_key: str | None,
        request_id: str,
        forwarded_for: str | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        send_headers: dict[str, str] = {"X-Request-ID": request_id}
        tenant = tenant or self.tenant_id
        if tenant:
            send_headers["X-Tenant-ID"] = tenant
        if token:
            send_headers["Authorization"] = f"Bearer {token}"
        if idempotency_key:
            send_headers["Idempotency-Key"] = idempotency_key
        if forwarded_for:
            send_headers["X-Forwarded-For"] = forwarded_for
        content: bytes | None = None
        if json is not None:
            content = _encode_json(json)
            send_headers["Content-Type"] = "application/json"
        if headers:
            send_headers.update(headers)
        query = {k: v for k, v in (params or {}).items() if v is not None}

        try:
            return await self._http.request(
                method.upper(), path, params=query or None, content=content, headers=send_headers
            )
        except httpx.TransportError as exc:
            raise error_from_transport(exc, request_id=request_id) from exc

    @overload
    async def get(self, path: str, *, model: type[_T], **kwargs: Any) -> _T: ...
    @overload
    async def get(self, path: str, *, model: None = None, **kwargs: Any) -> Any: ...
    async def get(self, path: str, *, model: type[Any] | None = None, **kwargs: Any) -> Any:
        """``GET`` ``path``; ``model`` types the answer; see :meth:`request`."""
        return await self.request("GET", path, model=model, **kwargs)

    @overload
    async def post(self, path: str, *, model: type[_T], **kwargs: Any) -> _T: ...
    @overload
    async def post(self, path: str, *, model: None = None, **kwargs: Any) -> Any: ...
    async def post(self, path: str, *, model: type[Any] | None = None, **kwargs: Any) -> Any:
        """``POST`` to ``path``; ``model`` types the answer; see :meth:`request`."""
        return await self.request("POST", path, model=model, **kwargs)

    @overload
    async def put(self, path: str, *, model: type[_T], **kwargs: Any) -> _T: ...
    @overload
    async def put(self, path: str, *, model: None = None, **kwargs: Any) -> Any: ...
    async def put(self, path: str, *, model: type[Any] | None = None, **kwargs: Any) -> Any:
        """``PUT`` to ``path``; ``model`` types the answer; see :meth:`request`."""
        return await self.request("PUT", path, model=model, **kwargs)

    @overload
    async def patch(self, path: str, *, model: type[_T], **kwargs: Any) -> _T: ...
    @overload
    async def patch(self, path: str, *, model: None = None, **kwargs: Any) -> Any: ...
    async def patch(self, path: str, *, model: type[Any] | None = None, **kwargs: Any) -> Any:
        """``PATCH`` ``path``; ``model`` types the answer; see :meth:`request`."""
        return await self.request("PATCH", path, model=model, **kwargs)

    @overload
    async def delete(self, path: str, *, model: type[_T], **kwargs: Any) -> _T: ...
    @overload
    async def delete(self, path: str, *, model: None = None, **kwargs: Any) -> Any: ...
    async def delete(self, path: str, *, model: type[Any] | None = None, **kwargs: Any) -> Any:
        """``DELETE`` ``path``; ``model`` types the answer; see :meth:`request`."""
        return await self.request("DELETE", path, model=model, **kwargs)

    def _answer(self, response: httpx.Response, request_id: str) -> Any:
        if response.status_code >= 300:
            raise error_from_response(response, request_id=request_id)
        if response.status_code == 204 or not response.content:
            return None
        try:
            body = decode_json(response.content)
        except ValueError:
            return response.text
        if isinstance(body, dict) and isinstance(body.get("success"), bool):
            # The Digital Banking envelope: unwrap success, raise failure (even with a 200).
            if body["success"] is False:
                raise error_from_body(
                    response.status_code,
                    body,
                    request_id=response.headers.get("X-Request-ID") or request_id,
                    reason=response.reason_phrase,
                )
            if "data" in body:
                return body["data"]
        return body

    # -- pagination ----------------------------------------------------------------------

    @overload
    async def get_page(
        self,
        path: str,
        resource: str | None = None,
        *,
        model: type[_T],
        field: str | None = None,
        token: str | None = None,
        tenant: str | None = None,
        params: QueryParams | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
        request_id: str | None = None,
        forwarded_for: str | None = None,
    ) -> Page[_T]: ...
    @overload
    async def get_page(
        self,
        path: str,
        resource: str | None = None,
        *,
        model: None = None,
        field: str | None = None,
        token: str | None = None,
        tenant: str | None = None,
        params: QueryParams | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
        request_id: str | None = None,
        forwarded_for: str | None = None,
    ) -> Page[dict[str, Any]]: ...
    async def get_page(
        self,
        path: str,
        resource: str | None = None,
        *,
        model: type[Any] | None = None,
        field: str | None = None,
        token: str | None = None,
        tenant: str | None = None,
        params: QueryParams | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
        request_id: str | None = None,
        forwarded_for: str | None = None,
    ) -> Page[Any]:
        """Fetch one page of a cursor-paginated list.

        Args:
            path: The list's path, e.g. ``/accounts``.
            resource: The key holding the items, e.g. ``"accounts"`` (``field`` is the same
                by keyword); defaults to the model's ``plural``.
            model: Decode each item into this resource (``Page[Account]``); without it the
                items are plain dicts.
            field: ``resource`` by keyword.
            token: The access token.
            tenant: ``X-Tenant-ID`` (defaults to the client's).
            params: Filters.
            cursor: The ``next_cursor`` of the previous page; ``None`` for the first.
            page_size: ``limit`` (the API defaults to 50, allows up to 200).
            request_id: ``X-Request-ID``.
            forwarded_for: The staff member's IP.

        Raises:
            BankingAPIInvalidResponse: The answer has no such list, or an item does not
                parse as ``model``.
        """
        key = resource or field or getattr(model, "plural", "")
        if not key:
            raise TypeError("get_page needs the list's key (resource=) or a model with a plural")
        query: dict[str, Any] = dict(params or {})
        if page_size is not None:
            query["limit"] = page_size
        if cursor is not None:
            query["cursor"] = cursor
        request_id = request_id or uuid.uuid4().hex
        response = await self._send(
            "GET",
            path,
            token=token,
            tenant=tenant,
            json=None,
            params=query,
            idempotency_key=None,
            request_id=request_id,
            forwarded_for=forwarded_for,
            headers=None,
        )
        if model is not None:
            envelope = typed_answer(
                response,
                request_id,
                list_decoder_for(model, key),
                f"list of {model.__name__}",
                self._answer,
            )
            return Page(
                items=getattr(envelope, key),
                has_more=envelope.has_more,
                next_cursor=envelope.next_cursor,
            )
        body = self._answer(response, request_id)
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            raise invalid_response("list", f"no {key!r} items - at `$.{key}`", request_id)
        return Page(
            items=body[key],
            has_more=bool(body.get("has_more")),
            next_cursor=body.get("next_cursor"),
        )

    @overload
    def paginate(
        self,
        path: str,
        resource: str | None = None,
        *,
        model: type[_T],
        field: str | None = None,
        token: str | None = None,
        tenant: str | None = None,
        params: QueryParams | None = None,
        page_size: int = 50,
        request_id: str | None = None,
        forwarded_for: str | None = None,
    ) -> AsyncIterator[_T]: ...
    @overload
    def paginate(
        self,
        path: str,
        resource: str | None = None,
        *,
        model: None = None,
        field: str | None = None,
        token: str | None = None,
        tenant: str | None = None,
        params: QueryParams | None = None,
        page_size: int = 50,
        request_id: str | None = None,
        forwarded_for: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]: ...
    async def paginate(
        self,
        path: str,
        resource: str | None = None,
        *,
        model: type[Any] | None = None,
        field: str | None = None,
        token: str | None = None,
        tenant: str | None = None,
        params: QueryParams | None = None,
        page_size: int = 50,
        request_id: str | None = None,
        forwarded_for: str | None = None,
    ) -> AsyncIterator[Any]:
        """Iterate over every item of a list, following ``next_cursor`` page by page.

        Arguments are those of :meth:`get_page`; with ``model`` the items are typed.
        """
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.get_page(
                path,
                resource,
                model=model,
                field=field,
                token=token,
                tenant=tenant,
                params=params,
                cursor=cursor,
                page_size=page_size,
                request_id=request_id,
                forwarded_for=forwarded_for,
            )
            for item in page.items:
                yield item
            # A repeated cursor would loop forever; treat it as the end.
            if not page.has_more or not page.next_cursor or page.next_cursor in seen:
                return
            cursor = page.next_cursor
            seen.add(cursor)

    # -- auth ----------------------------------------------------------------------------

    async def login(
        self,
        email: str,
        password: str,
        *,
        tenant: str | None = None,
        request_id: str | None = None,
        forwarded_for: str | None = None,
    ) -> AuthResult:
        """Sign a staff member in (``POST /auth/login``).

        Raises:
            BankingAPIAuthError: ``INVALID_CREDENTIALS``.
            BankingAPIPermissionError: ``ACCOUNT_LOCKED``, ``TENANT_INACTIVE``.
            BankingAPIRateLimited: Too many failed logins from this IP.
        """
        request_id = request_id or uuid.uuid4().hex
        body = await self.post(
            "/auth/login",
            json={"email": email, "password": password},
            tenant=tenant,
            request_id=request_id,
            forwarded_for=forwarded_for,
        )
        return self._parse(AuthResult, body, request_id)

    async def login_api_key(
        self,
        api_key: str,
        *,
        tenant: str | None = None,
        request_id: str | None = None,
        forwarded_for: str | None = None,
    ) -> AuthResult:
        """Exchange an API key for tokens (``POST /auth/token``, machine clients)."""
        request_id = request_id or uuid.uuid4().hex
        body = await self.post(
            "/auth/token",
            json={"api_key": api_key},
            tenant=tenant,
            request_id=request_id,
            forwarded_for=forwarded_for,
        )
        return self._parse(AuthResult, body, request_id)

    async def refresh(
        self,
        refresh_token: str,
        *,
        tenant: str | None = None,
        request_id: str | None = None,
        forwarded_for: str | None = None,
    ) -> TokenPair:
        """Trade a refresh token for a new pair (``POST /auth/refresh``).

        The old refresh token is spent; presenting it again revokes the session, so use
        :class:`TokenRefresher` rather than calling this from concurrent requests.

        Returns:
            The new pair; an :class:`AuthResult` when the API also sends user and tenant.
        """
        request_id = request_id or uuid.uuid4().hex
        body = await self.post(
            "/auth/refresh",
            json={"refresh_token": refresh_token},
            tenant=tenant,
            request_id=request_id,
            forwarded_for=forwarded_for,
        )
        if isinstance(body, dict) and "user" in body and "tenant" in body:
            return self._parse(AuthResult, body, request_id)
        return self._parse(TokenPair, body, request_id)

    async def logout(
        self,
        access_token: str,
        *,
        tenant: str | None = None,
        request_id: str | None = None,
        forwarded_for: str | None = None,
    ) -> None:
        """Revoke the session's tokens (``POST /auth/logout``)."""
        await self.post(
            "/auth/logout",
            token=access_token,
            tenant=tenant,
            request_id=request_id,
            forwarded_for=forwarded_for,
        )

    async def me(
        self,
        access_token: str,
        *,
        tenant: str | None = None,
        request_id: str | None = None,
        forwarded_for: str | None = None,
    ) -> Me:
        """The caller's user, roles, scopes and tenant (``GET /auth/me``)."""
        request_id = request_id or uuid.uuid4().hex
        body = await self.get(
            "/auth/me",
            token=access_token,
            tenant=tenant,
            request_id=request_id,
            forwarded_for=forwarded_for,
        )
        return self._parse(Me, body, request_id)

    @staticmethod
    def _parse(model: type[_ModelT], body: Any, request_id: str) -> _ModelT:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            # Report which fields were wrong, never their values (tokens live here).
            fields = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
            raise BankingAPIError(
                "INVALID_RESPONSE",
                f"The API answered an unexpected {model.__name__}",
                502,
                [{"field": field, "reason": "invalid or missing"} for field in fields],
                request_id,
            ) from None
