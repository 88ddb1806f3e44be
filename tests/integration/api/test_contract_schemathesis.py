"""R6 (quality.md): schemathesis against the live core, every check that applies.

A real core process (``python -m app core``) on the suite's database, a tenant of the
run's own (the fuzzer changes what it may), its admin's token, and the document the core
serves. Bounded for ``make test`` (``SCHEMATHESIS_EXAMPLES`` per operation, 4 by default);
``make soak`` runs it with many more (quality.md: at least 1,000 generated requests).

Checks: no 5xx, answers inside their schema, only documented statuses, valid requests
accepted, invalid ones refused, 405 with an ``Allow`` header for methods a path lacks.
Left out: the operations that end the run's own session (sign-out, an admin signing
everyone out — the fuzzer learns its own user ID from ``/auth/me``) or the tenant's
sign-in rules (settings, identity provider), and the stateful checks that need links.
"""

import asyncio
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.api.private_tenant import make_tenant
from tests.live_server import LiveServer
from tests.support import SANDBOX_PASSWORD

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "4"))
MIN_REQUESTS = int(os.environ.get("SCHEMATHESIS_MIN_REQUESTS", "300"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
ST = Path(sys.executable).with_name("st")
EXCLUDED = r"/auth/logout$|/revoke-sessions$|/tenant/settings$|/tenant/identity-provider$"


@pytest.fixture(scope="module")
def live_core(database_ready) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    server = LiveServer(command="core").start()
    try:
        yield server
    finally:
        server.stop()


async def test_the_core_keeps_its_documented_contract(live_core, api, tokens, core_app):
    bank = await make_tenant(core_app, api, tokens, sign_in=())
    async with httpx.AsyncClient(base_url=live_core.api_url) as client:
        signed_in = await client.post(
            "/auth/login",
            json={"email": f"admin@{bank.code}.test", "password": SANDBOX_PASSWORD},
            headers={"X-Tenant-ID": bank.code},
        )
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["access_token"]
    command = [
        str(ST),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{live_core.api_url}/schema/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--header",
        f"X-Tenant-ID: {bank.code}",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES),
        "--exclude-path-regex",
        EXCLUDED,
        "--workers",
        "2",
        # A journal's body (lines with amounts, currencies, accounts) is hard to generate
        # at many examples; Hypothesis giving up on inputs is not a failure of the API.
        "--suppress-health-check",
        "filter_too_much",
        "--seed",
        os.environ.get("SCHEMATHESIS_SEED", "20261207"),
    ]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output_bytes, _ = await process.communicate()
    output = output_bytes.decode(errors="replace")
    assert process.returncode == 0, output[-20000:]
    generated = re.search(r"(\d+) generated", output)
    assert generated is not None and int(generated.group(1)) >= MIN_REQUESTS, output[-3000:]
