"""The vendor's webhook signature: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

Receivers accept a timestamp within 300 seconds of their own clock (either side, so a
replay of an old delivery is refused) and compare in constant time, so the time a
comparison takes says nothing about how much of a forged signature was right.
"""

import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300
# A header longer than this is not a signature we sent (several v1 values at most).
MAX_HEADER_LENGTH = 1024


class SignatureRefused(ValueError):
    """The signature is missing, malformed, stale or wrong (the reason is for logs only)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Webhook-Signature`` value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> int:
    """Check ``header`` against ``body``; return the signed timestamp.

    Several ``v1`` values are allowed (a sender rotating its secret signs with both); one
    matching is enough.

    Raises:
        SignatureRefused: Missing, malformed, outside the tolerance, or no match.
    """
    if not header or len(header) > MAX_HEADER_LENGTH:
        raise SignatureRefused("missing or oversized signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            if timestamp is not None or not value.isdigit() or len(value) > 12:
                raise SignatureRefused("malformed timestamp")
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        raise SignatureRefused("the header needs t= and v1=")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureRefused("timestamp outside the tolerance")
    expected = _digest(secret, timestamp, body)
    # Compare against every candidate (no early exit), each in constant time.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    if not matched:
        raise SignatureRefused("no signature matches")
    return timestamp
