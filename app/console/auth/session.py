"""Staff sessions: server-side, rotated at sign-in, timed out when idle and after 12 hours.

The browser holds one opaque cookie (the session ID). The session store keeps the signed-in
user, the tenant and two timestamps; the token pair lives beside it in a second store, keyed
by the same session ID, so that a response writing back a stale copy of the session can
never overwrite tokens another request has just refreshed (the core treats a reused refresh
token as theft and revokes the session).
"""

import secrets
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import Empty, Message, ScopeSession

from app.client import AuthResult, BankingAPIError, TokenSet
from app.console.permissions import ROLE_LABELS, check_permission, highest_role
from app.console.security import client_ip, request_id
from app.console.state import ConsoleState, console_state

logger = structlog.get_logger("branchdesk.console")

ROTATED_SESSION_KEY = "branchdesk.rotated_session_id"
USER_STATE_KEY = "console_user"
SESSION_ID_BYTES = 32
# Set on a request the page made by itself (see :func:`is_background`): it neither moves
# ``last_seen`` nor writes the session back.
BACKGROUND_STATE_KEY = "branchdesk.background"
# What a page's live blocks send with the requests a live signal triggers (``hx-headers``).
BACKGROUND_HEADER = "X-Background"
# ``last_seen`` moves in steps of at least this many seconds (and at most a twentieth of
# the idle limit), so that a staff member's clicks do not each rewrite the session in the
# store: a session idles out at most one step *earlier* than the idle limit says, never
# later (issue 11; docs/decisions.md).
LAST_SEEN_STEP_SECONDS = 15.0
# The session as the store held it when this request loaded it (see store_in_message).
LOADED_STATE_KEY = "branchdesk.session_loaded"


@dataclass(frozen=True)
class StaffMember:
    """The signed-in staff member, as the core described them at sign-in."""

    id: str
    email: str
    name: str
    roles: list[str]
    branch_id: str

    @property
    def role(self) -> str | None:
        """The highest role (roles are cumulative)."""
        return highest_role(self.roles)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role or "", "No role")


@dataclass(frozen=True)
class Tenant:
    """The bank the session belongs to."""

    id: str
    code: str
    name: str


@dataclass(frozen=True)
class SignedIn:
    """A live staff session."""

    session_id: str
    user: StaffMember
    tenant: Tenant
    login_at: float
    last_seen: float

    @property
    def roles(self) -> list[str]:
        return self.user.roles


class SessionExpired(NotAuthorizedException):
    """The session passed its idle timeout or its absolute lifetime."""


class CoreSessionEnded(NotAuthorizedException):
    """The core refused the session's tokens (revoked, expired refresh): sign in again."""


# -- the session backend -------------------------------------------------------------------


class ConsoleSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side backend, plus a fresh ID at sign-in and no anonymous rows.

    * ``rotate_session_id`` makes the response carry a new ID (session fixation defence).
    * A request without a signed-in session stores nothing and sets no cookie, so anonymous
      traffic cannot fill the store.
    """

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        state = connection.scope.get("state") or {}
        rotated = state.get(ROTATED_SESSION_KEY)
        if isinstance(rotated, str):
            return rotated
        return super().get_session_id(connection)

    async def load_from_connection(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> dict[str, Any]:  # Litestar's signature: the session as the middleware keeps it
        data = await super().load_from_connection(connection)
        if data:
            # A copy to compare with at the end: most requests change nothing.
            connection.scope.setdefault("state", {})[LOADED_STATE_KEY] = dict(data)  # type: ignore[typeddict-item]
        return data

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        if scope_session is not Empty and scope_session:
            if _unchanged_background(connection) or _unchanged(scope_session, connection):
                # Nothing to write (the store and the cookie already hold it), and writing
                # back the copy this request loaded could undo the last_seen a click in
                # another tab moved meanwhile.
                return
            await super().store_in_message(scope_session, message, connection)
            return
        cookie_id = connection.cookies.get(self.config.key)
        if not cookie_id or cookie_id == "null":
            return
        store = self.config.get_store_from_app(connection.scope["app"])
        await self.delete(cookie_id, store=store)
        headers = MutableScopeHeaders.from_message(message)
        expired = Cookie(
            key=self.config.key,
            value="",
            max_age=0,
            expires=0,
            path=self.config.path,
            secure=self.config.secure,
            httponly=True,
            samesite=self.config.samesite,
        )
        headers.add("Set-Cookie", expired.to_header(header=""))


def _unchanged_background(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    state = connection.scope.get("state") or {}
    return bool(state.get(BACKGROUND_STATE_KEY)) and ROTATED_SESSION_KEY not in state


def _unchanged(scope_session: Any, connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether the session is exactly what this request loaded under the same ID."""
    state = connection.scope.get("state") or {}
    return ROTATED_SESSION_KEY not in state and state.get(LOADED_STATE_KEY) == scope_session


