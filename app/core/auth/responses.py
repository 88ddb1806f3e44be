"""Sign-in answers (api.md, "Authentication")."""

import msgspec

from app.core.contract.shapes import Id, Model


class TenantRef(Model):
    id: Id
    code: str
    name: str


class SignedInAs(Model):
    id: Id
    email: str  # "api-key:<name>" for an API key
    name: str
    roles: list[str]
    branch_id: str


class ProviderSession(Model):
    """Of a single sign-on: what the console needs to sign out at the provider too."""

    display_name: str
    end_session_endpoint: str | None
    id_token_hint: str


class TokenPair(Model):
    access_token: str
    refresh_token: str
    token_type: str  # Bearer
    expires_in: int  # seconds
    user: SignedInAs
    tenant: TenantRef


class VerifiedSession(TokenPair, kw_only=True):
    """A sign-in finished with its second factor."""

    # Present when a recovery code was used: how many are left.
    recovery_codes_left: int | msgspec.UnsetType = msgspec.UNSET


class EnrolledSession(TokenPair, kw_only=True):
    """The first sign-in with a new authenticator."""

    recovery_codes: list[str]  # shown this once


class SsoSession(TokenPair, kw_only=True):
    identity_provider: ProviderSession


class Caller(Model):
    id: Id
    email: str
    name: str
    roles: list[str]
    scopes: list[str]
    branch_id: str
    session_id: Id
    kind: str  # user | api_key
    tenant: TenantRef


class OidcProvider(Model):
    """What the console needs to send staff to the bank's provider (nothing secret)."""

    display_name: str
    issuer: str
    client_id: str
    scopes: str
    authorization_endpoint: str
    end_session_endpoint: str | None


class MfaEnrolment(Model):
    """A new authenticator's seed, shown this once (the QR code's data)."""

    secret: str  # base32
    otpauth_uri: str
    issuer: str
    account: str
    digits: int
    period: int  # seconds
