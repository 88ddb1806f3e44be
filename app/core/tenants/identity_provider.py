"""/tenant/identity-provider: the bank's OpenID Connect provider, set by its admins.

The client secret is write-only: it is sealed as it arrives and no answer ever shows it
(``client_secret_set`` says whether one is kept). A ``PUT`` without ``client_secret``
keeps the one already set. Every change is audited with the settings before and after
(the secret only as "changed"), and forgets this process's discovery and keys of the
provider.
"""

import uuid
from typing import Annotated, Any

import msgspec
from litestar import delete, get, put
from litestar.status_codes import HTTP_204_NO_CONTENT
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit import service as audit
from app.core.auth import oidc, sealing
from app.core.auth.identity_models import IdentityProvider
from app.core.auth.sso import CLIENT_SECRET_PURPOSE
from app.core.common import iso
from app.core.context import RequestContext, TenantRef
from app.core.contract.bodies import Body, refuse
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.permissions import ROLES, requires
from app.core.services import CoreServices
from app.core.tenants import responses as answers
from app.core.tenants.service import find_branch
from app.db import utcnow

ADMIN = {**requires("admin", "admin:full"), "idempotency_required": False}


Claim = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_:./\-]{1,100}$")]
BranchCode = Annotated[str, msgspec.Meta(min_length=1, max_length=10)]


class GroupMapping(Body):
    group: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    # One of permissions.ROLES: checked by IdentityProviderUpdate, which names the mapping
    # (``group_mappings.<n>.role``); the document says the choices (contract/requests.py).
    role: str
    branch_id: BranchCode | None = None


class IdentityProviderUpdate(Body):
    """`PUT /tenant/identity-provider`: the whole configuration (the secret may be left
    out to keep the one set)."""

    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=80, pattern=r"\S")]
    issuer: Annotated[str, msgspec.Meta(min_length=8, max_length=500)]
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=r"\S")]
    group_mappings: Annotated[list[GroupMapping], msgspec.Meta(min_length=1, max_length=200)]
    # Printable characters without spaces.
    client_secret: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=400, pattern=r"^[\x21-\x7e]+$")] | None
    ) = None
    # Space-separated, openid among them.
    scopes: Annotated[
        str, msgspec.Meta(min_length=6, max_length=255, pattern=r"(^|\s)openid(\s|$)")
    ] = "openid email profile"
    groups_claim: Claim = "groups"
    email_claim: Claim = "email"
    require_verified_email: bool = True
    create_users: bool = False
    default_branch: BranchCode | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        refuse(
            detail(
                f"group_mappings.{index}.role",
                DetailCode.INVALID_CHOICE,
                f"must be one of {', '.join(ROLES)}",
                mapping.role,
            )
            for index, mapping in enumerate(self.group_mappings)
            if mapping.role not in ROLES
        )
        self.display_name = self.display_name.strip()
        self.client_id = self.client_id.strip()
        self.scopes = " ".join(dict.fromkeys(self.scopes.split()))


def provider_body(provider: IdentityProvider) -> answers.IdentityProvider:
    """The configuration as the API shows it: never the client secret."""
    return answers.IdentityProvider(
        display_name=provider.display_name,
        issuer=provider.issuer,
        client_id=provider.client_id,
        client_secret_set=bool(provider.client_secret),
        scopes=provider.scopes,
        groups_claim=provider.groups_claim,
        email_claim=provider.email_claim,
        require_verified_email=provider.require_verified_email,
        create_users=provider.create_users,
        default_branch=provider.default_branch,
        group_mappings=msgspec.convert(provider.group_mappings, list[answers.MappedGroup]),
        enabled=provider.enabled,
        updated_at=iso(provider.updated_at),
        updated_by=str(provider.updated_by) if provider.updated_by else None,
    )


def _audited(body: answers.IdentityProvider) -> dict[str, Any]:
    """What the audit record keeps of the configuration (not who changed it when)."""
    plain: dict[str, Any] = msgspec.to_builtins(body)
    return {k: v for k, v in plain.items() if k not in {"updated_at", "updated_by"}}


async def _branch(
    session: AsyncSession, tenant_id: uuid.UUID, code: str | None, field: str
) -> str | None:
    if code is None:
        return None
    branch = await find_branch(session, tenant_id, code)
    if branch is None:
        raise ApiError(
            "VALIDATION_ERROR",
            f"There is no branch with code {code}.",
            [detail(field, DetailCode.UNKNOWN_BRANCH, "no such branch", code)],
        )
    return branch.code


