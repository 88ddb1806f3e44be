"""Stage 7: idempotency, and the request's unit of work.

Every request gets one unit of work (``ctx.unit``, ``app.core.unit``), opened when its
handler first touches the database. Handlers never commit it: this stage does, after the
handler has produced its response and before a byte of it is sent, writing the
idempotency record in the same transaction as the effect. A refused or failed request
rolls back, and its claim is released so a retry runs afresh; an executed 409/422 is
stored and replayed like a success.

Connections are not pinged before use. A request whose connection turns out to be broken
(the server restarted, the backend was terminated) runs once more on a fresh one — its
transaction died with the connection, so nothing of it took effect. A connection lost
while COMMIT was on the wire is the one unknown: the claim's record, written in the same
transaction, says whether it landed (then its stored response is the answer) or not
(then the request runs again).
"""

import asyncio
import random
import re
from typing import Any

import structlog
from litestar.utils.scope.state import ScopeState

from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.idempotency.shown_once import NOTE as SHOWN_ONCE
from app.core.idempotency.shown_once import REDACTED_HEADER, fields_shown_once, redacted_body
from app.core.idempotency.store import (
    Claimed,
    ClaimOutcome,
    Conflict,
    IdempotencyStore,
    InProgress,
    Replay,
    request_fingerprint,
)
from app.core.middleware._asgi import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    context_of,
    header,
    is_open_path,
    is_sign_in,
    send_error,
)
from app.core.middleware.route_map import RouteMap
from app.core.unit import UnitOfWork
from app.db import Database, is_connection_lost, is_retryable_conflict

log = structlog.get_logger("branchdesk.core.idempotency")

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_BODY_BYTES = 1024 * 1024
_KEY_PATTERN = re.compile(r"^[\x20-\x7e]{1,255}$")
STORED_ERROR_STATUSES = {409, 422}
MAX_ATTEMPTS = 4
# Set by the exception handler when a handler hit a deadlock or serialization failure.
RETRYABLE_CONFLICT = "retryable_conflict"
# The body of a write, as read by this stage (app.core.exceptions lists its problems).
REQUEST_BODY = "request_body"
# Set by the exception handler when the database connection broke under the handler.
CONNECTION_LOST = "connection_lost"
CONNECTION_RETRIES = 1


class _RetryableConflict(Exception):
    pass


class _ConnectionLost(Exception):
    pass


class _AlreadyCompleted(Exception):
    """The claim was completed by an earlier run of this request (after a lost COMMIT)."""


