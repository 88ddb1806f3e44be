"""The domain codes each operation's rules can refuse with, beside the chain's own
(``app.core.contract.openapi`` adds those: auth, tenant, validation, idempotency, rate
limits). Keyed like the role matrix, (method, path under /api/v1/cba); a test checks that
every row names a real route and every code a known one.
"""

_MOVE = (
    "ACCOUNT_NOT_FOUND",
    "BRANCH_SCOPE",
    "INSUFFICIENT_FUNDS",
    "ACCOUNT_FROZEN",
    "ACCOUNT_NOT_ACTIVE",
    "CURRENCY_MISMATCH",
    "LIMIT_EXCEEDED",
    "PERIOD_CLOSED",
    "NO_OPEN_PERIOD",
)
_POSTING = (
    "ACCOUNT_NOT_FOUND",
    "GL_ACCOUNT_NOT_FOUND",
    "BRANCH_SCOPE",
    "INSUFFICIENT_FUNDS",
    "ACCOUNT_FROZEN",
    "ACCOUNT_NOT_ACTIVE",
    "CURRENCY_MISMATCH",
    "UNBALANCED_JOURNAL",
    "PERIOD_CLOSED",
    "NO_OPEN_PERIOD",
    "HEADER_ACCOUNT_NOT_POSTABLE",
    "MANUAL_ENTRY_NOT_ALLOWED",
)
_JOURNAL_STEP = (
    "JOURNAL_NOT_FOUND",
    "INVALID_STATE",
    "SELF_APPROVAL_FORBIDDEN",
    "BRANCH_SCOPE",
    *_POSTING,
)
_SIGN_IN = (
    "INVALID_CREDENTIALS",
    "ACCOUNT_LOCKED",
    "MFA_REQUIRED",
    "MFA_ENROLMENT_REQUIRED",
    "SSO_ACCESS_DENIED",
)
_MFA = ("INVALID_MFA_CHALLENGE", "INVALID_MFA_CODE", "MFA_CODE_REUSED", "ACCOUNT_LOCKED")