async def save_provider(
    session: AsyncSession,
    ctx: RequestContext,
    tenant_id: uuid.UUID,
    data: IdentityProviderUpdate,
    services: CoreServices,
) -> IdentityProvider:
    settings = services.settings
    problem = oidc.check_issuer_url(data.issuer, production=settings.server.production)
    if problem is not None:
        raise ApiError(
            "VALIDATION_ERROR",
            f"issuer {problem}.",
            [detail("issuer", DetailCode.INVALID_FORMAT, problem, data.issuer)],
        )
    mappings: list[dict[str, Any]] = []
    for index, mapping in enumerate(data.group_mappings):
        branch = await _branch(
            session, tenant_id, mapping.branch_id, f"group_mappings.{index}.branch_id"
        )
        mappings.append({"group": mapping.group, "role": mapping.role, "branch_id": branch})
    default_branch = await _branch(session, tenant_id, data.default_branch, "default_branch")
    provider = await session.get(IdentityProvider, tenant_id)
    before = _audited(provider_body(provider)) if provider is not None else None
    if provider is None and data.client_secret is None:
        raise ApiError(
            "VALIDATION_ERROR",
            "client_secret is required when the provider is first set.",
            [detail("client_secret", DetailCode.REQUIRED, "required")],
        )
    old_issuer = provider.issuer if provider is not None else None
    if provider is None:
        provider = IdentityProvider(
            tenant_id=tenant_id,
            display_name=data.display_name,
            issuer=data.issuer,
            client_id=data.client_id,
            client_secret="",
        )
    provider.display_name = data.display_name
    provider.issuer = data.issuer
    provider.client_id = data.client_id
    provider.scopes = data.scopes
    provider.groups_claim = data.groups_claim
    provider.email_claim = data.email_claim
    provider.require_verified_email = data.require_verified_email
    provider.create_users = data.create_users
    provider.default_branch = default_branch
    provider.group_mappings = mappings
    provider.enabled = data.enabled
    if data.client_secret is not None:
        provider.client_secret = sealing.seal(
            data.client_secret,
            settings.identity.secrets_key,
            CLIENT_SECRET_PURPOSE,
            tenant_id,
        )
    provider.updated_at = utcnow()
    provider.updated_by = ctx.principal.user_id if ctx.principal else None
    session.add(provider)
    after = _audited(provider_body(provider))
    if data.client_secret is not None:
        after["client_secret"] = "(changed)"
    if after != before:
        audit.record(
            session,
            ctx,
            "tenant.identity_provider_updated",
            entity_type="tenant",
            entity_id=tenant_id,
            before=before,
            after=after,
        )
    for issuer in {old_issuer, data.issuer}:
        if issuer:
            oidc.DIRECTORY.forget(issuer)
    return provider


@get("/tenant/identity-provider", opt=ADMIN, summary="The bank's identity provider")
async def get_identity_provider(
    session: AsyncSession, tenant: TenantRef
) -> answers.IdentityProvider:
    provider = await session.get(IdentityProvider, tenant.id)
    if provider is None:
        raise ApiError("RESOURCE_NOT_FOUND", "This bank has no identity provider configured.")
    return provider_body(provider)


@put(
    "/tenant/identity-provider",
    opt=ADMIN,
    summary="Set the bank's identity provider (single sign-on)",
)
async def put_identity_provider(
    data: IdentityProviderUpdate,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    tenant: TenantRef,
) -> answers.IdentityProvider:
    return provider_body(await save_provider(session, ctx, tenant.id, data, services))


@delete(
    "/tenant/identity-provider",
    opt=ADMIN,
    status_code=HTTP_204_NO_CONTENT,
    summary="Remove the bank's identity provider",
)
async def delete_identity_provider(
    ctx: RequestContext, session: AsyncSession, tenant: TenantRef
) -> None:
    provider = await session.get(IdentityProvider, tenant.id)
    if provider is None:
        return
    audit.record(
        session,
        ctx,
        "tenant.identity_provider_removed",
        entity_type="tenant",
        entity_id=tenant.id,
        before=_audited(provider_body(provider)),
    )
    oidc.DIRECTORY.forget(provider.issuer)
    await session.delete(provider)


IDENTITY_PROVIDER_HANDLERS = [
    get_identity_provider,
    put_identity_provider,
    delete_identity_provider,
]
