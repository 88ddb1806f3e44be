"""Single sign-on: the core issues its own session for a staff member the tenant's
identity provider vouched for.

The console runs the browser's part (authorization code with PKCE, ``state``, ``nonce``)
and hands the core either the authorization code with its PKCE verifier (the core redeems
it with the tenant's sealed client secret) or an ID token it obtained itself. Either way
the ID token is checked against the tenant's configured issuer and client ID
(``app.core.auth.oidc``), used once, and then:

* the staff member is found by the verified e-mail address (created on first sign-in only
  when the tenant allows it) and bound to the provider's subject at their first sign-on;
* a deactivated or locked staff member is refused, as at the password sign-in;
* roles and branch follow the provider's groups at every sign-in (the tenant's mapping),
  and a change is audited and ends the staff member's other sessions, like an admin's.

Every refusal is audited (``auth.sso_refused`` with the reason), including tokens from an
issuer the tenant did not configure.
"""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit import service as audit
from app.core.auth import oidc, sealing
from app.core.auth import responses as answers
from app.core.auth.identity_models import IdentityProvider
from app.core.auth.models import RevokedToken, StaffUser
from app.core.auth.service import AuthService, revoke_user_sessions
from app.core.context import RequestContext, TenantRef
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.permissions import ROLE_RANK, highest_role
from app.core.services import CoreServices
from app.db import utcnow

CLIENT_SECRET_PURPOSE = "idp-client-secret"
# A staff user made by single sign-on has no password: this is no Argon2 hash, so no
# password ever matches it (``verify_password`` answers False for it).
NO_PASSWORD = "!sso-only"


def not_configured() -> ApiError:
    return ApiError(
        "RESOURCE_NOT_FOUND",
        "This bank has no single sign-on configured; sign in with your email and password.",
    )


def denied(reason: str, message: str) -> ApiError:
    return ApiError("SSO_ACCESS_DENIED", message, [detail("id_token", DetailCode.REJECTED, reason)])


async def load_provider(session: AsyncSession, tenant_id: uuid.UUID) -> IdentityProvider | None:
    provider = await session.get(IdentityProvider, tenant_id)
    return provider if provider is not None and provider.enabled else None


def _groups(claims: dict[str, Any], claim: str) -> set[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {str(v) for v in value if isinstance(v, str | int)}
    return set()


def mapped_rights(provider: IdentityProvider, groups: set[str]) -> tuple[str | None, str | None]:
    """The highest role the staff member's groups give, and the branch of that mapping
    (the first mapping of that role naming one), per the tenant's group mapping."""
    best: dict[str, Any] | None = None
    for mapping in provider.group_mappings:
        if str(mapping.get("group")) not in groups:
            continue
        role = str(mapping.get("role"))
        if role not in ROLE_RANK:
            continue
        better = best is None or ROLE_RANK[role] > ROLE_RANK[str(best["role"])]
        same_with_branch = (
            best is not None
            and ROLE_RANK[role] == ROLE_RANK[str(best["role"])]
            and not best.get("branch_id")
            and mapping.get("branch_id")
        )
        if better or same_with_branch:
            best = mapping
    if best is None:
        return None, None
    branch = best.get("branch_id")
    return str(best["role"]), str(branch) if branch else None


def _verified(claims: dict[str, Any]) -> bool:
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.lower() == "true")


