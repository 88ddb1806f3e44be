"""The deployment's one signing key set (JWKS).

The private key comes from ``JWT_PRIVATE_KEY_PATH`` or is generated once under
``var/keys/``. Public keys of earlier keys placed beside it (``*.pub.pem``) stay in the
JWKS while tokens they signed are still alive, so keys can rotate without a cut-over.
"""

import os
import secrets
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, RSAKey


class SigningKeys:
    def __init__(self, private_key: RSAKey, verification_keys: list[RSAKey]) -> None:
        self.signing_key = private_key
        self.key_set = KeySet(list[Any](verification_keys))
        self.kid: str = str(private_key.kid)

    def jwks(self) -> dict[str, Any]:
        return dict(self.key_set.as_dict(private=False))

    @classmethod
    def load_or_create(cls, private_key_path: Path) -> "SigningKeys":
        if private_key_path.exists():
            try:
                private_key_path.chmod(0o600)  # tightens a key an older version left 0644
            except OSError:  # mounted read-only (a secrets volume): its owner decides
                pass
            private = RSAKey.import_key(
                private_key_path.read_bytes(),
                parameters={"use": "sig", "alg": "RS256"},
            )
        else:
            private = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"})
            private_key_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Readable by this user only from its first byte (no write-then-chmod window).
            tmp = private_key_path.with_name(
                f".{private_key_path.name}.{os.getpid()}.{secrets.token_hex(4)}"
            )
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(private.as_pem(private=True))
            # Atomic so two processes starting together agree on one key.
            try:
                os.link(tmp, private_key_path)
            except FileExistsError:
                tmp.unlink()
                return cls.load_or_create(private_key_path)
            tmp.unlink()
        private.ensure_kid()
        keys = [private]
        for extra in sorted(private_key_path.parent.glob("*.pub.pem")):
            public = RSAKey.import_key(
                extra.read_bytes(), parameters={"use": "sig", "alg": "RS256"}
            )
            public.ensure_kid()
            if public.kid != private.kid:
                keys.append(public)
        return cls(private, keys)
