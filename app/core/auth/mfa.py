"""The second factor for password sign-ins: when it is asked for, its challenges, TOTP
codes, recovery codes, and an admin's reset of it.

A password sign-in that needs the factor ends in ``401 MFA_REQUIRED`` (or
``MFA_ENROLMENT_REQUIRED`` when the staff member has none yet) carrying a challenge: a
random token, kept only as its SHA-256, that lives a few minutes, takes a few wrong codes
and is spent by the first right one. The challenge, never the password, carries the
sign-in to its next step, so the console holds nothing secret between the two.

Wrong codes count exactly like wrong passwords: the same per-account counter with the
same atomic ``UPDATE … RETURNING`` (``AuthService._record_failure``), the same lock and
the same per-address bucket at the rate limiter (these routes are sign-in routes). A code
is accepted once: the factor keeps the time step of the last code it took, and the step
moves forward in one conditional ``UPDATE``, so two requests racing with one code cannot
both win.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.admin.responses import FactorReset
from app.core.admin.responses import SecondFactor as SecondFactorStatus
from app.core.auth import responses as answers
from app.core.auth import sealing, totp
from app.core.auth.identity_models import MfaChallenge, RecoveryCode, SecondFactor
from app.core.auth.models import StaffUser
from app.core.auth.passwords import new_secret
from app.core.errors import ApiError
from app.core.permissions import ROLES, has_role
from app.core.tenants.models import Tenant
from app.db import utcnow
from app.settings import IdentitySettings

VERIFY = "verify"
ENROL = "enrol"
RECOVERY_CODE_COUNT = 10
SEED_PURPOSE = "totp-seed"
# The setting's words: a role name, or "none" (nobody needs a factor).
MFA_ROLE_CHOICES: tuple[str, ...] = (*ROLES, "none")


def required_for(tenant: Tenant, roles: list[str] | tuple[str, ...]) -> bool:
    """Whether the tenant's setting asks ``roles`` for a second factor."""
    minimum = tenant.mfa_required_role
    return minimum in ROLES and has_role(roles, minimum)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invalid_challenge() -> ApiError:
    return ApiError(
        "INVALID_MFA_CHALLENGE",
        "This sign-in step has expired or was already used; sign in again.",
    )


@dataclass(frozen=True)
class CodeCheck:
    """What a typed code turned out to be."""

    ok: bool
    reason: str  # "totp", "recovery_code", "wrong_code", "reused_code", "wrong_recovery_code"