class SingleSignOn:
    def __init__(self, services: CoreServices, session: AsyncSession, ctx: RequestContext) -> None:
        self.services = services
        self.session = session
        self.ctx = ctx
        self.settings = services.settings.identity

    async def provider_config(self, tenant: TenantRef) -> answers.OidcProvider:
        """What the console needs to send staff to the provider (nothing secret)."""
        provider = await load_provider(self.session, tenant.id)
        if provider is None:
            raise not_configured()
        metadata = await oidc.DIRECTORY.metadata(provider.issuer, self.settings)
        return answers.OidcProvider(
            display_name=provider.display_name,
            issuer=provider.issuer,
            client_id=provider.client_id,
            scopes=provider.scopes,
            authorization_endpoint=metadata.authorization_endpoint,
            end_session_endpoint=metadata.end_session_endpoint,
        )

    async def sign_in(
        self,
        tenant: TenantRef,
        *,
        nonce: str,
        id_token: str | None = None,
        code: str | None = None,
        code_verifier: str | None = None,
        redirect_uri: str | None = None,
        issuer: str | None = None,
    ) -> answers.SsoSession:
        """Check what the provider said and issue the usual session (see the module).

        The provider is called (discovery, keys, token endpoint) before any write, and the
        writer is taken only for the short writes at the end, like the password sign-in.
        """
        provider = await load_provider(self.session, tenant.id)
        if provider is None:
            raise not_configured()
        # Kept as read (a detached copy): the read ends here, before the provider is called.
        self.session.expunge(provider)
        await self.session.rollback()
        # RFC 9207: the callback's ``iss`` names who answered; another provider's answer
        # (a mix-up) is refused before its code goes anywhere.
        if issuer is not None and issuer != provider.issuer:
            raise await self._refuse(tenant, "unknown_issuer", _unknown_issuer(), issuer=issuer)
        if id_token is not None:
            claimed = oidc.unverified_issuer(id_token)
            if claimed != provider.issuer:
                raise await self._refuse(
                    tenant, "unknown_issuer", _unknown_issuer(), issuer=claimed
                )
        metadata = await oidc.DIRECTORY.metadata(provider.issuer, self.settings)
        try:
            if id_token is None:
                assert code is not None and code_verifier is not None and redirect_uri
                secret = sealing.unseal(
                    provider.client_secret,
                    self.settings.secrets_key,
                    CLIENT_SECRET_PURPOSE,
                    provider.tenant_id,
                )
                id_token = await oidc.redeem_code(
                    metadata,
                    client_id=provider.client_id,
                    client_secret=secret,
                    code=code,
                    code_verifier=code_verifier,
                    redirect_uri=redirect_uri,
                    settings=self.settings,
                )
                claimed = oidc.unverified_issuer(id_token)
                if claimed != provider.issuer:
                    raise await self._refuse(
                        tenant, "unknown_issuer", _unknown_issuer(), issuer=claimed
                    )
            claims = await oidc.validate_id_token(
                id_token,
                metadata=metadata,
                client_id=provider.client_id,
                nonce=nonce,
                settings=self.settings,
            )
        except ApiError as error:
            if error.code in {"INVALID_ID_TOKEN", "AUTHORIZATION_CODE_REJECTED"}:
                reason = error.details[0]["reason"] if error.details else error.code
                raise await self._refuse(tenant, str(reason), error) from None
            raise
        token_id = hashlib.sha256(id_token.encode()).hexdigest()
        outcome = await AuthService(self.services, self.session, self.ctx)._writing(
            lambda auth: self._sign_in(auth, tenant, provider, claims, token_id)
        )
        if isinstance(outcome, ApiError):
            raise outcome
        return answers.SsoSession(
            **msgspec.structs.asdict(outcome),
            identity_provider=answers.ProviderSession(
                display_name=provider.display_name,
                end_session_endpoint=metadata.end_session_endpoint,
                id_token_hint=id_token,  # spent here; the console's sign-out names it
            ),
        )

    async def _refuse(
        self,
        tenant: TenantRef,
        reason: str,
        error: ApiError,
        *,
        issuer: str | None = None,
        email: str | None = None,
        user_id: uuid.UUID | None = None,
    ) -> ApiError:
        """Keep the refusal on record (its own transaction: the request fails) and
        return it to raise."""

        async def record(auth: AuthService) -> None:
            after: dict[str, Any] = {"reason": reason}
            if issuer is not None:
                after["issuer"] = issuer
            audit.record(
                auth.session,
                auth.ctx,
                "auth.sso_refused",
                entity_type="staff_user" if user_id is not None else None,
                entity_id=user_id,
                outcome="refused",
                after=after,
                actor_id=user_id,
                actor_email=email[:254] if email else None,
                tenant_id=tenant.id,
            )

        await AuthService(self.services, self.session, self.ctx)._writing(record)
        return error

    async def _sign_in(
        self,
        auth: AuthService,
        tenant: TenantRef,
        provider: IdentityProvider,
        claims: dict[str, Any],
        token_id: str,
    ) -> answers.TokenPair | ApiError:
        session = auth.session

        async def refuse(reason: str, error: ApiError, user: StaffUser | None = None) -> ApiError:
            audit.record(
                session,
                auth.ctx,
                "auth.sso_refused",
                entity_type="staff_user" if user is not None else None,
                entity_id=user.id if user is not None else None,
                outcome="refused",
                after={"reason": reason, "issuer": provider.issuer, "subject": claims["sub"]},
                actor_id=user.id if user is not None else None,
                actor_email=(email or None),
                tenant_id=tenant.id,
            )
            return error

        raw_email = claims.get(provider.email_claim)
        email = raw_email.strip().lower()[:254] if isinstance(raw_email, str) else ""
        # One use per ID token: a copy presented again (a replay) finds its mark.
        if not await _spend_id_token(
            session,
            token_id,
            int(claims["exp"]),
            self.settings,
            sqlite_db=self.services.db.is_sqlite,
        ):
            return await refuse("replayed", oidc.invalid_id_token("it was already used"))
        if not email or "@" not in email:
            return await refuse(
                "no_email",
                denied("no_email", "The sign-in service did not send your e-mail address."),
            )
        if provider.require_verified_email and not _verified(claims):
            return await refuse(
                "email_not_verified",
                denied(
                    "email_not_verified",
                    "The sign-in service has not verified your e-mail address; ask IT.",
                ),
            )
        role, branch = mapped_rights(provider, _groups(claims, provider.groups_claim))
        user = (
            await session.execute(
                sa.select(StaffUser)
                .where(
                    col(StaffUser.tenant_id) == tenant.id,
                    sa.func.lower(col(StaffUser.email)) == email,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
        if role is None:
            return await refuse(
                "no_mapped_group",
                denied(
                    "no_mapped_group",
                    "None of your groups at the sign-in service gives access to Branchdesk; "
                    "ask IT to add you to the right group.",
                ),
                user,
            )
        if user is None:
            if not provider.create_users:
                return await refuse(
                    "no_staff_user",
                    denied(
                        "no_staff_user",
                        "There is no staff user with your e-mail address at this bank; "
                        "ask an admin to create one.",
                    ),
                )
            branch = branch or provider.default_branch
            if branch is None:
                return await refuse(
                    "no_branch",
                    denied(
                        "no_branch",
                        "Your groups name no branch and the bank set no default one; ask an admin.",
                    ),
                )
            user = await _create_user(auth, tenant, claims, email, role, branch)
        if not user.is_active:
            return await refuse(
                "deactivated",
                denied("deactivated", "This staff account is deactivated; ask an admin."),
                user,
            )
        if user.locked_until is not None and user.locked_until > utcnow():
            return await auth._refuse_locked(user.id, user.email)
        subject = str(claims["sub"])[:255]
        if user.idp_subject is not None and (user.idp_issuer, user.idp_subject) != (
            provider.issuer,
            subject,
        ):
            return await refuse(
                "subject_mismatch",
                denied(
                    "subject_mismatch",
                    "This staff account is linked to another person at the sign-in service; "
                    "ask an admin.",
                ),
                user,
            )
        if user.idp_subject is None:
            user.idp_issuer = provider.issuer
            user.idp_subject = subject
        await _follow_groups(auth, user, role, branch)
        return await auth._open_session(tenant, user, method="sso")


def _unknown_issuer() -> ApiError:
    return ApiError(
        "UNKNOWN_ISSUER",
        "This sign-in came from an identity provider this bank has not configured; sign "
        "in through your bank's own sign-in service.",
        [detail("iss", DetailCode.REJECTED, "not the tenant's issuer")],
    )


async def _spend_id_token(
    session: AsyncSession, token_id: str, expires: int, settings: Any, *, sqlite_db: bool
) -> bool:
    """Mark the ID token used until it could no longer pass (its expiry plus the leeway);
    ``False`` when it was marked before (one ``INSERT … ON CONFLICT DO NOTHING``, so two
    requests racing with one token cannot both pass)."""
    until = datetime.fromtimestamp(expires, UTC) + timedelta(
        seconds=settings.id_token_leeway_seconds + 60
    )
    # The marks of tokens that can no longer pass go as new ones come (nothing else
    # purges this table), so it holds at most the last hour or so of sign-ons.
    await session.execute(
        sa.delete(RevokedToken).where(
            col(RevokedToken.key).startswith("id-token:"),
            col(RevokedToken.expires_at) < utcnow(),
        )
    )
    insert = (sqlite.insert if sqlite_db else postgresql.insert)(RevokedToken.__table__)  # type: ignore[attr-defined]
    done = await session.execute(
        insert.values(
            key=f"id-token:{token_id}", expires_at=max(until, utcnow())
        ).on_conflict_do_nothing(index_elements=["key"])
    )
    return int(done.rowcount) == 1  # type: ignore[attr-defined]


async def _create_user(
    auth: AuthService,
    tenant: TenantRef,
    claims: dict[str, Any],
    email: str,
    role: str,
    branch: str,
) -> StaffUser:
    from app.core.tenants.service import find_branch

    known = await find_branch(auth.session, tenant.id, branch)
    name = (
        claims.get("name")
        or " ".join(str(claims.get(k) or "") for k in ("given_name", "family_name")).strip()
    )
    user = StaffUser(
        tenant_id=tenant.id,
        email=email,
        name=(str(name) or email)[:200],
        password_hash=NO_PASSWORD,
        roles=[role],
        branch_code=known.code if known is not None else branch,
    )
    auth.session.add(user)
    await auth.session.flush()
    audit.record(
        auth.session,
        auth.ctx,
        "user.created",
        entity_type="staff_user",
        entity_id=user.id,
        after={
            "email": user.email,
            "name": user.name,
            "roles": list(user.roles),
            "branch_id": user.branch_code,
            "is_active": True,
            "source": "identity_provider",
        },
        actor_id=user.id,
        actor_email=user.email,
        tenant_id=tenant.id,
    )
    return user


async def _follow_groups(auth: AuthService, user: StaffUser, role: str, branch: str | None) -> None:
    """Roles (and branch, where the mapping names one) as the provider's groups say.

    A change is audited as the provider's, and ends the staff member's other sessions and
    (for a demotion) their API keys, exactly as an admin's change does.
    """
    from app.core.admin.service import revoke_keys_of_lost_rights

    before = {
        "name": user.name,
        "roles": list(user.roles),
        "branch_id": user.branch_code,
        "is_active": user.is_active,
    }
    new_roles = [role]
    new_branch = branch or user.branch_code
    if highest_role(user.roles) == role and new_branch == user.branch_code:
        return  # the same rights (roles are cumulative: ["teller", "officer"] is officer)
    user.roles = new_roles
    user.branch_code = new_branch
    auth.session.add(user)
    after = {**before, "roles": new_roles, "branch_id": new_branch}
    audit.record(
        auth.session,
        auth.ctx,
        "user.updated",
        entity_type="staff_user",
        entity_id=user.id,
        before=before,
        after={**after, "source": "identity_provider"},
        actor_id=user.id,
        actor_email=user.email,
        tenant_id=user.tenant_id,
    )
    await revoke_keys_of_lost_rights(auth.services, auth.session, auth.ctx, user, before)
    revoked = await revoke_user_sessions(auth.services, auth.session, user.id, "rights_changed")
    if revoked:
        audit.record(
            auth.session,
            auth.ctx,
            "user.sessions_revoked",
            entity_type="staff_user",
            entity_id=user.id,
            after={"revoked": revoked, "reason": "rights_changed"},
            actor_id=user.id,
            actor_email=user.email,
            tenant_id=user.tenant_id,
        )