class ConsoleSessionConfig(ServerSideSessionConfig):
    """:class:`ServerSideSessionConfig` using :class:`ConsoleSessionBackend`."""

    _backend_class = ConsoleSessionBackend


def cookie_is_secure(host: str, production: bool) -> bool:
    """``Secure`` cookies everywhere but plain-HTTP localhost development."""
    return production or host not in {"localhost", "127.0.0.1", "::1"}


def session_cookie_name(secure: bool) -> str:
    # The __Host- prefix pins a Secure cookie to this exact host and path.
    return "__Host-bd_session" if secure else "bd_session"


def csrf_cookie_name(secure: bool) -> str:
    return "__Host-bd_csrf" if secure else "bd_csrf"


# -- tokens --------------------------------------------------------------------------------


class SessionTokenHolder:
    """A :class:`app.client.TokenHolder` for one staff session, backed by the token store."""

    def __init__(self, console: ConsoleState, session_id: str) -> None:
        self._console = console
        self._session_id = session_id

    async def load(self) -> TokenSet | None:
        raw = await self._console.token_store.get(self._session_id)
        if raw is None:
            return None
        return TokenSet.model_validate_json(raw)

    async def save(self, tokens: TokenSet) -> None:
        await self._console.token_store.set(
            self._session_id,
            tokens.model_dump_json().encode(),
            expires_in=self._console.settings.console.session_absolute_seconds,
        )

    def lock(self) -> AbstractAsyncContextManager[None]:
        return self._console.locks.lock(self._session_id)

    async def discard(self) -> None:
        await self._console.token_store.delete(self._session_id)


# -- reading and writing the session -------------------------------------------------------