ROUTE_REFUSALS: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/auth/login"): _SIGN_IN,
    ("POST", "/auth/token"): ("INVALID_CREDENTIALS",),
    ("POST", "/auth/refresh"): ("INVALID_REFRESH_TOKEN", "ACCOUNT_LOCKED", "FORBIDDEN"),
    ("GET", "/auth/oidc/provider"): ("RESOURCE_NOT_FOUND",),
    ("POST", "/auth/oidc/token"): (
        "INVALID_ID_TOKEN",
        "UNKNOWN_ISSUER",
        "AUTHORIZATION_CODE_REJECTED",
        "SSO_ACCESS_DENIED",
        "IDENTITY_PROVIDER_UNAVAILABLE",
        "RESOURCE_NOT_FOUND",
        *_SIGN_IN,
    ),
    ("POST", "/auth/mfa/verify"): _MFA,
    ("POST", "/auth/mfa/enrol"): ("INVALID_MFA_CHALLENGE", "INVALID_STATE"),
    ("POST", "/auth/mfa/enrol/confirm"): (*_MFA, "INVALID_STATE"),
    ("PUT", "/tenant/settings"): ("INVALID_STATE",),
    ("POST", "/branches"): ("DUPLICATE_RESOURCE",),
    ("PUT", "/tenant/identity-provider"): ("IDENTITY_PROVIDER_UNAVAILABLE", "INVALID_STATE"),
    ("POST", "/users"): ("DUPLICATE_RESOURCE",),
    ("PATCH", "/users/{user_id}"): ("DUPLICATE_RESOURCE", "INVALID_STATE"),
    ("POST", "/users/{user_id}/second-factor/reset"): ("INVALID_STATE",),
    ("POST", "/users/{user_id}/second-factor/reset/approve"): (
        "INVALID_STATE",
        "SELF_APPROVAL_FORBIDDEN",
    ),
    ("POST", "/users/{user_id}/second-factor/reset/cancel"): ("INVALID_STATE",),
    ("GET", "/customers/{customer_id}"): ("CUSTOMER_NOT_FOUND",),
    ("POST", "/accounts"): (
        "CUSTOMER_NOT_FOUND",
        "BRANCH_SCOPE",
        "PERIOD_CLOSED",
        "NO_OPEN_PERIOD",
    ),
    ("GET", "/accounts/by-number/{account_number}"): ("ACCOUNT_NOT_FOUND",),
    ("GET", "/accounts/{account_id}"): ("ACCOUNT_NOT_FOUND",),
    ("GET", "/accounts/{account_id}/transactions"): ("ACCOUNT_NOT_FOUND",),
    ("POST", "/accounts/{account_id}/freeze"): (
        "ACCOUNT_NOT_FOUND",
        "BRANCH_SCOPE",
        "INVALID_STATE",
    ),
    ("POST", "/accounts/{account_id}/unfreeze"): (
        "ACCOUNT_NOT_FOUND",
        "BRANCH_SCOPE",
        "INVALID_STATE",
    ),
    ("POST", "/accounts/{account_id}/close"): (
        "ACCOUNT_NOT_FOUND",
        "BRANCH_SCOPE",
        "INVALID_STATE",
    ),
    ("POST", "/accounts/{account_id}/holds"): (
        "ACCOUNT_NOT_FOUND",
        "BRANCH_SCOPE",
        "ACCOUNT_NOT_ACTIVE",
    ),
    ("DELETE", "/accounts/{account_id}/holds/{hold_id}"): (
        "ACCOUNT_NOT_FOUND",
        "BRANCH_SCOPE",
        "INVALID_STATE",
    ),
    ("POST", "/deposits"): _MOVE,
    ("POST", "/withdrawals"): _MOVE,
    ("POST", "/transfers/internal"): (*_MOVE, "SAME_ACCOUNT", "INTER_BRANCH_REQUIRED"),
    ("POST", "/transfers/inter-branch"): (*_MOVE, "SAME_ACCOUNT"),
    ("POST", "/transfers/batch"): ("BATCH_REJECTED",),
    ("POST", "/transactions/{transaction_id}/approve"): (
        *_MOVE,
        "INVALID_STATE",
        "SELF_APPROVAL_FORBIDDEN",
    ),
    ("POST", "/transactions/{transaction_id}/reject"): (
        "INVALID_STATE",
        "SELF_APPROVAL_FORBIDDEN",
        "BRANCH_SCOPE",
    ),
    ("POST", "/gl/accounts"): ("DUPLICATE_RESOURCE", "GL_ACCOUNT_NOT_FOUND"),
    ("PATCH", "/gl/accounts/{gl_account_id}"): (
        "GL_ACCOUNT_NOT_FOUND",
        "INVALID_STATE",
        "HEADER_ACCOUNT_NOT_POSTABLE",
        "MANUAL_ENTRY_NOT_ALLOWED",
    ),
    ("GET", "/gl/accounts/{gl_account_id}"): ("GL_ACCOUNT_NOT_FOUND",),
    ("GET", "/gl/accounts/{gl_account_id}/entries"): ("GL_ACCOUNT_NOT_FOUND",),
    ("POST", "/fiscal-periods"): ("DUPLICATE_RESOURCE",),
    ("GET", "/fiscal-periods/current"): ("PERIOD_NOT_FOUND",),
    ("GET", "/fiscal-periods/{period_id}"): ("PERIOD_NOT_FOUND",),
    ("GET", "/fiscal-periods/{period_id}/close-blockers"): ("PERIOD_NOT_FOUND",),
    ("POST", "/fiscal-periods/year/{year}"): ("DUPLICATE_RESOURCE",),
    ("POST", "/fiscal-periods/{period_id}/close"): (
        "PERIOD_NOT_FOUND",
        "INVALID_STATE",
        "PERIOD_CLOSE_BLOCKED",
    ),
    ("POST", "/fiscal-periods/year/{year}/close"): (
        "PERIOD_NOT_FOUND",
        "INVALID_STATE",
        "PERIOD_CLOSE_BLOCKED",
        "GL_ACCOUNT_NOT_FOUND",
    ),
    ("POST", "/standing-instructions"): (
        "ACCOUNT_NOT_FOUND",
        "ACCOUNT_NOT_ACTIVE",
        "CURRENCY_MISMATCH",
        "SAME_ACCOUNT",
        "BRANCH_SCOPE",
    ),
    ("POST", "/standing-instructions/{instruction_id}/approve"): (
        "INVALID_STATE",
        "SELF_APPROVAL_FORBIDDEN",
    ),
    ("POST", "/standing-instructions/{instruction_id}/cancel"): ("INVALID_STATE",),
    ("POST", "/jobs/standing-instructions/trigger"): ("NO_OPEN_PERIOD", "PERIOD_CLOSED"),
    ("POST", "/journals"): _POSTING,
    ("GET", "/journals/{journal_id}"): ("JOURNAL_NOT_FOUND",),
    ("POST", "/journals/{journal_id}/approve"): _JOURNAL_STEP,
    ("POST", "/journals/{journal_id}/reject"): (
        "JOURNAL_NOT_FOUND",
        "INVALID_STATE",
        "SELF_APPROVAL_FORBIDDEN",
        "BRANCH_SCOPE",
    ),
    ("POST", "/journals/{journal_id}/post"): _JOURNAL_STEP,
    ("POST", "/journals/{journal_id}/reverse"): (*_JOURNAL_STEP, "ALREADY_REVERSED"),
    ("POST", "/webhooks"): ("DUPLICATE_RESOURCE",),
    ("PATCH", "/webhooks/{webhook_id}"): ("DUPLICATE_RESOURCE",),
    ("POST", "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): ("INVALID_STATE",),
    ("GET", "/views/accounts/{account_id}"): ("ACCOUNT_NOT_FOUND",),
    ("GET", "/views/transactions/{id_or_ref}"): ("RESOURCE_NOT_FOUND",),
}

# Codes answered with another status than their own, for one rule (api.md, "Webhooks": a
# URL that resolves to an internal address is 422 VALIDATION_ERROR).
STATUS_OVERRIDES: dict[tuple[str, str], dict[int, tuple[str, ...]]] = {
    ("POST", "/webhooks"): {422: ("VALIDATION_ERROR",)},
    ("PATCH", "/webhooks/{webhook_id}"): {422: ("VALIDATION_ERROR",)},
}
