"""RFC 6238 (TOTP) and RFC 4226 (HOTP) against their published test vectors, and the
rules around them: drift, reuse is the caller's, recovery codes' form and digest."""

import base64

import pytest

from app.core.auth import totp

# RFC 4226, Appendix D: the ASCII secret "12345678901234567890", counters 0-9.
HOTP_VECTORS = [
    "755224", "287082", "359152", "969429", "338314",
    "254676", "287922", "162583", "399871", "520489",
]  # fmt: skip
# RFC 6238, Appendix B (SHA-1 rows, 8 digits): time -> code.
TOTP_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]
SECRET = base64.b32encode(b"12345678901234567890").decode().rstrip("=")


@pytest.mark.parametrize(("counter", "code"), enumerate(HOTP_VECTORS))
def test_hotp_matches_rfc_4226(counter, code):
    assert totp.hotp(b"12345678901234567890", counter) == code


@pytest.mark.parametrize(("moment", "code"), TOTP_VECTORS)
def test_totp_matches_rfc_6238(moment, code):
    assert totp.hotp(b"12345678901234567890", totp.step_at(moment), digits=8) == code
    assert totp.code_at(SECRET, moment) == code[-6:]


def test_a_code_is_accepted_one_step_either_side_and_no_further():
    now = 1_700_000_000.0
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        code = totp.code_at(SECRET, now + offset * totp.STEP_SECONDS)
        assert totp.matching_step(SECRET, code, now) == step + offset
    for offset in (-3, 2, 5):
        code = totp.code_at(SECRET, now + offset * totp.STEP_SECONDS)
        assert totp.matching_step(SECRET, code, now) is None


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_match_nothing(typed):
    assert totp.matching_step(SECRET, typed, 1_700_000_000.0) is None


def test_spaces_in_a_typed_code_are_ignored():
    now = 1_700_000_000.0
    code = totp.code_at(SECRET, now)
    assert totp.matching_step(SECRET, f"{code[:3]} {code[3:]}", now) == totp.step_at(now)


def test_new_secrets_are_160_bits_and_differ():
    seeds = {totp.new_secret() for _ in range(50)}
    assert len(seeds) == 50
    assert all(len(base64.b32decode(s + "=" * (-len(s) % 8))) == 20 for s in seeds)


def test_provisioning_uri_names_issuer_account_and_parameters():
    uri = totp.provisioning_uri(SECRET, "ada@demo.bank", "Branchdesk")
    assert uri.startswith("otpauth://totp/Branchdesk:ada@demo.bank?")
    for part in (f"secret={SECRET}", "issuer=Branchdesk", "digits=6", "period=30"):
        assert part in uri


def test_recovery_codes_read_off_paper_and_digest_alike():
    code = totp.new_recovery_code()
    assert len(code) == 19 and code.count("-") == 3
    assert not set(code.replace("-", "")) & set("01ilo")
    assert totp.recovery_digest(code) == totp.recovery_digest(code.upper().replace("-", " "))
    assert totp.recovery_digest(code) != totp.recovery_digest(totp.new_recovery_code())
