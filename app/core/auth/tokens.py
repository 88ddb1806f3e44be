"""Issuing and verifying RS256 access tokens.

``joserfc.jwt.decode`` checks only the signature; the claims are checked by
``JWTClaimsRegistry.validate`` right after, always.
"""

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError

from app.core.auth.keys import SigningKeys
from app.core.context import Principal
from app.core.errors import ApiError
from app.settings import AuthSettings

ALGORITHMS = ["RS256"]
# Verified tokens remembered per process (≈ 1.5 kB each with their principal).
VERIFIED_TOKENS_KEPT = 20_000
# Headers that would let a token choose its own verification key: never honoured.
_KEY_CHOOSING_HEADERS = {"jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256"}


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: int


class TokenService:
    def __init__(self, keys: SigningKeys, settings: AuthSettings) -> None:
        self.keys = keys
        self.settings = settings
        self._verified: dict[str, Principal] = {}
        self._registry = jwt.JWTClaimsRegistry(
            leeway=settings.leeway_seconds,
            iss={"essential": True, "value": settings.issuer},
            aud={"essential": True, "value": settings.audience},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            tenant_id={"essential": True},
            session_id={"essential": True},
            roles={"essential": True},
            scopes={"essential": True},
        )

    def issue_access_token(
        self,
        *,
        user_id: uuid.UUID,
        tenant_id: uuid.UUID,
        email: str,
        name: str,
        roles: list[str],
        scopes: list[str],
        branch_code: str,
        session_id: uuid.UUID,
        kind: str = "user",
        owner_id: uuid.UUID | None = None,
        now: int | None = None,
        session_ends_at: int | None = None,
    ) -> IssuedToken:
        issued_at = int(time.time()) if now is None else now
        expires_at = issued_at + self.settings.access_ttl_seconds
        # A token does not outlive its session. Within a minute of the natural end the
        # two differ only by rounding (the session's end is kept to the microsecond).
        if session_ends_at is not None and session_ends_at < expires_at - 60:
            expires_at = max(issued_at + 1, session_ends_at)
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "iss": self.settings.issuer,
            "aud": self.settings.audience,
            "tenant_id": str(tenant_id),
            "roles": roles,
            "scopes": scopes,
            "branch_id": branch_code,
            "session_id": str(session_id),
            "name": name,
            "email": email,
            "exp": expires_at,
            "iat": issued_at,
            "nbf": issued_at,
            "jti": jti,
            "typ": kind,
        }
        if kind == "api_key":
            # Who answers for the key (its creator): maker-checker compares owners.
            claims["owner_id"] = str(owner_id) if owner_id is not None else None
        header = {"alg": "RS256", "kid": self.keys.kid, "typ": "JWT"}
        token = jwt.encode(header, claims, self.keys.signing_key, algorithms=ALGORITHMS)
        return IssuedToken(token=token, jti=jti, expires_at=expires_at)

    def verify(self, token: str) -> Principal:
        """Return the principal of a valid token, or raise INVALID_TOKEN / TOKEN_EXPIRED.

        A token verified once is remembered (by its whole text) until it expires: the RSA
        check and the claims' checks cost more than the rest of a request's chain, and a
        token's claims cannot change. Revocation is not part of this: stage 5 asks on
        every request, so a revoked token is refused at once.
        """
        verified = self._verified.get(token)
        if verified is not None:
            if time.time() > verified.expires_at + self.settings.leeway_seconds:
                del self._verified[token]
                raise ApiError("TOKEN_EXPIRED", "The access token has expired; sign in again.")
            return verified
        principal = self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            # The oldest first (a dict keeps insertion order): a bounded memory, and the
            # busy sessions' tokens come straight back.
            del self._verified[next(iter(self._verified))]
        self._verified[token] = principal
        return principal

    def peek_ids(self, token: str) -> tuple[str, str] | None:
        """The session and token IDs a token claims, WITHOUT verifying it (the verified
        copy when there is one): only to ask the revocation store ahead of verification.
        Whoever uses the answer must match it against the verified principal."""
        verified = self._verified.get(token)
        if verified is not None:
            return str(verified.session_id), verified.token_id
        try:
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            return str(uuid.UUID(str(claims["session_id"]))), str(claims.get("jti", ""))
        except (IndexError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def forget_verified(self) -> None:
        """Verify every token afresh (after the key set changed)."""
        self._verified.clear()

    def _verify(self, token: str) -> Principal:
        try:
            decoded = jwt.decode(token, self.keys.key_set, algorithms=ALGORITHMS)
        except JoseError as exc:
            raise ApiError("INVALID_TOKEN", "The access token is not valid.") from exc
        except (ValueError, TypeError, KeyError) as exc:
            raise ApiError("INVALID_TOKEN", "The access token is malformed.") from exc
        header = decoded.header
        if header.get("alg") != "RS256" or not header.get("kid"):
            raise ApiError("INVALID_TOKEN", "The access token is not valid.")
        if _KEY_CHOOSING_HEADERS & set(header):
            raise ApiError("INVALID_TOKEN", "The access token names its own key; refused.")
        claims = decoded.claims
        try:
            self._registry.validate(claims)
        except ExpiredTokenError as exc:
            raise ApiError("TOKEN_EXPIRED", "The access token has expired; sign in again.") from exc
        except JoseError as exc:
            raise ApiError("INVALID_TOKEN", f"The access token is not valid ({exc}).") from exc
        now = time.time()
        nbf = claims.get("nbf")
        if nbf is not None and (
            not isinstance(nbf, int) or nbf > now + self.settings.leeway_seconds
        ):
            raise ApiError("INVALID_TOKEN", "The access token is not valid yet.")
        iat = claims.get("iat")
        if not isinstance(iat, int) or iat > now + self.settings.leeway_seconds:
            raise ApiError("INVALID_TOKEN", "The access token was issued in the future.")
        try:
            user_id = uuid.UUID(str(claims["sub"]))
            kind = str(claims.get("typ", "user"))
            return Principal(
                user_id=user_id,
                tenant_id=uuid.UUID(str(claims["tenant_id"])),
                email=str(claims.get("email", "")),
                name=str(claims.get("name", "")),
                roles=tuple(str(r) for r in claims["roles"]),
                scopes=frozenset(str(s) for s in claims["scopes"]),
                branch_code=str(claims.get("branch_id", "")),
                session_id=uuid.UUID(str(claims["session_id"])),
                token_id=str(claims.get("jti", "")),
                expires_at=int(claims["exp"]),
                kind=kind,
                owner_id=user_id if kind != "api_key" else _owner(claims.get("owner_id")),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ApiError("INVALID_TOKEN", "The access token's claims are malformed.") from exc


def _owner(value: Any) -> uuid.UUID | None:
    """A key token's owner; absent or null (an owner unknown, or a token from before the
    claim) is ``None``, which maker-checker resolves from the key itself."""
    return uuid.UUID(str(value)) if value else None
