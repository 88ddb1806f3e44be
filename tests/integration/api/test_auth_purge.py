"""The worker's ``auth.purge``: what can no longer matter goes, what still can stays."""

import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col

from app.core.auth.identity_models import MfaChallenge
from app.core.auth.models import RefreshToken, RevokedToken, StaffUser
from app.core.auth.purge import purge_expired_sign_in_rows
from app.db import utcnow
from tests.support import TokenCache


async def test_expired_sign_in_rows_are_purged_and_live_ones_kept(core_app, tokens: TokenCache):
    db = core_app.state.services.db
    expired_body = await tokens.login("viewer@demo.bank")
    live_body = await tokens.login("viewer@demo.bank")
    now = utcnow()
    marker = uuid.uuid4().hex
    async with db.session() as session:
        viewer = (
            await session.execute(
                sa.select(StaffUser).where(col(StaffUser.email) == "viewer@demo.bank")
            )
        ).scalar_one()
        session.add_all(
            [
                RevokedToken(key=f"test-old:{marker}", expires_at=now - timedelta(seconds=1)),
                RevokedToken(key=f"test-new:{marker}", expires_at=now + timedelta(hours=1)),
                MfaChallenge(
                    token_hash=f"old{marker}",
                    tenant_id=viewer.tenant_id,
                    user_id=viewer.id,
                    purpose="verify",
                    expires_at=now - timedelta(days=2),
                ),
                MfaChallenge(
                    token_hash=f"new{marker}",
                    tenant_id=viewer.tenant_id,
                    user_id=viewer.id,
                    purpose="verify",
                    expires_at=now - timedelta(minutes=5),  # expired, but kept a day
                ),
            ]
        )
        # The first sign-in's refresh token is past its expiry (set up by moving it back).
        from app.core.auth.passwords import hash_secret

        await session.execute(
            sa.update(RefreshToken)
            .where(col(RefreshToken.token_hash) == hash_secret(expired_body["refresh_token"]))
            .values(expires_at=now - timedelta(seconds=1))
        )
        await session.commit()

    counts = await purge_expired_sign_in_rows(db)
    assert counts["revoked_tokens"] >= 1 and counts["refresh_tokens"] >= 1
    assert counts["mfa_challenges"] >= 1

    async with db.session() as session:
        keys = set(
            (
                await session.execute(
                    sa.select(RevokedToken.key).where(
                        col(RevokedToken.key).like(f"test-%:{marker}")
                    )
                )
            ).scalars()
        )
        assert keys == {f"test-new:{marker}"}
        hashes = set(
            (
                await session.execute(
                    sa.select(MfaChallenge.token_hash).where(
                        col(MfaChallenge.token_hash).in_([f"old{marker}", f"new{marker}"])
                    )
                )
            ).scalars()
        )
        assert hashes == {f"new{marker}"}
        refresh = {
            r.token_hash: r
            for r in (
                await session.execute(
                    sa.select(RefreshToken).where(
                        col(RefreshToken.token_hash).in_(
                            [
                                hash_secret(expired_body["refresh_token"]),
                                hash_secret(live_body["refresh_token"]),
                            ]
                        )
                    )
                )
            ).scalars()
        }
        assert set(refresh) == {hash_secret(live_body["refresh_token"])}
