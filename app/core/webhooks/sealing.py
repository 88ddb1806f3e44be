"""Subscription secrets sealed at rest (AES-256-GCM under ``WEBHOOK_SECRETS_KEY``).

Every delivery is signed with the subscription's secret, so the secret must be kept in a
form the worker can open, but not in the clear: a copy of the database (a backup, a stray
file, a WAL) must not sign events for a tenant's receiver. The sealed form is
``"sealed:v1 " + base64url(nonce ‖ ciphertext ‖ tag)``, bound to the subscription's ID; the
space cannot occur in a secret (printable ASCII without spaces), so a value written before
sealing existed is told apart and sealed by the worker's first cycle.
"""

import base64
import hashlib
import os
import uuid

import sqlalchemy as sa
import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import col

from app.db import Database

log = structlog.get_logger("branchdesk.webhooks")

PREFIX = "sealed:v1 "
# The longest secret whose sealed form fits the column (200 characters).
MAX_SECRET_CHARS = 100


class SecretUnreadable(Exception):
    """Sealed under another key (``WEBHOOK_SECRETS_KEY`` differs), or damaged."""


def _aead(key: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"branchdesk webhook secrets v1\0" + key.encode()).digest())


def seal_secret(secret: str, key: str, subscription_id: uuid.UUID) -> str:
    nonce = os.urandom(12)
    sealed = _aead(key).encrypt(nonce, secret.encode(), subscription_id.bytes)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def open_secret(stored: str, key: str, subscription_id: uuid.UUID) -> str:
    """The secret itself; a value from before sealing is returned as it is."""
    if not is_sealed(stored):
        return stored
    raw = stored[len(PREFIX) :]
    try:
        blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        return _aead(key).decrypt(blob[:12], blob[12:], subscription_id.bytes).decode()
    except (InvalidTag, ValueError) as exc:
        raise SecretUnreadable(str(subscription_id)) from exc


async def seal_plain_secrets(db: Database, key: str) -> int:
    """Seal the secrets that were stored before sealing existed (once per worker start)."""
    from app.core.webhooks.models import WebhookSubscription

    plain = ~col(WebhookSubscription.secret).startswith(PREFIX, autoescape=True)
    async with db.session() as session:
        if (
            await session.execute(sa.select(col(WebhookSubscription.id)).where(plain).limit(1))
        ).first() is None:
            return 0
    sealed = 0
    async with db.writer(), db.session() as session:
        rows = (
            await session.execute(
                sa.select(col(WebhookSubscription.id), col(WebhookSubscription.secret)).where(plain)
            )
        ).all()
        for subscription_id, secret in rows:
            # Only if unchanged since read: another worker may be sealing the same row.
            done = await session.execute(
                sa.update(WebhookSubscription)
                .where(
                    col(WebhookSubscription.id) == subscription_id,
                    col(WebhookSubscription.secret) == secret,
                )
                .values(secret=seal_secret(secret, key, subscription_id))
            )
            sealed += int(done.rowcount)  # type: ignore[attr-defined]
        await session.commit()
    if sealed:
        log.info("webhook.secrets_sealed", count=sealed)
    return sealed
