"""OpenID Connect, the relying party's side: discovery, key sets, code redemption and ID
token validation, against whatever provider a tenant configured.

* Discovery (``/.well-known/openid-configuration``) and the provider's key set (JWKS) are
  kept per process for ``IDENTITY_PROVIDER_CACHE_SECONDS``. A token signed with a key the
  kept set does not hold makes the set be fetched again (the provider rotated its keys),
  at most once every :data:`KEY_REFRESH_SECONDS` per provider, so made-up ``kid`` values
  cannot turn the core into a flood of requests to the provider.
* The authorization code is redeemed with Authlib's OAuth 2 client (httpx integration),
  with the PKCE verifier and the tenant's client secret, which never leaves the core for
  anywhere but the provider's token endpoint.
* ID tokens are checked with joserfc (``authlib.jose`` is deprecated): the signature
  against the provider's key set with RS256/ES256 only, then ``iss``, ``aud``, ``exp``,
  ``iat`` and ``nonce`` by ``JWTClaimsRegistry.validate``, and ``azp`` when several
  audiences are named.
"""

import asyncio
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from authlib.deprecate import AuthlibDeprecationWarning
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.settings import IdentitySettings

with warnings.catch_warnings():
    # Authlib 1.9 announces a future move of its httpx integration (to "httpx2"); the
    # integration itself is current, and the notice would print at every start.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

log = structlog.get_logger("branchdesk.identity")

ID_TOKEN_ALGORITHMS = ["RS256", "ES256"]
KEY_REFRESH_SECONDS = 10.0
# Headers that would let a token choose its own verification key: never honoured.
_KEY_CHOOSING_HEADERS = {"jku", "jwk", "x5u", "x5c"}
_MAX_DOCUMENT_BYTES = 512 * 1024


@dataclass(frozen=True)
class ProviderMetadata:
    """What discovery told us about a provider (the fields we use)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    token_endpoint_auth_methods: tuple[str, ...]


def unavailable(issuer: str, what: str) -> ApiError:
    return ApiError(
        "IDENTITY_PROVIDER_UNAVAILABLE",
        f"The bank's sign-in service ({urlsplit(issuer).netloc}) did not answer properly "
        f"({what}); try again in a moment, or sign in with your password.",
        headers={"Retry-After": "5"},
    )


def invalid_id_token(reason: str) -> ApiError:
    return ApiError(
        "INVALID_ID_TOKEN",
        f"The sign-in service's ID token was refused: {reason}. Sign in again.",
        [detail("id_token", DetailCode.REJECTED, reason)],
    )


def check_issuer_url(issuer: str, *, production: bool) -> str | None:
    """Why ``issuer`` cannot be a provider's issuer, or ``None`` when it can."""
    parts = urlsplit(issuer)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return "must be an https:// URL"
    if parts.scheme != "https" and production:
        return "must be an https:// URL (production mode)"
    if parts.query or parts.fragment or parts.username or parts.password:
        return "must have no query, fragment or credentials"
    return None