class _BodyTooLarge(Exception):
    pass


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying_receive(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def inner() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return inner


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        db: Database,
        store: IdempotencyStore,
        prefix: str,
        routes: RouteMap | None = None,
    ) -> None:
        self.app = app
        self.db = db
        self.store = store
        self.prefix = prefix
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open_path(scope["path"], self.prefix):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        method = scope["method"].upper()
        if method == "OPTIONS" and self.routes is not None:
            if await self.routes.answer_options(scope, send):
                return
        if method not in WRITE_METHODS:
            await self._read(scope, receive, send)
            return
        if self.routes is not None and not self.routes.allows(method, scope["path"]):
            # Nothing answers this write: the router's 404 or 405 (with Allow) says so,
            # before any check of its body or key.
            await self.app(scope, receive, send)
            return

        declared = header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await send_error(scope, send, _too_large())
            return
        try:
            body = await read_body(receive, MAX_BODY_BYTES)
        except _BodyTooLarge:
            await send_error(scope, send, _too_large())
            return
        ctx.notes[REQUEST_BODY] = body  # for the validation handler's full list of problems
        content_type = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if body.strip() and content_type != "application/json":
            await send_error(
                scope,
                send,
                ApiError(
                    "UNSUPPORTED_MEDIA_TYPE",
                    "Send request bodies as application/json.",
                    [
                        {
                            "field": "Content-Type",
                            "code": DetailCode.INVALID_FORMAT.value,
                            "reason": "must be application/json",
                            "value": content_type or "(none)",
                        }
                    ],
                ),
            )
            return
        key = header(scope, b"idempotency-key") or header(scope, b"x-idempotency-key")
        if key is not None and not _KEY_PATTERN.match(key):
            await send_error(
                scope,
                send,
                ApiError(
                    "VALIDATION_ERROR",
                    "Idempotency-Key must be 1-255 printable ASCII characters.",
                    [
                        detail(
                            "Idempotency-Key",
                            DetailCode.INVALID_FORMAT,
                            "1-255 printable ASCII characters",
                        )
                    ],
                ),
            )
            return
        ctx.idempotency_key = key
        if is_sign_in(scope["path"], self.prefix):
            # Sign-in checks a password (Argon2, ~0.1-0.2 s) before it writes: held for
            # that, the embedded mode's one writer would stall every deposit behind a
            # burst of guesses. It takes the writer itself, around its writes only.
            await self._execute(scope, receive, send, body, key)
            return
        async with self.db.writer():
            await self._execute(scope, receive, send, body, key)

    async def _read(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A read: its unit of work is closed after; a broken connection reads again."""
        ctx = context_of(scope)
        for attempt in range(1, CONNECTION_RETRIES + 2):
            ctx.notes.pop(CONNECTION_LOST, None)
            _fresh_attempt(scope)
            ctx.unit = UnitOfWork(self.db)
            gate = _HoldIfLost(send, ctx.notes, last=attempt > CONNECTION_RETRIES)
            try:
                await self.app(scope, receive, gate)
            finally:
                await ctx.unit.close()
            if not gate.held:
                return
            log.warning("request.retrying_lost_connection", attempt=attempt)

    async def _execute(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, key: str | None
    ) -> None:
        ctx = context_of(scope)
        # One unit (and on PostgreSQL one connection) for the claim and every run.
        unit = ctx.unit = UnitOfWork(self.db)
        try:
            await self._run(scope, receive, send, body, key, unit)
        finally:
            await unit.close()

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        body: bytes,
        key: str | None,
        unit: UnitOfWork,
    ) -> None:
        ctx = context_of(scope)
        claim: Claimed | None = None
        # Keys are scoped to (tenant, user): only callers who are both get one.
        if key is not None and ctx.principal is not None and ctx.tenant is not None:
            fingerprint = request_fingerprint(
                scope["method"], scope["path"], scope.get("query_string", b""), body
            )
            try:
                outcome = await self._claim(
                    unit, ctx.tenant.id, ctx.principal.user_id, key, fingerprint
                )
            except Exception as exc:  # never an exception out of the chain: the contract's 500
                log.exception("idempotency.claim_failed", error=str(exc))
                await send_error(scope, send, _internal_error())
                return
            if outcome is None:
                await send_error(scope, send, _unavailable())
                return
            if isinstance(outcome, Replay):
                await _send_replay(send, outcome)
                return
            if isinstance(outcome, Conflict):
                await send_error(
                    scope,
                    send,
                    ApiError(
                        "IDEMPOTENCY_CONFLICT",
                        "This Idempotency-Key was used for a different request.",
                        [
                            detail(
                                "Idempotency-Key", DetailCode.REUSED, "reused with another request"
                            )
                        ],
                    ),
                )
                return
            if isinstance(outcome, InProgress):
                await send_error(
                    scope,
                    send,
                    ApiError(
                        "IDEMPOTENCY_IN_PROGRESS",
                        "A request with this Idempotency-Key is still running; retry shortly.",
                        headers={"Retry-After": "1"},
                    ),
                )
                return
            claim = outcome

        connection_retries = CONNECTION_RETRIES
        for attempt in range(1, MAX_ATTEMPTS + 2):
            buffer = _ResponseBuffer()
            for note in (RETRYABLE_CONFLICT, CONNECTION_LOST, SHOWN_ONCE):
                ctx.notes.pop(note, None)
            _fresh_attempt(scope)
            try:
                await self.app(scope, replaying_receive(body, receive), buffer)
                if ctx.notes.pop(CONNECTION_LOST, False) and connection_retries > 0:
                    raise _ConnectionLost
                if ctx.notes.pop(RETRYABLE_CONFLICT, False) and attempt < MAX_ATTEMPTS:
                    raise _RetryableConflict
                status = buffer.status
                if 200 <= status < 300 or (claim is not None and status in STORED_ERROR_STATUSES):
                    if status >= 300:
                        await unit.rollback()  # keep nothing of a refusal but its answer
                    if claim is not None:
                        stored_headers, stored_body = buffer.header_map(), buffer.body()
                        secrets = fields_shown_once(ctx)
                        if secrets:  # the replay says so instead of showing them again
                            stored_body = redacted_body(stored_body, secrets)
                            stored_headers[REDACTED_HEADER] = ",".join(secrets)
                        if not await self.store.complete(
                            unit, claim.record_id, status, stored_headers, stored_body
                        ):
                            raise _AlreadyCompleted
                    await unit.commit()
                    claim = None
                else:
                    await unit.rollback()
            except Exception as exc:
                committing = unit.committing
                lost = isinstance(exc, _ConnectionLost) or is_connection_lost(exc)
                if lost:
                    await unit.discard_connection()
                await _rollback_quietly(unit)
                if claim is not None and (isinstance(exc, _AlreadyCompleted) or committing):
                    # An earlier run completed the claim, or COMMIT went out as the connection
                    # broke: the stored answer, if there is one, is this request's answer.
                    landed = await self._landed(claim)
                    if landed is not None:
                        await _send_replay(send, landed)
                        return
                # Run again on a fresh connection; a commit that did land after all is
                # caught by the claim's completion (in progress only), never posted twice.
                if lost and connection_retries > 0 and (not committing or claim is not None):
                    connection_retries -= 1
                    log.warning("request.retrying_lost_connection", attempt=attempt)
                    continue
                if attempt < MAX_ATTEMPTS and (
                    isinstance(exc, _RetryableConflict) or is_retryable_conflict(exc)
                ):
                    # A deadlock or serialization failure: nothing took effect; run it again.
                    log.warning("request.retrying_conflict", attempt=attempt)
                    await asyncio.sleep(random.uniform(0.005, 0.05) * attempt)
                    continue
                if not lost:
                    log.exception("request.commit_failed", error=str(exc))
                if claim is not None:
                    await _release_quietly(self.store, claim, None if lost else unit)
                error = (
                    _unavailable()
                    if lost or is_retryable_conflict(exc) or isinstance(exc, _AlreadyCompleted)
                    else _internal_error()
                )
                await send_error(scope, send, error)
                return
            break
        if claim is not None:
            await _release_quietly(self.store, claim, unit)
        await buffer.flush(send)

    async def _claim(
        self, unit: UnitOfWork, tenant_id: Any, principal_id: Any, key: str, fingerprint: str
    ) -> ClaimOutcome | None:
        """Claim the key (again once on a broken connection); None when the database is
        unreachable."""
        for attempt in range(CONNECTION_RETRIES + 1):
            try:
                return await self.store.claim(unit, tenant_id, principal_id, key, fingerprint)
            except Exception as exc:
                if not is_connection_lost(exc):
                    raise
                await unit.discard_connection()
                log.warning("idempotency.claim_failed", error=str(exc), attempt=attempt + 1)
        return None

    async def _landed(self, claim: Claimed) -> Replay | None:
        try:
            return await self.store.outcome(claim.record_id)
        except Exception as exc:  # still unreachable: the claim stays ours, unanswered
            log.warning("idempotency.outcome_unknown", error=str(exc))
            return None


def _fresh_attempt(scope: Scope) -> None:
    """Before a request runs again: Litestar's exception stage keeps "a response has
    started" in the scope, and the earlier run's answer (held back or buffered) set it; left
    set, any refusal of the rerun (a 422, a 404) became "Exception caught after response
    started" and a 500 (fault suite, issue 13)."""
    ScopeState.from_scope(scope).response_started = False  # type: ignore[arg-type]


class _HoldIfLost:
    """Sends a read's answer, unless it is the error of a lost connection with a retry left
    (the read then runs again and its answer goes out instead)."""

    def __init__(self, send: Send, notes: dict[str, Any], *, last: bool) -> None:
        self.send, self.notes, self.last = send, notes, last
        self.held = False

    async def __call__(self, message: Message) -> None:
        if not self.last and self.notes.get(CONNECTION_LOST):
            self.held = True
            return
        await self.send(message)


class _ResponseBuffer:
    """Holds the response until its transaction has committed."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    @property
    def status(self) -> int:
        return int(self.start["status"]) if self.start else 500

    def body(self) -> bytes:
        return b"".join(self.chunks)

    def header_map(self) -> dict[str, str]:
        raw = self.start.get("headers", []) if self.start else []
        return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}

    async def flush(self, send: Send) -> None:
        assert self.start is not None
        body = self.body()
        headers = [(k, v) for k, v in self.start.get("headers", []) if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send(
            {"type": "http.response.start", "status": self.start["status"], "headers": headers}
        )
        await send({"type": "http.response.body", "body": body})


async def _send_replay(send: Send, replay: Replay) -> None:
    headers = [(k.encode(), v.encode()) for k, v in replay.headers.items()]
    headers += [
        (b"content-length", str(len(replay.body)).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    await send({"type": "http.response.start", "status": replay.status, "headers": headers})
    await send({"type": "http.response.body", "body": replay.body})


async def _rollback_quietly(unit: UnitOfWork) -> None:
    try:
        await unit.rollback()
    except Exception as exc:  # a broken connection: its transaction is gone already
        log.warning("request.rollback_failed", error=str(exc))


async def _release_quietly(
    store: IdempotencyStore, claim: Claimed, unit: UnitOfWork | None
) -> None:
    try:
        await store.release(claim.record_id, unit)
    except Exception as exc:  # the claim expires after the lock timeout anyway
        log.warning("idempotency.release_failed", error=str(exc))


def _unavailable() -> ApiError:
    return ApiError(
        "SERVICE_UNAVAILABLE",
        "The database is unreachable; try again shortly.",
        headers={"Retry-After": "2"},
    )


def _internal_error() -> ApiError:
    return ApiError("INTERNAL_ERROR", "Something went wrong on our side; nothing was changed.")


def _too_large() -> ApiError:
    return ApiError("PAYLOAD_TOO_LARGE", "Request bodies are limited to 1 MiB.")
