"""Identity secrets sealed at rest: opened only with the same key, row and purpose."""

import uuid

import pytest

from app.core.auth import sealing

KEY = "k" * 32


def test_a_sealed_value_opens_with_its_key_row_and_purpose():
    row = uuid.uuid4()
    sealed = sealing.seal("JBSWY3DPEHPK3PXP", KEY, "totp-seed", row)
    assert "JBSWY3DPEHPK3PXP" not in sealed and sealed.startswith(sealing.PREFIX)
    assert sealing.unseal(sealed, KEY, "totp-seed", row) == "JBSWY3DPEHPK3PXP"
    assert sealing.seal("JBSWY3DPEHPK3PXP", KEY, "totp-seed", row) != sealed  # fresh nonce


@pytest.mark.parametrize("change", ["key", "row", "purpose", "damage", "plain"])
def test_anything_else_does_not_open(change):
    row = uuid.uuid4()
    sealed = sealing.seal("secret", KEY, "totp-seed", row)
    key, purpose, stored = KEY, "totp-seed", sealed
    if change == "key":
        key = "x" * 32
    elif change == "row":
        row = uuid.uuid4()
    elif change == "purpose":
        purpose = "idp-client-secret"
    elif change == "damage":
        stored = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    else:
        stored = "secret"
    with pytest.raises(sealing.SealedValueUnreadable):
        sealing.unseal(stored, key, purpose, row)
