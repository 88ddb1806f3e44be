"""A real OpenID provider for the single sign-on tests: ``tests/oidc/provider.mjs``
(the certified ``oidc-provider`` package from npm) run with node on a free loopback port.

``make test`` installs it (``npm ci --prefix tests/oidc``). Nothing here fakes the
provider: discovery, keys, the login form, codes, PKCE, ID tokens and RP-initiated logout
are the package's own. The two test controls (accounts, the token endpoint's clock) are
described in the config file.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
from joserfc.jwk import RSAKey

ROOT = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "branchdesk-console"
CLIENT_SECRET = "test-client-secret-7f3a9c2e51b84d06"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def signing_key() -> dict[str, Any]:
    """A fresh RSA signing key as a private JWK, with its own ``kid``."""
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, private=True)
    key.ensure_kid()
    jwk: dict[str, Any] = dict(key.as_dict(private=True))
    return jwk


@dataclass
class Account:
    """Someone the provider can sign in (any password works for them)."""

    id: str
    email: str
    name: str
    groups: list[str] = field(default_factory=list)
    email_verified: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "groups": self.groups,
            "email_verified": self.email_verified,
        }


class IdentityProvider:
    """``node tests/oidc/provider.mjs`` on a free port; :meth:`stop` ends it."""

    def __init__(
        self,
        redirect_uris: list[str],
        post_logout_redirect_uris: list[str] | None = None,
        accounts: list[Account] | None = None,
        port: int | None = None,
        jwk: dict[str, Any] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.jwk = jwk or signing_key()
        self.redirect_uris = redirect_uris
        self.post_logout_redirect_uris = post_logout_redirect_uris or []
        self.accounts = list(accounts or [])
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def kid(self) -> str:
        return str(self.jwk["kid"])

    def start(self) -> "IdentityProvider":
        node = shutil.which("node")
        if node is None or not (ROOT / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError(
                "The test identity provider needs node and tests/oidc/node_modules: "
                "run `npm ci --prefix tests/oidc` (make test does)."
            )
        env = {
            **os.environ,
            "OIDC_PORT": str(self.port),
            "OIDC_ISSUER": self.issuer,
            "OIDC_JWKS": json.dumps({"keys": [self.jwk]}),
            "OIDC_CLIENTS": json.dumps(
                [
                    {
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                        "redirect_uris": self.redirect_uris,
                        "post_logout_redirect_uris": self.post_logout_redirect_uris,
                    }
                ]
            ),
            "OIDC_ACCOUNTS": json.dumps([a.as_dict() for a in self.accounts]),
            "NODE_ENV": "test",
        }
        self._log = tempfile.NamedTemporaryFile(prefix="oidc-provider-", suffix=".log")
        self._process = subprocess.Popen(
            [node, str(ROOT / "provider.mjs")],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the identity provider exited early:\n{self.output()}")
            try:
                answer = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1)
                if answer.status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the identity provider did not start:\n{self.output()}")

    def output(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- the test controls ----------------------------------------------------------------

    def put_account(self, account: Account) -> None:
        answer = httpx.post(f"{self.issuer}/__test__/accounts", json=account.as_dict())
        assert answer.status_code == 200, answer.text

    def shift_token_clock(self, seconds: int) -> None:
        answer = httpx.post(f"{self.issuer}/__test__/clock", json={"offset_seconds": seconds})
        assert answer.status_code == 200, answer.text

    # -- the browser's part, without a browser (core-level tests) ---------------------------

    def authorize(
        self,
        login: str,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_challenge: str,
        scope: str = "openid email profile groups",
    ) -> dict[str, str]:
        """Sign ``login`` in at the provider's own pages; the redirect's query (code,
        state, iss) as the console's callback would receive it."""
        query = urlencode(
            {
                "client_id": CLIENT_ID,
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "scope": scope,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        with httpx.Client(follow_redirects=False, timeout=10) as browser:
            answer = browser.get(f"{self.issuer}/auth?{query}")
            for _ in range(10):
                location = answer.headers.get("location")
                if answer.status_code in {302, 303} and location:
                    target = urljoin(str(answer.url), location)
                    if target.startswith(redirect_uri):
                        found = parse_qs(urlsplit(target).query)
                        return {k: v[0] for k, v in found.items()}
                    answer = browser.get(target)
                    continue
                if answer.status_code == 200 and 'name="login"' in answer.text:
                    action = str(answer.url)
                    answer = browser.post(
                        action, data={"prompt": "login", "login": login, "password": "any"}
                    )
                    continue
                break
        raise AssertionError(f"the provider did not redirect back: {answer.status_code}")


def running_provider() -> Iterator[IdentityProvider]:
    """A provider for one test module (its fixture), whose redirect URI is a closed
    loopback port: the core-level tests play the browser themselves."""
    provider = IdentityProvider(
        redirect_uris=["http://127.0.0.1:9/login/sso/callback"],
        post_logout_redirect_uris=["http://127.0.0.1:9/login?signed_out=1"],
    ).start()
    try:
        yield provider
    finally:
        provider.stop()


def new_nonce() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex
