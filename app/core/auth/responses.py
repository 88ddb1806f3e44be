"""Sign-in answers (api.md, "Authentication")."""

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


class TokenPair(Model):
    access_token: str
    refresh_token: str
    token_type: str  # Bearer
    expires_in: int  # seconds
    user: SignedInAs
    tenant: TenantRef


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
