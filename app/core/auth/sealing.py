"""Staff identity secrets sealed at rest (AES-256-GCM under ``IDENTITY_SECRETS_KEY``).

A TOTP seed must be read back to check a code, and an identity provider's client secret
must be sent to the provider, so neither can be hashed. They are kept sealed: a copy of
the database (a backup, a stray file) yields neither. Each value is bound to its row and
purpose (the associated data), so a sealed seed copied onto another user's row, or a
client secret into a seed's column, does not open.

The form is ``"sealed:v1 " + base64url(nonce ‖ ciphertext ‖ tag)``, as for webhook
secrets (``app.core.webhooks.sealing``), under a key of its own: rotating one key never
touches the other's values.
"""

import base64
import hashlib
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:v1 "


class SealedValueUnreadable(Exception):
    """Sealed under another key (``IDENTITY_SECRETS_KEY`` differs), or damaged."""


def _aead(key: str) -> AESGCM:
    if not key:
        raise SealedValueUnreadable("IDENTITY_SECRETS_KEY is not set")
    return AESGCM(hashlib.sha256(b"branchdesk identity secrets v1\0" + key.encode()).digest())


def _context(purpose: str, owner_id: uuid.UUID) -> bytes:
    return purpose.encode() + b"\0" + owner_id.bytes


def seal(value: str, key: str, purpose: str, owner_id: uuid.UUID) -> str:
    nonce = os.urandom(12)
    sealed = _aead(key).encrypt(nonce, value.encode(), _context(purpose, owner_id))
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(stored: str, key: str, purpose: str, owner_id: uuid.UUID) -> str:
    if not stored.startswith(PREFIX):
        raise SealedValueUnreadable(f"{purpose} of {owner_id} is not sealed")
    raw = stored[len(PREFIX) :]
    try:
        blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        opened = _aead(key).decrypt(blob[:12], blob[12:], _context(purpose, owner_id))
    except (InvalidTag, ValueError) as exc:
        raise SealedValueUnreadable(f"{purpose} of {owner_id}") from exc
    return opened.decode()
