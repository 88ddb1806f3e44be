"""S1: every forged or unusable token is refused with its code and reaches no handler."""

import json
import time

import pytest
from cryptography.hazmat.primitives import serialization

from tests.jwt_forge import (
    b64url,
    decode_part,
    new_rsa_pem,
    sign_hs256,
    sign_rs256,
    unsigned,
    valid_claims,
)
from tests.support import OTHER_TENANT, TENANT, headers


@pytest.fixture(scope="module")
async def real(api, tokens):
    """A genuine viewer token, its header and claims, and the deployment's private key."""
    token = await tokens.for_role("viewer")
    services = api._transport.app.state.services
    private_pem = services.keys.signing_key.as_pem(private=True)
    public_pem = services.keys.signing_key.as_pem(private=False)
    return {
        "token": token,
        "header": decode_part(token, 0),
        "claims": decode_part(token, 1),
        "private_pem": private_pem,
        "public_pem": public_pem,
        "jwk": services.keys.jwks()["keys"][0],
    }


async def call_me(api, token, tenant=TENANT):
    return await api.get("/auth/me", headers=headers(token, tenant))


async def assert_refused(api, token, code, tenant=TENANT):
    response = await call_me(api, token, tenant)
    assert response.status_code == 401 if code.startswith(("INVALID", "TOKEN")) else 403
    body = response.json()
    assert body["code"] == code, body
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_genuine_token_is_accepted(api, real):
    response = await call_me(api, real["token"])
    assert response.status_code == 200
    assert response.json()["roles"] == ["viewer"]


async def test_forged_by_our_own_key_with_good_claims_passes(api, real):
    """Control: the forging helpers make valid tokens, so each refusal below is specific."""
    token = sign_rs256(real["header"], valid_claims(real["claims"]), real["private_pem"])
    assert (await call_me(api, token)).status_code == 200


async def test_alg_none(api, real):
    header = {**real["header"], "alg": "none"}
    await assert_refused(api, unsigned(header, valid_claims(real["claims"])), "INVALID_TOKEN")


@pytest.mark.parametrize("form", ["pem", "der", "jwk"])
async def test_hs256_signed_with_the_public_key(api, real, form):
    header = {**real["header"], "alg": "HS256"}
    if form == "pem":
        secret = real["public_pem"]
    elif form == "der":
        key = serialization.load_pem_public_key(real["public_pem"])
        secret = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        secret = json.dumps(real["jwk"]).encode()
    token = sign_hs256(header, valid_claims(real["claims"]), secret)
    await assert_refused(api, token, "INVALID_TOKEN")


@pytest.mark.parametrize(
    ("claim", "value"),
    [("aud", "another-api"), ("iss", "someone-else"), ("aud", ["another-api"])],
)
async def test_wrong_audience_or_issuer(api, real, claim, value):
    claims = valid_claims(real["claims"], **{claim: value})
    await assert_refused(
        api, sign_rs256(real["header"], claims, real["private_pem"]), "INVALID_TOKEN"
    )


async def test_expired_beyond_leeway(api, real):
    now = int(time.time())
    claims = valid_claims(real["claims"], iat=now - 7200, nbf=now - 7200, exp=now - 61)
    await assert_refused(
        api, sign_rs256(real["header"], claims, real["private_pem"]), "TOKEN_EXPIRED"
    )


async def test_expired_within_leeway_is_accepted(api, real):
    now = int(time.time())
    claims = valid_claims(real["claims"], iat=now - 7200, nbf=now - 7200, exp=now - 30)
    token = sign_rs256(real["header"], claims, real["private_pem"])
    assert (await call_me(api, token)).status_code == 200


async def test_future_nbf(api, real):
    claims = valid_claims(real["claims"], nbf=int(time.time()) + 600)
    await assert_refused(
        api, sign_rs256(real["header"], claims, real["private_pem"]), "INVALID_TOKEN"
    )


async def test_unknown_kid(api, real):
    header = {**real["header"], "kid": "not-a-key-we-have"}
    token = sign_rs256(header, valid_claims(real["claims"]), new_rsa_pem())
    await assert_refused(api, token, "INVALID_TOKEN")


async def test_signed_by_another_key_under_our_kid(api, real):
    token = sign_rs256(real["header"], valid_claims(real["claims"]), new_rsa_pem())
    await assert_refused(api, token, "INVALID_TOKEN")


@pytest.mark.parametrize("injected", ["jku", "jwk", "x5u"])
async def test_injected_key_headers(api, real, injected):
    attacker_pem = new_rsa_pem()
    value = {
        "jku": "https://attacker.example/jwks.json",
        "jwk": real["jwk"],
        "x5u": "https://attacker.example/cert.pem",
    }[injected]
    # Signed by the attacker, pointing at their key ...
    header = {**real["header"], injected: value}
    token = sign_rs256(header, valid_claims(real["claims"]), attacker_pem)
    await assert_refused(api, token, "INVALID_TOKEN")
    # ... and even signed by our own key: a token that names its own key is refused.
    token = sign_rs256(header, valid_claims(real["claims"]), real["private_pem"])
    await assert_refused(api, token, "INVALID_TOKEN")


async def test_tampered_payload(api, real):
    header_part, _, signature = real["token"].split(".")
    claims = {**real["claims"], "roles": ["admin"], "scopes": ["admin:full"]}
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    await assert_refused(api, f"{header_part}.{payload}.{signature}", "INVALID_TOKEN")


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "....", "eyJhbGciOiJSUzI1NiJ9..", "x" * 5000])
async def test_garbage(api, garbage):
    await assert_refused(api, garbage, "INVALID_TOKEN")


async def test_other_tenants_token(api, tokens):
    other = await tokens.for_role("other_tenant")
    await assert_refused(api, other, "TENANT_MISMATCH", tenant=TENANT)
    assert (await call_me(api, other, OTHER_TENANT)).status_code == 200


async def test_revoked_session(api, tokens):
    pair = await tokens.login("viewer@demo.bank")
    assert (
        await api.post("/auth/logout", headers=headers(pair["access_token"]))
    ).status_code == 204
    await assert_refused(api, pair["access_token"], "TOKEN_REVOKED")


async def test_spent_refresh_token(api, tokens):
    pair = await tokens.login("viewer@demo.bank")
    first = await api.post(
        "/auth/refresh", json={"refresh_token": pair["refresh_token"]}, headers=headers()
    )
    assert first.status_code == 200
    again = await api.post(
        "/auth/refresh", json={"refresh_token": pair["refresh_token"]}, headers=headers()
    )
    assert again.status_code == 401
    assert again.json()["code"] == "INVALID_REFRESH_TOKEN"


async def test_missing_and_malformed_authorization(api):
    response = await api.get("/auth/me", headers=headers())
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"
    response = await api.get("/auth/me", headers={**headers(), "Authorization": "Basic abc"})
    assert response.json()["code"] == "INVALID_TOKEN"
