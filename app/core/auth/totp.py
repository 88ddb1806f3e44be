"""Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps).

Thirty lines of our own rather than a dependency: the algorithm is fixed by the RFC and
checked here against its published test vectors (tests/unit/test_totp.py). What an
authenticator app needs to add the factor is the ``otpauth://`` URI of
:func:`provisioning_uri` (the de facto format of Google Authenticator's key URIs).
"""

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
# Codes of the step before and after are accepted too: a phone's clock drifts, and a code
# typed in the last seconds of its step arrives in the next.
DRIFT_STEPS = 1


def new_secret() -> str:
    """A fresh seed: 160 random bits (the RFC's recommended length), base32 without padding."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret_b32: str) -> bytes:
    return base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8), casefold=True)


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226's HOTP value of ``counter`` (dynamic truncation, ``digits`` long)."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def step_at(moment: float) -> int:
    return int(moment // STEP_SECONDS)


def code_at(secret_b32: str, moment: float) -> str:
    """The code an authenticator shows at ``moment`` (unix seconds)."""
    return hotp(_key(secret_b32), step_at(moment))


def matching_step(secret_b32: str, code: str, moment: float | None = None) -> int | None:
    """The time step whose code ``code`` is (within the drift), or ``None``.

    Every candidate is compared in constant time, and all of them are computed, so the
    answer takes as long whichever step (if any) matches.
    """
    now = time.time() if moment is None else moment
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    key = _key(secret_b32)
    found: int | None = None
    current = step_at(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(hotp(key, step), code) and found is None:
            found = step
    return found


def provisioning_uri(secret_b32: str, account: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads from the QR code."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {
            "secret": secret_b32,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"


def recovery_digest(code: str) -> str:
    """SHA-256 of a recovery code as typed (spaces, dashes and case ignored).

    Recovery codes carry 80 random bits, far past guessing, so a fast hash is enough (as
    for API keys and refresh tokens).
    """
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(b"branchdesk recovery code\0" + normal.encode()).hexdigest()


RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper


def new_recovery_code() -> str:
    """``xxxx-xxxx-xxxx-xxxx``: 16 characters of a 31-letter alphabet (79 bits)."""
    chars = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))