def _signed_in(session_id: str | None, data: Any) -> SignedIn | None:
    if not session_id or not isinstance(data, dict):
        return None
    try:
        user = data["user"]
        tenant = data["tenant"]
        return SignedIn(
            session_id=session_id,
            user=StaffMember(
                id=str(user["id"]),
                email=str(user["email"]),
                name=str(user["name"]),
                roles=[str(r) for r in user["roles"]],
                branch_id=str(user["branch_id"]),
            ),
            tenant=Tenant(id=str(tenant["id"]), code=str(tenant["code"]), name=str(tenant["name"])),
            login_at=float(data["login_at"]),
            last_seen=float(data["last_seen"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def current_session(connection: ASGIConnection[Any, Any, Any, Any]) -> SignedIn | None:
    """The session the guard checked for this request, if someone is signed in."""
    value = connection.state.get(USER_STATE_KEY)
    return value if isinstance(value, SignedIn) else None


def session_id_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The ID the browser presented (or the fresh one given at sign-in)."""
    state = connection.scope.get("state") or {}
    rotated = state.get(ROTATED_SESSION_KEY)
    if isinstance(rotated, str):
        return rotated
    return connection.get_session_id()


async def start_session(
    connection: ASGIConnection[Any, Any, Any, Any], result: AuthResult
) -> SignedIn:
    """Sign ``result``'s staff member in under a brand-new session ID.

    Whatever session the browser presented is destroyed first, with its tokens.
    """
    console = console_state(connection.app)
    old_id = connection.get_session_id()
    if old_id:
        await console.session_store.delete(old_id)
        await SessionTokenHolder(console, old_id).discard()
    new_id = secrets.token_hex(SESSION_ID_BYTES)
    connection.scope.setdefault("state", {})[ROTATED_SESSION_KEY] = new_id  # type: ignore[typeddict-item]
    await SessionTokenHolder(console, new_id).save(result.token_set())
    now = time.time()
    data = {
        "user": result.user.model_dump(),
        "tenant": result.tenant.model_dump(),
        "login_at": now,
        "last_seen": now,
    }
    connection.set_session(data)
    signed_in = _signed_in(new_id, data)
    assert signed_in is not None
    connection.state[USER_STATE_KEY] = signed_in
    return signed_in


async def end_session(
    connection: ASGIConnection[Any, Any, Any, Any], *, revoke: bool, request_id: str
) -> None:
    """Forget the session and its tokens; with ``revoke``, end the core session too."""
    console = console_state(connection.app)
    session_id = session_id_of(connection)
    if session_id:
        holder = SessionTokenHolder(console, session_id)
        tokens = await holder.load()
        if revoke and tokens is not None:
            signed_in = current_session(connection) or _signed_in(
                session_id, connection.scope.get("session")
            )
            try:
                await console.client.logout(
                    tokens.access_token,
                    tenant=signed_in.tenant.code if signed_in else None,
                    request_id=request_id,
                    forwarded_for=client_ip(connection.scope),
                )
            except BankingAPIError as exc:
                # The console session ends regardless; the core token expires on its own.
                logger.warning("console.core_logout_failed", code=exc.code, request_id=request_id)
        await holder.discard()
        # This process's copies (app.console.banking) go with them.
        console.token_cache.pop(session_id, None)
        console.me_cache.pop(session_id, None)
    connection.clear_session()
    connection.state[USER_STATE_KEY] = None


def is_background(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> bool:
    """Whether the page made this request by itself rather than the staff member.

    The live stream and the badge are background by route, whatever they are sent with. A
    block that a live signal refreshes (Home's figure, the queue) asks a URL a person also
    opens, so its element sends :data:`BACKGROUND_HEADER`. The header can only make a
    request *not* count as activity, so trusting it gives a client nothing; it is honoured
    on reads only, which change nothing.
    """
    if handler.opt.get("background"):
        return True
    if connection.scope.get("method") not in {"GET", "HEAD"}:
        return False
    return connection.headers.get(BACKGROUND_HEADER, "").lower() == "true"


def last_seen_step(console: ConsoleState) -> float:
    """How far ``last_seen`` must lag before a request moves it (and writes the session)."""
    return min(LAST_SEEN_STEP_SECONDS, console.settings.console.session_idle_seconds / 20)


def expiry_reason(signed_in: SignedIn, console: ConsoleState, now: float) -> str | None:
    """``"idle"`` or ``"absolute"`` when the session has timed out, else ``None``."""
    settings = console.settings.console
    if now - signed_in.login_at >= settings.session_absolute_seconds:
        return "absolute"
    if now - signed_in.last_seen >= settings.session_idle_seconds:
        return "idle"
    return None


async def session_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The app-wide guard: load the session, enforce timeouts, then the route's permission.

    Raises:
        SessionExpired: The session timed out (the user is sent to sign in again).
        NotAuthorizedException: Nobody is signed in and the route is not public.
        MissingPermission: The user's role lacks the route's permission.
    """
    if handler.opt.get("static"):
        return
    console = console_state(connection.app)
    signed_in = _signed_in(connection.get_session_id(), connection.scope.get("session"))
    if signed_in is not None:
        reason = expiry_reason(signed_in, console, time.time())
        if reason is not None:
            await end_session(connection, revoke=True, request_id=request_id(connection.scope))
            logger.info("console.session_expired", reason=reason)
            if not handler.opt.get("public"):
                raise SessionExpired(f"session expired ({reason})")
            signed_in = None
        elif is_background(connection, handler):
            # What the page does by itself is not the staff member at work: an unattended
            # page must still idle out (security review, issue 10).
            connection.scope.setdefault("state", {})[BACKGROUND_STATE_KEY] = True  # type: ignore[typeddict-item]
        else:
            now = time.time()
            if now - signed_in.last_seen >= last_seen_step(console):
                connection.session["last_seen"] = now
    connection.state[USER_STATE_KEY] = signed_in
    check_permission(signed_in, handler)