class ProviderDirectory:
    """Discovery documents and key sets of the providers this process has used."""

    def __init__(self) -> None:
        self._metadata: dict[str, tuple[float, ProviderMetadata]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}
        self._key_fetched_at: dict[str, float] = {}
        self._lock = asyncio.Lock()

    def forget(self, issuer: str | None = None) -> None:
        """Drop what is kept (of one provider, or all): its settings changed."""
        if issuer is None:
            self._metadata.clear()
            self._keys.clear()
            self._key_fetched_at.clear()
            return
        kept = self._metadata.pop(issuer, None)
        if kept is not None:
            self._keys.pop(kept[1].jwks_uri, None)
            self._key_fetched_at.pop(kept[1].jwks_uri, None)

    async def _get_json(self, url: str, issuer: str, settings: IdentitySettings) -> Any:
        try:
            async with httpx.AsyncClient(
                timeout=settings.provider_timeout_seconds, follow_redirects=False
            ) as http:
                response = await http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            log.warning("identity.provider_unreachable", url=url, error=type(exc).__name__)
            raise unavailable(issuer, "no connection") from exc
        if response.status_code != 200 or len(response.content) > _MAX_DOCUMENT_BYTES:
            log.warning("identity.provider_bad_answer", url=url, status=response.status_code)
            raise unavailable(issuer, f"HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise unavailable(issuer, "not JSON") from exc

    async def metadata(self, issuer: str, settings: IdentitySettings) -> ProviderMetadata:
        """The provider's discovery document (kept for the cache time)."""
        kept = self._metadata.get(issuer)
        if kept is not None and time.monotonic() - kept[0] < settings.provider_cache_seconds:
            return kept[1]
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await self._get_json(url, issuer, settings)
        if not isinstance(document, dict):
            raise unavailable(issuer, "discovery is not an object")
        # OpenID Connect Discovery 1.0, 4.3: the document must name the issuer it was
        # fetched for, exactly; anything else is another provider (or an impostor).
        if document.get("issuer") != issuer:
            raise unavailable(issuer, "discovery names another issuer")
        try:
            metadata = ProviderMetadata(
                issuer=issuer,
                authorization_endpoint=str(document["authorization_endpoint"]),
                token_endpoint=str(document["token_endpoint"]),
                jwks_uri=str(document["jwks_uri"]),
                end_session_endpoint=(
                    str(document["end_session_endpoint"])
                    if document.get("end_session_endpoint")
                    else None
                ),
                token_endpoint_auth_methods=tuple(
                    str(m)
                    for m in document.get(
                        "token_endpoint_auth_methods_supported", ["client_secret_basic"]
                    )
                ),
            )
        except KeyError as exc:
            raise unavailable(issuer, f"discovery lacks {exc.args[0]}") from exc
        self._metadata[issuer] = (time.monotonic(), metadata)
        return metadata

    async def key_set(
        self, metadata: ProviderMetadata, kid: str | None, settings: IdentitySettings
    ) -> KeySet:
        """The provider's keys, fetched again when ``kid`` is not among the kept ones."""
        async with self._lock:
            now = time.monotonic()
            kept = self._keys.get(metadata.jwks_uri)
            fresh = kept is not None and now - kept[0] < settings.provider_cache_seconds
            if fresh and kept is not None and _has_kid(kept[1], kid):
                return kept[1]
            if fresh and kept is not None:
                # An unknown kid: the provider may have rotated. Fetched again at most once
                # a while, so made-up kids cannot make us hammer the provider.
                last = self._key_fetched_at.get(metadata.jwks_uri)
                if last is not None and now - last < KEY_REFRESH_SECONDS:
                    return kept[1]  # a still-unknown kid is refused by the caller
                self._key_fetched_at[metadata.jwks_uri] = now
            document = await self._get_json(metadata.jwks_uri, metadata.issuer, settings)
            try:
                keys = KeySet.import_key_set(
                    {
                        "keys": [
                            k
                            for k in document.get("keys", [])
                            if isinstance(k, dict) and k.get("use", "sig") == "sig"
                        ]
                    }
                )
            except (JoseError, ValueError, TypeError, AttributeError) as exc:
                raise unavailable(metadata.issuer, "unreadable key set") from exc
            if kept is not None and not _same_keys(kept[1], keys):
                log.info("identity.provider_keys_rotated", issuer=metadata.issuer)
            self._keys[metadata.jwks_uri] = (now, keys)
            return keys


def _has_kid(keys: KeySet, kid: str | None) -> bool:
    return kid is None or any(k.kid == kid for k in keys.keys)


def _same_keys(a: KeySet, b: KeySet) -> bool:
    return {k.kid for k in a.keys} == {k.kid for k in b.keys}


DIRECTORY = ProviderDirectory()


async def redeem_code(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    code_verifier: str,
    redirect_uri: str,
    settings: IdentitySettings,
) -> str:
    """Trade the authorization code for the provider's tokens; return the ID token.

    Raises:
        ApiError: ``AUTHORIZATION_CODE_REJECTED`` when the provider refuses the code (used
            before, expired, another client's, a wrong PKCE verifier),
            ``IDENTITY_PROVIDER_UNAVAILABLE`` when it cannot be reached.
    """
    method = (
        "client_secret_basic"
        if "client_secret_basic" in metadata.token_endpoint_auth_methods
        or not metadata.token_endpoint_auth_methods
        else "client_secret_post"
    )
    client = AsyncOAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=method,
        code_challenge_method="S256",
        redirect_uri=redirect_uri,
        timeout=settings.provider_timeout_seconds,
        follow_redirects=False,
    )
    try:
        async with client:
            token = await client.fetch_token(
                metadata.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                redirect_uri=redirect_uri,
            )
    except OAuthError as exc:
        log.info("identity.code_refused", issuer=metadata.issuer, error=exc.error)
        raise ApiError(
            "AUTHORIZATION_CODE_REJECTED",
            "The sign-in service refused this sign-in (it was already used or has "
            "expired); sign in again.",
            [detail("code", DetailCode.REJECTED, str(exc.error or "refused"))],
        ) from exc
    except httpx.HTTPError as exc:
        raise unavailable(metadata.issuer, "token endpoint unreachable") from exc
    except ValueError as exc:  # not JSON
        raise unavailable(metadata.issuer, "token endpoint answered badly") from exc
    id_token = token.get("id_token") if isinstance(token, dict) else None
    if not isinstance(id_token, str) or not id_token:
        raise invalid_id_token("the provider sent no ID token (is 'openid' in the scopes?)")
    return id_token


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` a token claims, read before its signature is checked (only to say
    which provider it came from when it is not the tenant's)."""
    try:
        payload = jws.extract_compact(token.encode()).payload
        import json

        claims = json.loads(payload)
    except (JoseError, ValueError, TypeError, UnicodeDecodeError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return str(issuer)[:255] if issuer is not None else None


async def validate_id_token(
    token: str,
    *,
    metadata: ProviderMetadata,
    client_id: str,
    nonce: str,
    settings: IdentitySettings,
    directory: ProviderDirectory = DIRECTORY,
) -> dict[str, Any]:
    """The claims of a valid ID token from this provider for this client and nonce.

    Raises:
        ApiError: ``INVALID_ID_TOKEN`` naming the reason.
    """
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise invalid_id_token("it is not a signed JWT") from exc
    if header.get("alg") not in ID_TOKEN_ALGORITHMS:
        raise invalid_id_token(f"algorithm {header.get('alg')!r} is not allowed")
    if _KEY_CHOOSING_HEADERS & set(header):
        raise invalid_id_token("it names its own key")
    kid = header.get("kid")
    keys = await directory.key_set(metadata, str(kid) if kid is not None else None, settings)
    if not _has_kid(keys, str(kid) if kid is not None else None):
        raise invalid_id_token("it is signed with a key the provider does not publish")
    try:
        decoded = jwt.decode(token, keys, algorithms=ID_TOKEN_ALGORITHMS)
    except JoseError as exc:
        raise invalid_id_token("its signature does not verify") from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise invalid_id_token("it is malformed") from exc
    claims = decoded.claims
    registry = jwt.JWTClaimsRegistry(
        leeway=settings.id_token_leeway_seconds,
        iss={"essential": True, "value": metadata.issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise invalid_id_token("it has expired") from exc
    except JoseError as exc:
        raise invalid_id_token(_claim_reason(exc)) from exc
    iat = claims.get("iat")
    if not isinstance(iat, int) or iat > time.time() + settings.id_token_leeway_seconds:
        raise invalid_id_token("it was issued in the future")
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise invalid_id_token("it was issued to another client (azp)")
    return dict(claims)


def _claim_reason(exc: JoseError) -> str:
    text = str(exc)
    for claim, reason in (
        ("nonce", "its nonce is not this sign-in's"),
        ("aud", "it was issued to another client (aud)"),
        ("iss", "it comes from another issuer"),
        ("sub", "it names no subject"),
        ("iat", "its issue time is missing or wrong"),
        ("exp", "its expiry is missing or wrong"),
    ):
        if f"'{claim}'" in text or f'"{claim}"' in text:
            return reason
    return f"a claim is wrong ({text})"