class SecondFactors:
    """The second factor of one tenant's staff, in the caller's transaction."""

    def __init__(self, session: AsyncSession, settings: IdentitySettings) -> None:
        self.session = session
        self.settings = settings

    # -- sign-in ------------------------------------------------------------------------

    async def factor(self, user_id: uuid.UUID) -> SecondFactor | None:
        return await self.session.get(SecondFactor, user_id)

    async def sign_in_step(self, tenant: Tenant, user: StaffUser) -> ApiError | None:
        """At the right password: ``None`` when no factor is needed, else the refusal
        carrying a fresh challenge (to verify a code, or to enrol a factor first).

        A staff member who enrolled a factor is always asked for it, whatever the tenant
        requires: they chose the stronger sign-in, and an attacker with their password
        must not be able to skip it.
        """
        factor = await self.factor(user.id)
        confirmed = factor is not None and factor.confirmed_at is not None
        if not confirmed and not required_for(tenant, user.roles):
            return None
        purpose = VERIFY if confirmed else ENROL
        token = await self.issue_challenge(tenant.id, user.id, purpose)
        body = {
            "challenge": token,
            "expires_in": self.settings.challenge_seconds,
            "methods": ["totp", "recovery_code"] if confirmed else ["totp_enrolment"],
        }
        if confirmed:
            return ApiError(
                "MFA_REQUIRED",
                "Enter the 6-digit code from your authenticator app (or a recovery code).",
                extra={"mfa": body},
            )
        return ApiError(
            "MFA_ENROLMENT_REQUIRED",
            "Your role needs a second factor: add an authenticator app to finish signing in.",
            extra={"mfa": body},
        )

    async def issue_challenge(self, tenant_id: uuid.UUID, user_id: uuid.UUID, purpose: str) -> str:
        """A new challenge for the user; their earlier unfinished ones end (one sign-in
        waits for its factor at a time, and the table keeps at most one live row each)."""
        await self.session.execute(
            sa.delete(MfaChallenge).where(col(MfaChallenge.user_id) == user_id)
        )
        token = new_secret("mfa")
        now = utcnow()
        self.session.add(
            MfaChallenge(
                token_hash=_digest(token),
                tenant_id=tenant_id,
                user_id=user_id,
                purpose=purpose,
                created_at=now,
                expires_at=now + timedelta(seconds=self.settings.challenge_seconds),
            )
        )
        return token

    async def open_challenge(self, token: str, tenant_id: uuid.UUID, purpose: str) -> MfaChallenge:
        """The live challenge ``token`` names, locked for this transaction.

        Raises:
            ApiError: ``INVALID_MFA_CHALLENGE`` for an unknown, foreign, spent, expired or
                exhausted challenge, or one of another step.
        """
        challenge = (
            await self.session.execute(
                sa.select(MfaChallenge)
                .where(col(MfaChallenge.token_hash) == _digest(token))
                .with_for_update()
            )
        ).scalar_one_or_none()
        if (
            challenge is None
            or challenge.tenant_id != tenant_id
            or challenge.purpose != purpose
            or challenge.used_at is not None
            or challenge.expires_at <= utcnow()
            or challenge.attempts >= self.settings.challenge_attempts
        ):
            raise invalid_challenge()
        found: MfaChallenge = challenge
        return found

    async def spend(self, challenge: MfaChallenge) -> bool:
        """Mark the challenge used; ``False`` when another request spent it first."""
        done = await self.session.execute(
            sa.update(MfaChallenge)
            .where(col(MfaChallenge.id) == challenge.id, col(MfaChallenge.used_at).is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return int(done.rowcount) == 1  # type: ignore[attr-defined]

    async def count_wrong(self, challenge: MfaChallenge) -> int:
        """One more wrong code against this challenge; the count after it (atomic)."""
        row = (
            await self.session.execute(
                sa.update(MfaChallenge)
                .where(col(MfaChallenge.id) == challenge.id)
                .values(attempts=col(MfaChallenge.attempts) + 1)
                .returning(col(MfaChallenge.attempts))
                .execution_options(synchronize_session=False)
            )
        ).scalar_one()
        return int(row)

    # -- codes --------------------------------------------------------------------------

    def seed(self, factor: SecondFactor) -> str:
        return sealing.unseal(
            factor.secret, self.settings.secrets_key, SEED_PURPOSE, factor.user_id
        )

    async def check_totp(self, factor: SecondFactor, code: str) -> CodeCheck:
        """Accept ``code`` once: its time step must be later than the last one taken."""
        step = totp.matching_step(self.seed(factor), code)
        if step is None:
            return CodeCheck(False, "wrong_code")
        last = col(SecondFactor.last_used_step)
        moved = await self.session.execute(
            sa.update(SecondFactor)
            .where(
                col(SecondFactor.user_id) == factor.user_id,
                sa.or_(last.is_(None), last < step),
            )
            .values(last_used_step=step)
            .execution_options(synchronize_session=False)
        )
        if int(moved.rowcount) != 1:  # type: ignore[attr-defined]
            return CodeCheck(False, "reused_code")
        factor.last_used_step = step
        return CodeCheck(True, "totp")

    async def use_recovery_code(self, user_id: uuid.UUID, code: str) -> CodeCheck:
        """Spend one unused recovery code of the user (each works once)."""
        spent = await self.session.execute(
            sa.update(RecoveryCode)
            .where(
                col(RecoveryCode.user_id) == user_id,
                col(RecoveryCode.code_hash) == totp.recovery_digest(code),
                col(RecoveryCode.used_at).is_(None),
            )
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if int(spent.rowcount) != 1:  # type: ignore[attr-defined]
            return CodeCheck(False, "wrong_recovery_code")
        return CodeCheck(True, "recovery_code")

    async def recovery_codes_left(self, user_id: uuid.UUID) -> int:
        return int(
            (
                await self.session.execute(
                    sa.select(sa.func.count())
                    .select_from(RecoveryCode)
                    .where(
                        col(RecoveryCode.user_id) == user_id, col(RecoveryCode.used_at).is_(None)
                    )
                )
            ).scalar_one()
        )

    # -- enrolment ----------------------------------------------------------------------

    async def start_enrolment(self, tenant_id: uuid.UUID, user: StaffUser) -> answers.MfaEnrolment:
        """A new pending seed for the user (replacing a pending one), and how to add it.

        Raises:
            ApiError: ``INVALID_STATE`` when the user already has a confirmed factor (only
                an admin's reset removes one).
        """
        factor = await self.factor(user.id)
        if factor is not None and factor.confirmed_at is not None:
            raise ApiError(
                "INVALID_STATE",
                "You already have a second factor; ask an admin to reset it to add another.",
            )
        seed = totp.new_secret()
        sealed = sealing.seal(seed, self.settings.secrets_key, SEED_PURPOSE, user.id)
        if factor is None:
            factor = SecondFactor(user_id=user.id, tenant_id=tenant_id, secret=sealed)
        else:
            factor.secret = sealed
            factor.created_at = utcnow()
            factor.last_used_step = None
        self.session.add(factor)
        return answers.MfaEnrolment(
            secret=seed,
            otpauth_uri=totp.provisioning_uri(seed, user.email, self.settings.totp_issuer),
            issuer=self.settings.totp_issuer,
            account=user.email,
            digits=totp.DIGITS,
            period=totp.STEP_SECONDS,
        )

    async def confirm_enrolment(self, user_id: uuid.UUID, code: str) -> CodeCheck:
        """The first code from the new factor confirms it (and counts as used)."""
        factor = await self.factor(user_id)
        if factor is None or factor.confirmed_at is not None:
            raise ApiError(
                "INVALID_STATE",
                "There is no authenticator being added; start again.",
            )
        check = await self.check_totp(factor, code)
        if check.ok:
            factor.confirmed_at = utcnow()
            self.session.add(factor)
        return check

    async def new_recovery_codes(self, user_id: uuid.UUID) -> list[str]:
        """A fresh set of recovery codes (the old ones stop working); shown once."""
        await self.session.execute(
            sa.delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id)
        )
        codes = [totp.new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        for code in codes:
            self.session.add(RecoveryCode(user_id=user_id, code_hash=totp.recovery_digest(code)))
        return codes

    async def remove(self, user_id: uuid.UUID) -> bool:
        """Remove the user's factor, recovery codes and pending challenges (a reset)."""
        factor = await self.factor(user_id)
        await self.session.execute(
            sa.delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id)
        )
        await self.session.execute(
            sa.delete(MfaChallenge).where(col(MfaChallenge.user_id) == user_id)
        )
        if factor is None:
            return False
        await self.session.delete(factor)
        return True

    async def status(
        self,
        tenant: Tenant,
        user: StaffUser,
        *,
        pending_reset: FactorReset | None,
        reset_needs_second_admin: bool,
    ) -> SecondFactorStatus:
        """What an admin sees of the factor (and of a reset waiting for approval)."""
        factor = await self.factor(user.id)
        confirmed = factor is not None and factor.confirmed_at is not None
        return SecondFactorStatus(
            enrolled=confirmed,
            enrolled_at=factor.confirmed_at.isoformat().replace("+00:00", "Z")
            if factor is not None and factor.confirmed_at is not None
            else None,
            required=required_for(tenant, user.roles),
            required_from_role=tenant.mfa_required_role,
            recovery_codes_left=await self.recovery_codes_left(user.id) if confirmed else 0,
            pending_reset=pending_reset,
            reset_needs_second_admin=reset_needs_second_admin,
        )
