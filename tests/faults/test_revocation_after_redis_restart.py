"""A Redis restart does not bring signed-out sessions back (issue 13, R2: Redis restarted).

Redis keeps nothing on disk. The token blacklist used to live only there, so after a
restart an access token whose session had been signed out was accepted again for the rest
of its 24 hours. Now each revocation is also written to the database, and the first
request after the restart (which finds the blacklist's marker gone) loads them back.
"""

import httpx
import redis

from app.core.revocation import LOADED_MARKER
from tests.faults.cluster import FaultStack
from tests.support import SANDBOX_PASSWORD, TENANT


def sign_in(api: str, email: str) -> dict[str, str]:
    answer = httpx.post(
        api + "/auth/login",
        json={"email": email, "password": SANDBOX_PASSWORD},
        headers={"X-Tenant-ID": TENANT},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}", "X-Tenant-ID": TENANT}


def accounts(api: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(api + "/accounts", headers=headers, timeout=30)


def test_signed_out_sessions_stay_signed_out_after_a_redis_restart(stack: FaultStack) -> None:
    assert stack.core is not None
    api = stack.core.api_url
    signed_out = sign_in(api, "teller@demo.bank")
    still_in = sign_in(api, "officer@demo.bank")
    assert httpx.post(api + "/auth/logout", headers=signed_out, timeout=30).status_code == 204
    assert accounts(api, signed_out).status_code == 401

    stack.redis.restart()  # empty: no snapshot, no append-only file

    refused = accounts(api, signed_out)
    assert refused.status_code == 401, refused.text
    assert refused.json()["code"] == "TOKEN_REVOKED"
    assert accounts(api, still_in).status_code == 200
    # Reloaded once, marked as complete; every core process agrees from then on.
    assert redis.Redis.from_url(stack.redis.url()).exists(LOADED_MARKER) == 1
    for _ in range(4):
        assert accounts(api, signed_out).status_code == 401
        assert accounts(api, still_in).status_code == 200
