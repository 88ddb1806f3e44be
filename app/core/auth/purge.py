"""Sign-in rows that can no longer matter, deleted (the worker's ``auth.purge`` job).

- revoked tokens and spent ID-token marks past their expiry (a revocation outlives what
  it revokes by construction: it is kept as long as the token could live);
- refresh tokens past their expiry: an expired token is refused whether its row is there
  or not, so reuse detection loses nothing;
- second-factor challenges a day past their expiry (kept that long for the audit's
  sake of anyone looking at a failed sign-in the same day).
"""

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col

from app.core.auth.identity_models import MfaChallenge
from app.core.auth.models import RefreshToken, RevokedToken
from app.db import Database, utcnow

CHALLENGES_KEPT = timedelta(days=1)


async def purge_expired_sign_in_rows(db: Database) -> dict[str, int]:
    """Delete what expired; the number of rows of each kind."""
    now = utcnow()
    statements = {
        "revoked_tokens": sa.delete(RevokedToken).where(col(RevokedToken.expires_at) < now),
        "refresh_tokens": sa.delete(RefreshToken).where(col(RefreshToken.expires_at) < now),
        "mfa_challenges": sa.delete(MfaChallenge).where(
            col(MfaChallenge.expires_at) < now - CHALLENGES_KEPT
        ),
    }
    counts: dict[str, int] = {}
    async with db.writer(), db.session() as session:
        for name, statement in statements.items():
            result = await session.execute(statement)
            counts[name] = int(result.rowcount)  # type: ignore[attr-defined]
        await session.commit()
    return counts
