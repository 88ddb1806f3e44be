"""Sign-in, API-key tokens, refresh with rotation and reuse detection, sign-out."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit import service as audit
from app.core.auth import responses as answers
from app.core.auth.models import ApiKey, AuthSession, RefreshToken, StaffUser
from app.core.auth.passwords import hash_secret, new_secret, verify_password
from app.core.context import RequestContext, TenantRef
from app.core.errors import ApiError
from app.core.permissions import highest_role, scopes_for_role
from app.core.revocation import session_key
from app.core.services import CoreServices
from app.core.tenants.models import Tenant
from app.core.webhooks import outbox
from app.db import UtcDateTime, utcnow

_T = TypeVar("_T")
# Set on a sign-in whose password was right but which waits for its second factor: the
# rate limiter gives back its place in the failed-sign-in bucket (it failed nothing).
PASSWORD_ACCEPTED = "password_accepted"


def _invalid_credentials() -> ApiError:
    return ApiError("INVALID_CREDENTIALS", "The email or password is not right.")


def _is_locked(locked_until: datetime | None) -> bool:
    return locked_until is not None and locked_until > utcnow()


def _at(moment: datetime) -> sa.BindParameter[datetime]:
    """A timestamp as a bound value of the columns' own type (UTC, on both databases)."""
    return sa.literal(moment, UtcDateTime())


def _user_body(user: StaffUser) -> answers.SignedInAs:
    return answers.SignedInAs(
        id=str(user.id),
        email=user.email,
        name=user.name,
        roles=list(user.roles),
        branch_id=user.branch_code,
    )


def tenant_ref_body(tenant: TenantRef) -> answers.TenantRef:
    return answers.TenantRef(id=str(tenant.id), code=tenant.code, name=tenant.name)


