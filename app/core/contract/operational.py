"""Answers of the operational paths (no tenant, no token): health, readiness, signing keys."""

from app.core.contract.shapes import Model


class Health(Model):
    status: str  # ok


class Readiness(Model):
    """200 when every check is "ok"; 503 (with Retry-After) with the same body otherwise."""

    status: str  # ready | not_ready
    # database: ok | unreachable; migrations: ok | behind; redis (when used): ok | unreachable
    checks: dict[str, str]


class Jwk(Model):
    """A public RSA signing key (RFC 7517): access tokens name it by ``kid``."""

    kty: str  # RSA
    kid: str
    use: str  # sig
    alg: str  # RS256
    n: str
    e: str


class Jwks(Model):
    keys: list[Jwk]  # the current key and any older one still verifying tokens
