"""What an admin reads of staff sign-in (``/tenant/identity-provider``,
``/users/{id}/second-factor``)."""

from .._parse import Timestamp
from ._base import Resource

__all__ = [
    "EnrolledSignIn",
    "FactorReset",
    "GroupMapping",
    "IdentityProvider",
    "MfaEnrolment",
    "OidcProvider",
    "ProviderSession",
    "SecondFactor",
    "SsoSignIn",
]


class GroupMapping(Resource, kw_only=True, frozen=True):
    """A group of the identity provider, and the role (and branch) it gives."""

    group: str
    role: str
    branch_id: str | None = None


class IdentityProvider(Resource, kw_only=True, frozen=True):
    """The bank's OpenID Connect provider; the client secret only as ``client_secret_set``."""

    display_name: str
    issuer: str
    client_id: str
    client_secret_set: bool
    scopes: str
    groups_claim: str | None = None
    email_claim: str | None = None
    require_verified_email: bool = True
    create_users: bool = False
    default_branch: str | None = None
    group_mappings: list[GroupMapping] = []
    enabled: bool
    updated_at: Timestamp | None = None
    updated_by: str | None = None


class FactorReset(Resource, kw_only=True, frozen=True):
    """A request to clear a staff member's second factor (a second admin decides)."""

    id: str
    user_id: str
    status: str
    reason: str
    requested_by: str
    requested_at: Timestamp
    decided_by: str | None = None
    decided_at: Timestamp | None = None


class SecondFactor(Resource, kw_only=True, frozen=True):
    """A staff member's second factor as an admin sees it."""

    enrolled: bool
    enrolled_at: Timestamp | None = None
    required: bool
    required_from_role: str | None = None
    recovery_codes_left: int = 0
    pending_reset: FactorReset | None = None
    reset_needs_second_admin: bool = False


class OidcProvider(Resource, kw_only=True, frozen=True):
    """``GET /auth/oidc/provider``: where to send staff to sign in (nothing secret)."""

    display_name: str
    issuer: str
    client_id: str
    scopes: str
    authorization_endpoint: str
    end_session_endpoint: str | None = None


class ProviderSession(Resource, kw_only=True, frozen=True):
    """Of a single sign-on: what the console needs to sign out at the provider too."""

    display_name: str
    end_session_endpoint: str | None = None
    id_token_hint: str | None = None


class SsoSignIn(Resource, kw_only=True, frozen=True):
    """``POST /auth/oidc/token``'s part beside the token pair: the provider's session."""

    identity_provider: ProviderSession | None = None


class MfaEnrolment(Resource, kw_only=True, frozen=True):
    """``POST /auth/mfa/enrol``: a new authenticator's seed, shown this once."""

    secret: str  # base32
    otpauth_uri: str


class EnrolledSignIn(Resource, kw_only=True, frozen=True):
    """``POST /auth/mfa/enrol/confirm``'s part beside the token pair: the recovery codes,
    shown this once."""

    recovery_codes: list[str] = []