class AuthService:
    def __init__(self, services: CoreServices, session: AsyncSession, ctx: RequestContext) -> None:
        self.services = services
        self.session = session
        self.ctx = ctx
        self.settings = services.settings.auth

    async def login(self, tenant: TenantRef, email: str, password: str) -> answers.TokenPair:
        """Check the password outside any write, then write the outcome in one transaction.

        The password check (Argon2) is the slow part; on the embedded database holding the
        one writer through it would stall every deposit behind a burst of guesses. So the
        user is read, the read ends (on PostgreSQL its pooled connection goes back), the
        password is checked, and only then is the writer taken for the short writes: the
        counters, the session, the audit record. The idempotency stage leaves this route to
        take the writer itself (``is_sign_in``).
        """
        email = email.strip().lower()
        found = (
            await self.session.execute(
                sa.select(
                    col(StaffUser.id),
                    col(StaffUser.email),
                    col(StaffUser.password_hash),
                    col(StaffUser.locked_until),
                ).where(
                    col(StaffUser.tenant_id) == tenant.id,
                    sa.func.lower(col(StaffUser.email)) == email,
                )
            )
        ).one_or_none()
        await self.session.rollback()
        user_id: uuid.UUID | None = found.id if found is not None else None
        if found is not None and _is_locked(found.locked_until):
            stored_email: str = found.email
            refusal = await self._writing(lambda auth: auth._refuse_locked(found.id, stored_email))
            raise refusal
        valid = await verify_password(found.password_hash if found else None, password)
        if user_id is None or not valid:
            await self._writing(lambda auth: auth._record_failure(tenant, email, user_id))
            raise _invalid_credentials()
        known: uuid.UUID = user_id
        outcome = await self._writing(lambda auth: auth._sign_in(tenant, email, known))
        if isinstance(outcome, ApiError):
            raise outcome
        return outcome

    async def _writing(self, step: Callable[["AuthService"], Awaitable[_T]]) -> _T:
        """Run ``step`` in a transaction of its own under the writer, and commit it."""
        db = self.services.db
        async with db.writer(), db.session() as session:
            result = await step(AuthService(self.services, session, self.ctx))
            await session.commit()
        return result

    async def _refuse_locked(self, user_id: uuid.UUID, email: str) -> ApiError:
        user = await self.session.get(StaffUser, user_id)
        locked_until = user.locked_until if user is not None else None
        audit.record(
            self.session,
            self.ctx,
            "auth.login_refused",
            entity_type="staff_user",
            entity_id=user_id,
            outcome="locked",
            actor_id=user_id,
            actor_email=email,
        )
        seconds = (locked_until - utcnow()).total_seconds() if locked_until else 0
        minutes = max(1, int(seconds // 60) + 1)
        return ApiError(
            "ACCOUNT_LOCKED",
            f"This account is locked after repeated failed sign-ins; "
            f"try again in {minutes} min or ask an admin to unlock it.",
        )

    async def _sign_in(
        self, tenant: TenantRef, email: str, user_id: uuid.UUID
    ) -> answers.TokenPair | ApiError:
        """The right password: decide on the row as it is now (locked by the writer, or by
        ``FOR UPDATE``), since guesses checked alongside may have locked the account."""
        user = (
            await self.session.execute(
                sa.select(StaffUser).where(col(StaffUser.id) == user_id).with_for_update()
            )
        ).scalar_one_or_none()
        if user is None or not user.is_active:
            await self._record_failure(tenant, email, user.id if user else None)
            return _invalid_credentials()
        if _is_locked(user.locked_until):
            return await self._refuse_locked(user.id, user.email)
        tenant_row = await self.session.get(Tenant, tenant.id)
        if tenant_row is not None:
            # The second factor (issue 14): the password is right, but the sign-in waits
            # for a code. The failure count stays as it is until the code is right too.
            from app.core.auth.mfa import SecondFactors

            step = await SecondFactors(self.session, self.services.settings.identity).sign_in_step(
                tenant_row, user
            )
            if step is not None:
                audit.record(
                    self.session,
                    self.ctx,
                    "auth.mfa_challenged",
                    entity_type="staff_user",
                    entity_id=user.id,
                    outcome="pending",
                    after={"step": step.code},
                    actor_id=user.id,
                    actor_email=user.email,
                    tenant_id=tenant.id,
                )
                self.ctx.notes[PASSWORD_ACCEPTED] = True
                return step
        return await self._open_session(tenant, user, method="password")

    async def _open_session(
        self, tenant: TenantRef, user: StaffUser, *, method: str
    ) -> answers.TokenPair:
        """The staff member proved who they are (``method``): a fresh session and pair."""
        now = utcnow()
        user.failed_login_count = 0
        user.first_failed_at = None
        user.locked_until = None
        user.last_login_at = now
        self.session.add(user)
        auth_session = AuthSession(
            tenant_id=tenant.id,
            user_id=user.id,
            ip=self.ctx.client_ip,
            expires_at=now,
            absolute_expires_at=now,
        )
        self._start_lifetime(auth_session, now)
        self.session.add(auth_session)
        audit.record(
            self.session,
            self.ctx,
            "auth.login",
            entity_type="staff_user",
            entity_id=user.id,
            after={"method": method},
            actor_id=user.id,
            actor_email=user.email,
            tenant_id=tenant.id,
        )
        return await self._issue_pair(tenant, auth_session, user=user)

    async def _record_failure(
        self,
        tenant: TenantRef,
        email: str,
        user_id: uuid.UUID | None,
        *,
        action: str = "auth.login_failed",
        reason: str | None = None,
    ) -> None:
        """Count, audit and (at the threshold) lock.

        The count is one ``UPDATE ... SET n = n + 1 RETURNING``: a count read, incremented
        in Python and written back loses every concurrent failure but one on PostgreSQL.
        The window restarts in the same statement when the first failure is too old.
        A wrong second-factor code counts here exactly like a wrong password
        (``action`` ``auth.mfa_failed``, with its ``reason``).
        """
        audit.record(
            self.session,
            self.ctx,
            action,
            entity_type="staff_user",
            entity_id=user_id,
            outcome="failure",
            after={"reason": reason} if reason else None,
            actor_id=user_id,
            actor_email=email[:254],
            tenant_id=tenant.id,
        )
        outbox.emit(
            self.session,
            tenant.id,
            "security.login_failed",
            {"email": email[:254], "ip": self.ctx.client_ip},
            self.ctx.request_id,
        )
        if user_id is None:
            return
        now = utcnow()
        window = timedelta(seconds=self.settings.lockout_seconds)
        threshold = self.settings.lockout_threshold
        first_failed_at = col(StaffUser.first_failed_at)
        window_over = sa.or_(first_failed_at.is_(None), first_failed_at < _at(now - window))
        count = sa.case((window_over, 1), else_=col(StaffUser.failed_login_count) + 1)
        row = (
            await self.session.execute(
                sa.update(StaffUser)
                .where(col(StaffUser.id) == user_id)
                .values(
                    failed_login_count=count,
                    first_failed_at=sa.case((window_over, _at(now)), else_=first_failed_at),
                    locked_until=sa.case(
                        (count >= threshold, _at(now + window)),
                        else_=col(StaffUser.locked_until),
                    ),
                )
                .returning(
                    col(StaffUser.failed_login_count),
                    col(StaffUser.locked_until),
                    col(StaffUser.email),
                )
                .execution_options(synchronize_session=False)
            )
        ).one_or_none()
        # Announced once, by the failure that reached the threshold (others may follow it
        # in the same burst: they were checked before the lock was there to stop them).
        if row is None or row.failed_login_count != threshold or row.locked_until is None:
            return
        audit.record(
            self.session,
            self.ctx,
            "auth.account_locked",
            entity_type="staff_user",
            entity_id=user_id,
            outcome="locked",
            actor_id=user_id,
            actor_email=row.email,
            tenant_id=tenant.id,
        )
        outbox.emit(
            self.session,
            tenant.id,
            "security.account_locked",
            {
                "user_id": str(user_id),
                "email": row.email,
                "locked_until": row.locked_until.isoformat(),
            },
            self.ctx.request_id,
        )

    async def api_key_token(self, tenant: TenantRef, api_key: str) -> answers.TokenPair:
        key = (
            await self.session.execute(
                sa.select(ApiKey).where(ApiKey.key_hash == hash_secret(api_key))  # type: ignore[arg-type]
            )
        ).scalar_one_or_none()
        if (
            key is None
            or key.tenant_id != tenant.id
            or key.revoked_at is not None
            or not await self._owner_active(key)
        ):
            audit.record(
                self.session,
                self.ctx,
                "auth.api_key_refused",
                entity_type="api_key" if key is not None else None,
                entity_id=key.id if key is not None else None,
                outcome="failure",
                tenant_id=tenant.id,
            )
            await self.session.commit()
            raise ApiError("INVALID_CREDENTIALS", "The API key is not valid.")
        now = utcnow()
        auth_session = (
            AuthSession(
                id=key.id,
                tenant_id=tenant.id,
                api_key_id=key.id,
                ip=self.ctx.client_ip,
                expires_at=now,
                absolute_expires_at=now,
            )
            if await self.session.get(AuthSession, key.id) is None
            else None
        )
        if auth_session is None:
            auth_session = await self.session.get(AuthSession, key.id)
            assert auth_session is not None
        # Presenting the key is a fresh authentication: the key's one session starts anew.
        self._start_lifetime(auth_session, now)
        self.session.add(auth_session)
        audit.record(
            self.session,
            self.ctx,
            "auth.api_key_token",
            entity_type="api_key",
            entity_id=key.id,
            actor_id=key.id,
            actor_email=f"api-key:{key.name}",
            tenant_id=tenant.id,
        )
        return await self._issue_pair(tenant, auth_session, api_key=key)

    async def _owner_active(self, key: ApiKey) -> bool:
        """A key acts for the staff member who made it: never past their deactivation.

        Deactivating a user revokes their keys (admin service); this also covers keys whose
        owner was deactivated before that rule existed.
        """
        if key.created_by is None:
            return True
        owner = await self.session.get(StaffUser, key.created_by)
        return owner is None or owner.is_active

    async def refresh(self, tenant: TenantRef, refresh_token: str) -> answers.TokenPair:
        row = (
            await self.session.execute(
                sa.select(RefreshToken).where(
                    RefreshToken.token_hash == hash_secret(refresh_token)  # type: ignore[arg-type]
                )
            )
        ).scalar_one_or_none()
        invalid = ApiError("INVALID_REFRESH_TOKEN", "The refresh token is not valid; sign in.")
        if row is None:
            raise invalid
        auth_session = await self.session.get(AuthSession, row.session_id)
        if auth_session is None or auth_session.tenant_id != tenant.id:
            raise invalid
        if auth_session.revoked_at is not None:
            raise ApiError("TOKEN_REVOKED", "This session has been signed out; sign in again.")
        now = utcnow()
        # The refresh token, the sliding expiry and the absolute end: past any, sign in.
        if min(row.expires_at, auth_session.expires_at, auth_session.absolute_expires_at) <= now:
            raise invalid
        spent = await self.session.execute(
            sa.update(RefreshToken)
            .where(RefreshToken.id == row.id, RefreshToken.spent_at.is_(None))  # type: ignore[arg-type,union-attr]
            .values(spent_at=now)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            # A spent token came back: someone holds a copy. End the whole session.
            await self.revoke_session(auth_session, reason="refresh_token_reuse")
            audit.record(
                self.session,
                self.ctx,
                "auth.refresh_reuse_detected",
                entity_type="auth_session",
                entity_id=auth_session.id,
                outcome="revoked",
                actor_id=auth_session.user_id,
                tenant_id=tenant.id,
            )
            await self.session.commit()
            raise invalid
        auth_session.expires_at = min(
            now + timedelta(seconds=self.settings.refresh_ttl_seconds),
            auth_session.absolute_expires_at,
        )
        self.session.add(auth_session)
        # The rotation is a state change like any other: it leaves its record.
        if auth_session.api_key_id is not None:
            key = await self.session.get(ApiKey, auth_session.api_key_id)
            if key is None or key.revoked_at is not None or not await self._owner_active(key):
                raise invalid
            audit.record(
                self.session,
                self.ctx,
                "auth.refreshed",
                entity_type="auth_session",
                entity_id=auth_session.id,
                actor_id=key.id,
                actor_email=f"api-key:{key.name}",
                tenant_id=tenant.id,
            )
            return await self._issue_pair(tenant, auth_session, api_key=key)
        user = await self.session.get(StaffUser, auth_session.user_id)
        if user is None or not user.is_active:
            raise invalid
        audit.record(
            self.session,
            self.ctx,
            "auth.refreshed",
            entity_type="auth_session",
            entity_id=auth_session.id,
            actor_id=user.id,
            actor_email=user.email,
            tenant_id=tenant.id,
        )
        return await self._issue_pair(tenant, auth_session, user=user)

    async def logout(self) -> None:
        principal = self.ctx.principal
        assert principal is not None
        auth_session = await self.session.get(AuthSession, principal.session_id)
        if auth_session is not None:
            await self.revoke_session(auth_session, reason="logout")
        else:
            await self.services.revocations.revoke(
                session_key(principal.session_id),
                self.settings.access_ttl_seconds + 60,
                self.session,
            )
        audit.record(
            self.session,
            self.ctx,
            "auth.logout",
            entity_type="auth_session",
            entity_id=principal.session_id,
        )

    def _start_lifetime(self, auth_session: AuthSession, now: datetime) -> None:
        """A session's absolute end is fixed here; its sliding expiry starts here."""
        auth_session.absolute_expires_at = now + timedelta(
            seconds=self.settings.session_absolute_ttl_seconds
        )
        auth_session.expires_at = min(
            now + timedelta(seconds=self.settings.refresh_ttl_seconds),
            auth_session.absolute_expires_at,
        )

    async def revoke_session(self, auth_session: AuthSession, reason: str) -> None:
        """Blacklist the session's tokens at once, and mark it so refresh fails too."""
        auth_session.revoked_at = auth_session.revoked_at or utcnow()
        auth_session.revoked_reason = reason
        self.session.add(auth_session)
        await self.services.revocations.revoke(
            session_key(auth_session.id), self.settings.access_ttl_seconds + 60, self.session
        )

    async def _issue_pair(
        self,
        tenant: TenantRef,
        auth_session: AuthSession,
        *,
        user: StaffUser | None = None,
        api_key: ApiKey | None = None,
    ) -> answers.TokenPair:
        issued_at = int(utcnow().timestamp())
        session_ends_at = int(auth_session.absolute_expires_at.timestamp())
        if user is not None:
            role = highest_role(user.roles)
            issued = self.services.tokens.issue_access_token(
                user_id=user.id,
                tenant_id=tenant.id,
                email=user.email,
                name=user.name,
                roles=list(user.roles),
                scopes=scopes_for_role(role) if role != "none" else [],
                branch_code=user.branch_code,
                session_id=auth_session.id,
                now=issued_at,
                session_ends_at=session_ends_at,
            )
            user_body = _user_body(user)
        else:
            assert api_key is not None
            issued = self.services.tokens.issue_access_token(
                user_id=api_key.id,
                tenant_id=tenant.id,
                email=f"api-key:{api_key.name}",
                name=api_key.name,
                roles=[api_key.role],
                scopes=list(api_key.scopes),
                branch_code=api_key.branch_code,
                session_id=auth_session.id,
                kind="api_key",
                owner_id=api_key.created_by,
                now=issued_at,
                session_ends_at=session_ends_at,
            )
            user_body = answers.SignedInAs(
                id=str(api_key.id),
                email=f"api-key:{api_key.name}",
                name=api_key.name,
                roles=[api_key.role],
                branch_id=api_key.branch_code,
            )
        refresh_token = new_secret("rt")
        self.session.add(
            RefreshToken(
                session_id=auth_session.id,
                token_hash=hash_secret(refresh_token),
                expires_at=auth_session.expires_at,  # the session's sliding expiry
            )
        )
        return answers.TokenPair(
            access_token=issued.token,
            refresh_token=refresh_token,
            token_type="Bearer",
            expires_in=issued.expires_at - issued_at,
            user=user_body,
            tenant=tenant_ref_body(tenant),
        )


async def revoke_user_sessions(
    services: CoreServices, session: AsyncSession, user_id: uuid.UUID, reason: str
) -> int:
    """Revoke every session of a staff user that is not over (deactivation, rights
    changes, admin revocation).

    Over means nothing of it is alive: every token a session issued was issued before
    its sliding expiry, so an access token of it lives at most one access-token life (and
    the verifiers' leeway) past that expiry. Anything younger can still refresh or still
    has a live access token, whatever its sign-in promised.
    """
    now = utcnow()
    auth = services.settings.auth
    over_before = now - timedelta(seconds=auth.access_ttl_seconds + auth.leeway_seconds + 60)
    rows = (
        (
            await session.execute(
                sa.select(AuthSession).where(
                    col(AuthSession.user_id) == user_id,
                    col(AuthSession.revoked_at).is_(None),
                    col(AuthSession.expires_at) > over_before,
                )
            )
        )
        .scalars()
        .all()
    )
    for auth_session in rows:
        auth_session.revoked_at = now
        auth_session.revoked_reason = reason
        session.add(auth_session)
        await services.revocations.revoke(
            session_key(auth_session.id), services.settings.auth.access_ttl_seconds + 60, session
        )
    return len(rows)


async def tenant_row(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise ApiError("TENANT_NOT_FOUND", "No such tenant.")
    return tenant


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
