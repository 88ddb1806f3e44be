"""The sign-in steps after a right password: verify a code, or enrol the first factor.

Each step runs in one short transaction under the writer (these are sign-in routes: the
middleware leaves the writer to them), and a refusal's writes (the failure count, the
challenge's attempts, the audit record) are committed before the refusal is answered.
"""

import uuid
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit import service as audit
from app.core.auth import responses as answers
from app.core.auth.mfa import ENROL, VERIFY, CodeCheck, SecondFactors, invalid_challenge
from app.core.auth.models import StaffUser
from app.core.auth.service import AuthService
from app.core.context import RequestContext, TenantRef
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.idempotency.shown_once import shown_once
from app.core.services import CoreServices
from app.db import utcnow


def _wrong_code(check: CodeCheck, attempts_left: int) -> ApiError:
    if check.reason == "reused_code":
        return ApiError(
            "MFA_CODE_REUSED",
            "That code was already used; wait for the next code in your app and enter it.",
            [detail("code", DetailCode.REUSED, "already used", attempts_left)],
        )
    field = "recovery_code" if check.reason == "wrong_recovery_code" else "code"
    what = "recovery code" if field == "recovery_code" else "code"
    return ApiError(
        "INVALID_MFA_CODE",
        f"That {what} is not right; check it and try again.",
        [detail(field, DetailCode.INVALID, "not right", attempts_left)],
    )


class MfaSignIn:
    def __init__(self, services: CoreServices, session: AsyncSession, ctx: RequestContext) -> None:
        self.auth = AuthService(services, session, ctx)
        self.identity = services.settings.identity

    async def _run(self, step: Any) -> Any:
        await self.auth.session.rollback()  # the request's own session writes nothing
        outcome = await self.auth._writing(step)
        if isinstance(outcome, ApiError):
            raise outcome
        return outcome

    async def _user(self, auth: AuthService, user_id: uuid.UUID) -> StaffUser | ApiError:
        user = (
            await auth.session.execute(
                sa.select(StaffUser).where(col(StaffUser.id) == user_id).with_for_update()
            )
        ).scalar_one_or_none()
        if user is None or not user.is_active:
            return invalid_challenge()
        if user.locked_until is not None and user.locked_until > utcnow():
            return await auth._refuse_locked(user.id, user.email)
        found: StaffUser = user
        return found

    async def _opened(
        self, auth: AuthService, tenant: TenantRef, token: str, purpose: str
    ) -> tuple[SecondFactors, Any, StaffUser] | ApiError:
        """The challenge ``token`` names (of this purpose) and the staff member it is for."""
        factors = SecondFactors(auth.session, self.identity)
        try:
            challenge = await factors.open_challenge(token, tenant.id, purpose)
        except ApiError as refused:
            return refused
        user = await self._user(auth, challenge.user_id)
        if isinstance(user, ApiError):
            return user
        return factors, challenge, user

    async def _failed(
        self,
        auth: AuthService,
        factors: SecondFactors,
        tenant: TenantRef,
        challenge: Any,
        user: StaffUser,
        check: CodeCheck,
    ) -> ApiError:
        attempts = await factors.count_wrong(challenge)
        await auth._record_failure(
            tenant, user.email, user.id, action="auth.mfa_failed", reason=check.reason
        )
        left = max(0, self.identity.challenge_attempts - attempts)
        refreshed = await auth.session.get(StaffUser, user.id)
        if refreshed is not None:
            await auth.session.refresh(refreshed)
            if refreshed.locked_until is not None and refreshed.locked_until > utcnow():
                return await auth._refuse_locked(user.id, user.email)
        return _wrong_code(check, left)

    async def verify(
        self, tenant: TenantRef, token: str, code: str | None, recovery_code: str | None
    ) -> answers.VerifiedSession:
        """A code (or a recovery code) for a ``MFA_REQUIRED`` challenge: the session."""

        async def step(auth: AuthService) -> answers.VerifiedSession | ApiError:
            opened = await self._opened(auth, tenant, token, VERIFY)
            if isinstance(opened, ApiError):
                return opened
            factors, challenge, user = opened
            factor = await factors.factor(user.id)
            if factor is None or factor.confirmed_at is None:
                return invalid_challenge()
            if recovery_code is not None:
                check = await factors.use_recovery_code(user.id, recovery_code)
            else:
                check = await factors.check_totp(factor, code or "")
            if not check.ok:
                return await self._failed(auth, factors, tenant, challenge, user, check)
            if not await factors.spend(challenge):
                return invalid_challenge()
            pair = await auth._open_session(tenant, user, method=f"password+{check.reason}")
            session = answers.VerifiedSession(**msgspec.structs.asdict(pair))
            if check.reason == "recovery_code":
                left = await factors.recovery_codes_left(user.id)
                session.recovery_codes_left = left
                audit.record(
                    auth.session,
                    auth.ctx,
                    "auth.mfa_recovery_code_used",
                    entity_type="staff_user",
                    entity_id=user.id,
                    after={"recovery_codes_left": left},
                    actor_id=user.id,
                    actor_email=user.email,
                    tenant_id=tenant.id,
                )
            return session

        result: answers.VerifiedSession = await self._run(step)
        return result

    async def start_enrolment(self, tenant: TenantRef, token: str) -> answers.MfaEnrolment:
        """For a ``MFA_ENROLMENT_REQUIRED`` challenge: a new TOTP seed to add to an app."""

        async def step(auth: AuthService) -> answers.MfaEnrolment | ApiError:
            opened = await self._opened(auth, tenant, token, ENROL)
            if isinstance(opened, ApiError):
                return opened
            factors, _challenge, user = opened
            try:
                enrolment = await factors.start_enrolment(tenant.id, user)
            except ApiError as refused:
                return refused
            audit.record(
                auth.session,
                auth.ctx,
                "auth.mfa_enrolment_started",
                entity_type="staff_user",
                entity_id=user.id,
                actor_id=user.id,
                actor_email=user.email,
                tenant_id=tenant.id,
            )
            return enrolment

        result: answers.MfaEnrolment = await self._run(step)
        shown_once(self.auth.ctx, "secret", "otpauth_uri")
        return result

    async def confirm_enrolment(
        self, tenant: TenantRef, token: str, code: str
    ) -> answers.EnrolledSession:
        """The new factor's first code: the factor is on, the recovery codes are shown
        (this once), and the sign-in finishes with the session."""

        async def step(auth: AuthService) -> answers.EnrolledSession | ApiError:
            opened = await self._opened(auth, tenant, token, ENROL)
            if isinstance(opened, ApiError):
                return opened
            factors, challenge, user = opened
            try:
                check = await factors.confirm_enrolment(user.id, code)
            except ApiError as refused:
                return refused
            if not check.ok:
                return await self._failed(auth, factors, tenant, challenge, user, check)
            if not await factors.spend(challenge):
                return invalid_challenge()
            codes = await factors.new_recovery_codes(user.id)
            audit.record(
                auth.session,
                auth.ctx,
                "auth.mfa_enrolled",
                entity_type="staff_user",
                entity_id=user.id,
                after={"method": "totp", "recovery_codes": len(codes)},
                actor_id=user.id,
                actor_email=user.email,
                tenant_id=tenant.id,
            )
            pair = await auth._open_session(tenant, user, method="password+totp")
            return answers.EnrolledSession(**msgspec.structs.asdict(pair), recovery_codes=codes)

        result: answers.EnrolledSession = await self._run(step)
        shown_once(self.auth.ctx, "recovery_codes", "access_token", "refresh_token")
        return result
