"""Argon2id password and secret hashing (hashing runs off the event loop)."""

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Each check holds the hash's memory (64 MiB with these parameters) while it runs, and uses
# every core through its own lanes. Checked side by side, a sign-in rush (50 staff at
# opening time) took the core past 500 MB RSS (quality.md P7: 250 MB) for no more sign-ins
# per second on two cores; one at a time per process keeps the peak to one hash.
CONCURRENT_CHECKS = 1
_checks: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
# Verified when the email is unknown, so a miss costs what a hit costs.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_slots() -> asyncio.Semaphore:
    """The running loop's semaphore of concurrent checks (tests run several loops)."""
    global _checks
    loop = asyncio.get_running_loop()
    if _checks is None or _checks[0] is not loop:
        _checks = (loop, asyncio.Semaphore(CONCURRENT_CHECKS))
    return _checks[1]


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    async with _check_slots():
        return await asyncio.to_thread(check)


def hash_secret(secret: str) -> str:
    """SHA-256 for high-entropy secrets (refresh tokens, API keys): fast and enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"
