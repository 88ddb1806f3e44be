"""The settings page explains a production core's refusal of same-maker-checker in words.

The core's refusal itself is tested against the real core in production mode
(tests/integration/api/test_security_maker_checker.py); this checks the page's wording of
that exact error body, which a console beside a sandbox core never receives.
"""

from app.client import BankingAPIError
from app.console.admin.tenant_settings import PRODUCTION_REFUSAL, settings_refusal
from app.console.auth.session import SignedIn, StaffMember, Tenant

ADMIN = SignedIn(
    session_id="s",
    user=StaffMember("u", "admin@demo.bank", "Admin", ["admin"], "001"),
    tenant=Tenant("t", "demo_bank", "Demo Bank"),
    login_at=0.0,
    last_seen=0.0,
)


def test_production_refusal_is_shown_by_the_switch():
    refused = BankingAPIError(
        "VALIDATION_ERROR",
        "allow_same_maker_checker cannot be turned on in production mode.",
        400,
        [
            {
                "field": "allow_same_maker_checker",
                "reason": "refused in production mode",
                "value": True,
            }
        ],
    )
    errors, summary = settings_refusal(refused, ADMIN)
    assert errors["allow_same_maker_checker"] == PRODUCTION_REFUSAL
    assert summary == PRODUCTION_REFUSAL


def test_other_refusals_keep_the_admin_wording():
    refused = BankingAPIError(
        "VALIDATION_ERROR",
        "Check these fields.",
        400,
        [{"field": "teller_approval_limit", "code": "not_positive", "reason": "must be > 0"}],
    )
    errors, summary = settings_refusal(refused, ADMIN)
    assert errors["teller_approval_limit"] == "Enter a limit greater than zero."
    assert errors["allow_same_maker_checker"] is None
    assert summary != PRODUCTION_REFUSAL
